"""App factory of the trades service: ``uvicorn --factory trades.app:create_app``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

import httpx
import structlog
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared import idempotency
from shared.auth import TokenVerifier
from shared.http import peer_transport
from shared.outbox import OutboxRelay, Sink, http_sink, outbox_backlog_probe
from shared.service import StartupHook, create_service_app
from shared.service_auth import ServiceAuth, ServiceTokenProvider
from trades.api import internal, messages, participants, tasks, timeline
from trades.api import trades as trades_api
from trades.config import Settings
from trades.db.models import idempotency_table, outbox_table
from trades.runtime import Runtime

log = structlog.get_logger("trades.app")

TokenSource = Callable[[], Awaitable[str | None]]


def _static_token(settings: Settings) -> TokenSource:
    token = settings.service_token

    async def provide() -> str | None:
        return token.get_secret_value() if token else None

    return provide


def _client_credentials(settings: Settings) -> ServiceTokenProvider | None:
    if settings.token_url and settings.service_client_id and settings.service_client_secret:
        return ServiceTokenProvider(
            token_url=settings.token_url,
            client_id=settings.service_client_id,
            client_secret=settings.service_client_secret.get_secret_value(),
        )
    return None


async def _run_in_background(
    stack: AsyncExitStack, name: str, loop: Callable[[asyncio.Event], Coroutine[Any, Any, None]]
) -> None:
    stopping = asyncio.Event()
    task = asyncio.create_task(loop(stopping), name=name)

    async def stop() -> None:
        stopping.set()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, timeout=10)

    stack.push_async_callback(stop)


def _relay_hook(
    settings: Settings, sink: Sink | None, runtime: Runtime, token: TokenSource | None
) -> StartupHook:
    async def start_relay(app: FastAPI, stack: AsyncExitStack) -> None:
        engine = getattr(app.state, "engine", None)
        if not settings.outbox_relay_enabled or engine is None:
            return
        deliver = sink
        if deliver is None:
            target = settings.events_target
            if target is None:
                log.warning("outbox_relay_not_started", reason="no events_url or notifications_url")
                return
            timeout = httpx.Timeout(settings.events_timeout_s)
            provider = _client_credentials(settings) if token is None else None
            if provider is not None:
                # Tokens by client credentials, renewed once on a 401 (the gateway rotated keys).
                client = httpx.AsyncClient(
                    timeout=timeout, auth=ServiceAuth(provider), transport=peer_transport()
                )
                stack.push_async_callback(provider.aclose)
            else:
                client = httpx.AsyncClient(timeout=timeout, transport=peer_transport())
            stack.push_async_callback(client.aclose)
            deliver = http_sink(
                client,
                target,
                token_provider=token or (None if provider else _static_token(settings)),
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
            clock=runtime.clock,
        )
        app.state.outbox_relay = relay

        async def run(stopping: asyncio.Event) -> None:
            runner = asyncio.create_task(relay.run())
            await stopping.wait()
            relay.stop()
            await runner

        await _run_in_background(stack, "trades-outbox-relay", run)

    return start_relay


async def purge_delivered_events(engine: AsyncEngine, settings: Settings, runtime: Runtime) -> int:
    relay = OutboxRelay(
        engine,
        table=outbox_table,
        sink=_no_delivery,
        source=settings.service_name,
        clock=runtime.clock,
    )
    return await relay.purge_delivered(
        older_than=timedelta(days=settings.outbox_delivered_retention_days)
    )


async def _no_delivery(_: object) -> None:
    raise RuntimeError("this relay only purges")


async def purge_expired_keys(engine: AsyncEngine, runtime: Runtime) -> int:
    async with AsyncSession(engine) as session, session.begin():
        return await idempotency.purge_expired(
            session, table=idempotency_table, now=runtime.clock()
        )


def _housekeeping_hook(settings: Settings, runtime: Runtime) -> StartupHook:
    async def start_housekeeping(app: FastAPI, stack: AsyncExitStack) -> None:
        engine = getattr(app.state, "engine", None)
        if engine is None:
            return

        async def run(stopping: asyncio.Event) -> None:
            while not stopping.is_set():
                try:
                    await purge_expired_keys(engine, runtime)
                    await purge_delivered_events(engine, settings, runtime)
                except Exception:
                    log.exception("housekeeping_failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        stopping.wait(), timeout=settings.idempotency_purge_interval_s
                    )

        await _run_in_background(stack, "trades-housekeeping", run)

    return start_housekeeping


def create_app(
    settings: Settings | None = None,
    *,
    token_verifier: TokenVerifier | None = None,
    runtime: Runtime | None = None,
    event_sink: Sink | None = None,
    service_token: TokenSource | None = None,
) -> FastAPI:
    """``event_sink`` replaces the HTTP delivery of events; ``service_token`` how the relay gets its
    token (default: client credentials when configured, else the fixed ``service_token`` setting)."""
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
        on_startup=[
            _relay_hook(settings, event_sink, runtime, service_token),
            _housekeeping_hook(settings, runtime),
        ],
        token_verifier=token_verifier,
        metrics_probes=[outbox_backlog_probe(outbox_table)],
    )
    app.state.runtime = runtime
    return app
