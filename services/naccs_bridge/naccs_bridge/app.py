"""App factory of the naccs_bridge service: ``uvicorn --factory naccs_bridge.app:create_app``."""

from __future__ import annotations

from fastapi import FastAPI

from naccs_bridge.config import Settings
from shared.auth import TokenVerifier
from shared.service import create_service_app


def create_app(
    settings: Settings | None = None, *, token_verifier: TokenVerifier | None = None
) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings,
        title="Minato NACCS bridge: business codes, field maps, telegrams, send queue, results",
        description="Minato NACCS bridge: business codes, field maps, telegrams, send queue, results.",
        routers=[],
        token_verifier=token_verifier,
    )
