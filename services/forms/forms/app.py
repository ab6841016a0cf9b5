"""App factory of the forms service: ``uvicorn --factory forms.app:create_app``."""

from __future__ import annotations

from fastapi import FastAPI

from forms.config import Settings
from shared.auth import TokenVerifier
from shared.service import create_service_app


def create_app(
    settings: Settings | None = None, *, token_verifier: TokenVerifier | None = None
) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings,
        title="Minato forms: form catalogue, documents, shared items, derivation, DCSA",
        description="Minato forms: form catalogue, documents, shared items, derivation, DCSA.",
        routers=[],
        token_verifier=token_verifier,
    )
