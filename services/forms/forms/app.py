"""App factory of the forms service: ``uvicorn --factory forms.app:create_app``."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from contextlib import AsyncExitStack
from datetime import timedelta

import httpx
from fastapi import FastAPI

from forms.api import routers
from forms.clients.service_token import StaticToken
from forms.clients.trades import TokenSource, TradesClient
from forms.config import Settings
from forms.db.models import outbox_table
from forms.services import housekeeping
from forms.services.context import Clock, IdFactory, utcnow
from shared.auth import TokenVerifier
from shared.http import ServiceClient, peer_transport
from shared.outbox import OutboxRelay, Sink, fan_out, http_sink, outbox_backlog_probe
from shared.service import StartupHook, create_service_app
from shared.service_auth import ServiceTokenProvider


def create_app(
    settings: Settings | None = None,
    *,
    token_verifier: TokenVerifier | None = None,
    trades_transport: httpx.AsyncBaseTransport | None = None,
    service_token: TokenSource | None = None,
    event_sink: Sink | None = None,
    clock: Clock = utcnow,
    id_factory: IdFactory = uuid.uuid4,
) -> FastAPI:
    """``trades_transport`` and ``service_token`` let tests run the trades service in process;
    ``event_sink`` replaces the HTTP delivery of events; ``clock`` and ``id_factory`` make times
    and ids exact in tests."""
    settings = settings or Settings()

    async def start_trades_client(app: FastAPI, stack: AsyncExitStack) -> None:
        token = service_token or await _service_token_source(settings, stack)
        app.state.service_token = token
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
        on_startup=[
            start_trades_client,
            _relay_hook(settings, event_sink, clock),
            _housekeeping_hook(settings, clock),
        ],
        token_verifier=token_verifier,
        metrics_probes=[outbox_backlog_probe(outbox_table)],
    )
    app.state.clock = clock
    app.state.new_id = id_factory
    return app


async def _service_token_source(settings: Settings, stack: AsyncExitStack) -> TokenSource:
    if settings.token_url and settings.service_client_secret is not None:
        provider = ServiceTokenProvider(
            token_url=settings.token_url,
            client_id=settings.service_client_id,
            client_secret=settings.service_client_secret.get_secret_value(),
        )
        stack.push_async_callback(provider.aclose)
        return provider.token
    static = settings.service_token.get_secret_value() if settings.service_token else None
    return StaticToken(static)


def _relay_hook(settings: Settings, sink: Sink | None, clock: Clock) -> StartupHook:
    async def start_relay(app: FastAPI, stack: AsyncExitStack) -> None:
        engine = getattr(app.state, "engine", None)
        if not settings.outbox_relay_enabled or engine is None:
            return
        deliver = sink
        if deliver is None:
            client = httpx.AsyncClient(
                timeout=httpx.Timeout(settings.events_timeout_s), transport=peer_transport()
            )
            stack.push_async_callback(client.aclose)
            deliver = fan_out(
                *(
                    http_sink(client, target, token_provider=app.state.service_token)
                    for target in settings.event_targets
                )
            )
        relay = OutboxRelay(
            engine,
            table=outbox_table,
            sink=deliver,
            source=settings.service_name,
            batch_size=settings.outbox_batch_size,
            lease=timedelta(seconds=settings.outbox_lease_s),
            max_attempts=settings.outbox_max_attempts,
            poll_interval_s=settings.outbox_poll_interval_s,
            clock=clock,
        )
        app.state.outbox_relay = relay
        task = asyncio.create_task(relay.run(), name="forms-outbox-relay")

        async def stop() -> None:
            relay.stop()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=10)

        stack.push_async_callback(stop)

    return start_relay


def _housekeeping_hook(settings: Settings, clock: Clock) -> StartupHook:
    async def start_housekeeping(app: FastAPI, stack: AsyncExitStack) -> None:
        engine = getattr(app.state, "engine", None)
        if engine is None:
            return
        stopping = asyncio.Event()
        task = asyncio.create_task(
            housekeeping.run(
                engine,
                stopping,
                clock=clock,
                interval_s=settings.housekeeping_interval_s,
                delivered_retention=timedelta(days=settings.outbox_delivered_retention_days),
            ),
            name="forms-housekeeping",
        )

        async def stop() -> None:
            stopping.set()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, timeout=10)

        stack.push_async_callback(stop)

    return start_housekeeping
