"""App factory of the notifications service: ``uvicorn --factory notifications.app:create_app``."""

from __future__ import annotations

from fastapi import FastAPI

from notifications.config import Settings
from shared.auth import TokenVerifier
from shared.service import create_service_app


def create_app(
    settings: Settings | None = None, *, token_verifier: TokenVerifier | None = None
) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings,
        title="Minato notifications: events, in-app and e-mail notifications, partner webhooks",
        description="Minato notifications: events, in-app and e-mail notifications, partner webhooks.",
        routers=[],
        token_verifier=token_verifier,
    )
