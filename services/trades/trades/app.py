"""App factory of the trades service: ``uvicorn --factory trades.app:create_app``."""

from __future__ import annotations

import asyncio
import contextlib
from contextlib import AsyncExitStack
from datetime import timedelta

import httpx
import structlog
from fastapi import FastAPI

from shared.auth import TokenVerifier
from shared.outbox import OutboxRelay, Sink, http_sink
from shared.service import StartupHook, create_service_app
from trades.api import internal, messages, participants, tasks, timeline
from trades.api import trades as trades_api
from trades.config import Settings
from trades.db.models import outbox_table
from trades.runtime import Runtime

log = structlog.get_logger("trades.app")


def _relay_hook(settings: Settings, sink: Sink | None, runtime: Runtime) -> StartupHook:
    async def start_relay(app: FastAPI, stack: AsyncExitStack) -> None:
        engine = getattr(app.state, "engine", None)
        if not settings.outbox_relay_enabled or engine is None:
            return
        deliver = sink
        if deliver is None:
            if settings.events_url is None:
                log.warning("outbox_relay_not_started", reason="TRADES_EVENTS_URL is not set")
                return
            client = httpx.AsyncClient(timeout=httpx.Timeout(settings.events_timeout_s))
            stack.push_async_callback(client.aclose)
            token = settings.events_token

            async def token_provider() -> str | None:
                return token.get_secret_value() if token else None

            deliver = http_sink(client, settings.events_url, token_provider=token_provider)
        relay = OutboxRelay(
            engine,
            table=outbox_table,
            sink=deliver,
            source=settings.service_name,
            batch_size=settings.outbox_batch_size,
            lease=timedelta(seconds=settings.outbox_lease_s),
            max_attempts=settings.outbox_max_attempts,
            poll_interval_s=settings.outbox_poll_interval_s,
            clock=runtime.clock,
        )
        app.state.outbox_relay = relay
        task = asyncio.create_task(relay.run(), name="trades-outbox-relay")

        async def stop() -> None:
            relay.stop()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=10)

        stack.push_async_callback(stop)

    return start_relay


def create_app(
    settings: Settings | None = None,
    *,
    token_verifier: TokenVerifier | None = None,
    runtime: Runtime | None = None,
    event_sink: Sink | None = None,
) -> FastAPI:
    settings = settings or Settings()
    runtime = runtime or Runtime()
    app = create_service_app(
        settings,
        title="Minato trades: trades per B/L, participants, timeline, tasks, messages",
        description="Minato trades: trades per B/L, participants, timeline, tasks, messages.",
        routers=[
            trades_api.router,
            participants.router,
            timeline.router,
            tasks.router,
            messages.router,
            internal.router,
        ],
        on_startup=[_relay_hook(settings, event_sink, runtime)],
        token_verifier=token_verifier,
    )
    app.state.runtime = runtime
    return app
