"""App factory of the trades service: ``uvicorn --factory trades.app:create_app``."""

from __future__ import annotations

from fastapi import FastAPI

from shared.auth import TokenVerifier
from shared.service import create_service_app
from trades.config import Settings


def create_app(
    settings: Settings | None = None, *, token_verifier: TokenVerifier | None = None
) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings,
        title="Minato trades: trades per B/L, participants, timeline, tasks, messages",
        description="Minato trades: trades per B/L, participants, timeline, tasks, messages.",
        routers=[],
        token_verifier=token_verifier,
    )
