"""App factory of the forms service: ``uvicorn --factory forms.app:create_app``."""

from __future__ import annotations

import uuid
from contextlib import AsyncExitStack

import httpx
from fastapi import FastAPI

from forms.api import routers
from forms.clients.service_token import ClientCredentialsToken, StaticToken
from forms.clients.trades import TokenSource, TradesClient
from forms.config import Settings
from forms.services.context import Clock, IdFactory, utcnow
from shared.auth import TokenVerifier
from shared.http import ServiceClient
from shared.service import create_service_app


def create_app(
    settings: Settings | None = None,
    *,
    token_verifier: TokenVerifier | None = None,
    trades_transport: httpx.AsyncBaseTransport | None = None,
    service_token: TokenSource | None = None,
    clock: Clock = utcnow,
    id_factory: IdFactory = uuid.uuid4,
) -> FastAPI:
    """``trades_transport`` and ``service_token`` let tests run the trades service in process;
    ``clock`` and ``id_factory`` make times and ids exact in tests."""
    settings = settings or Settings()

    async def start_trades_client(app: FastAPI, stack: AsyncExitStack) -> None:
        token = service_token or await _service_token_source(settings, stack)
        trades = TradesClient(
            ServiceClient(
                settings.trades_url,
                timeout=httpx.Timeout(settings.trades_timeout_s, connect=2.0),
                transport=trades_transport,
            ),
            token,
        )
        stack.push_async_callback(trades.aclose)
        app.state.trades = trades

    app = create_service_app(
        settings,
        title="Minato forms: form catalogue, documents, shared items, derivation, DCSA",
        description="Minato forms: form catalogue, documents, shared items, derivation, DCSA.",
        routers=routers(),
        on_startup=[start_trades_client],
        token_verifier=token_verifier,
    )
    app.state.clock = clock
    app.state.new_id = id_factory
    return app


async def _service_token_source(settings: Settings, stack: AsyncExitStack) -> TokenSource:
    if settings.service_client_secret is not None and settings.gateway_url:
        http = httpx.AsyncClient(timeout=httpx.Timeout(5.0, connect=2.0))
        stack.push_async_callback(http.aclose)
        return ClientCredentialsToken(
            http,
            token_url=settings.gateway_url.rstrip("/") + "/api/v1/auth/token",
            client_secret=settings.service_client_secret.get_secret_value(),
        )
    static = settings.service_token.get_secret_value() if settings.service_token else None
    return StaticToken(static)
