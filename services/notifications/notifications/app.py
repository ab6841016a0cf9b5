"""App factory of the notifications service: ``uvicorn --factory notifications.app:create_app``."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import datetime, timedelta

import httpx
import structlog
from fastapi import FastAPI
from pydantic import BaseModel, Field, create_model

from notifications.api import events, inbox, internal, partners, webhooks
from notifications.clients.directory import (
    AdminDirectory,
    GatewayAdminDirectory,
    NoAdminDirectory,
)
from notifications.clients.forms import FormsGateway, HttpFormsGateway, NoFormsGateway
from notifications.clients.trades import HttpTradeDirectory, NoTradeDirectory, TradeDirectory
from notifications.config import Settings
from notifications.db.models import outbox_table
from notifications.domain.catalogue import CATALOGUE
from notifications.domain.delivery import Dispatcher, make_delivery_http_client
from notifications.domain.mail import Mailer
from notifications.domain.metrics import delivery_backlog_probe
from notifications.domain.runtime import Runtime
from notifications.domain.secrets import SecretBox
from shared.auth import TokenVerifier
from shared.http import ServiceClient, peer_transport
from shared.outbox import OutboxRelay, Sink, http_sink, outbox_backlog_probe
from shared.service import create_service_app
from shared.service_auth import ServiceTokenProvider

log = structlog.get_logger("notifications")

WEBHOOKS_DOC = """Webhooks are signed per the Standard Webhooks spec: headers `webhook-id` (the event id,
the same on every retry: dedupe on it), `webhook-timestamp` (unix seconds of this attempt) and
`webhook-signature` (`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, space-separated when a
secret rotation is in progress). Any 2xx within 15 s is success; 410 disables the endpoint; anything
else is retried for about three days with exponential backoff and jitter."""


class WebhookPayload(BaseModel):
    """What every webhook delivery's body carries; ``data`` is the event type's schema."""

    id: uuid.UUID = Field(description="the event id, also sent as webhook-id")
    type: str
    version: int
    timestamp: datetime = Field(description="when the event occurred")
    trade_id: uuid.UUID | None = None
    truncated: bool = Field(
        default=False, description="data left out (too large): read it from url instead"
    )
    url: str | None = None


def _document_webhooks(app: FastAPI) -> None:
    """One entry per event type in the OpenAPI ``webhooks`` section, with its data schema."""
    for entry in CATALOGUE.values():
        payload: type[BaseModel] = create_model(
            "Webhook_" + entry.name.replace(".", "_") + f"_v{entry.version}",
            __base__=WebhookPayload,
            data=(entry.model, ...),
        )

        async def receiver(body: payload) -> None:
            """Documentation only: partners implement this; we call it."""

        receiver.__annotations__["body"] = payload
        app.webhooks.post(
            f"{entry.name}.v{entry.version}",
            summary=entry.summary,
            description=f"{entry.summary} / {entry.summary_ja}\n\n{WEBHOOKS_DOC}",
        )(receiver)


async def _start_relay(
    app: FastAPI,
    stack: AsyncExitStack,
    settings: Settings,
    runtime: Runtime,
    sink: Sink | None,
    token: Callable[[], Awaitable[str | None]],
) -> None:
    """The outbox relay: events for trades, delivered at least once (trades dedupes by event id)."""
    engine = getattr(app.state, "engine", None)
    if not settings.outbox_relay_enabled or engine is None:
        return
    deliver = sink
    if deliver is None:
        if not settings.trades_url:
            log.warning("outbox_relay_not_started", reason="no trades_url")
            return
        client = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.outbox_timeout_s), transport=peer_transport()
        )
        stack.push_async_callback(client.aclose)
        deliver = http_sink(
            client, settings.trades_url.rstrip("/") + "/internal/events", token_provider=token
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
        clock=runtime.now,
    )
    app.state.outbox_relay = relay
    task = asyncio.create_task(relay.run(), name="notifications-outbox-relay")

    async def stop_relay() -> None:
        relay.stop()
        try:
            await asyncio.wait_for(task, timeout=10)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    stack.push_async_callback(stop_relay)


def create_app(
    settings: Settings | None = None,
    *,
    token_verifier: TokenVerifier | None = None,
    runtime: Runtime | None = None,
    trades: TradeDirectory | None = None,
    forms: FormsGateway | None = None,
    event_sink: Sink | None = None,
) -> FastAPI:
    """``event_sink`` replaces the HTTP delivery of the outbox (default: trades' /internal/events)."""
    settings = settings or Settings()
    runtime = runtime or Runtime()

    async def start(app: FastAPI, stack: AsyncExitStack) -> None:
        provider = ServiceTokenProvider.from_env("NOTIFICATIONS_")
        if provider is not None:
            stack.push_async_callback(provider.aclose)

        async def service_token() -> str | None:
            if provider is not None:
                return await provider.token()
            return settings.service_token.get_secret_value() if settings.service_token else None

        trade_directory = trades
        if trade_directory is None:
            if settings.trades_url:
                trades_client = ServiceClient(settings.trades_url)
                stack.push_async_callback(trades_client.aclose)
                trade_directory = HttpTradeDirectory(
                    trades_client,
                    service_token,
                    participants_api=settings.trades_participants_api,
                )
            else:
                log.warning("trades_not_configured", consequence="audiences from org_ids only")
                trade_directory = NoTradeDirectory()
        forms_gateway = forms
        if forms_gateway is None:
            if settings.forms_url:
                forms_client = ServiceClient(settings.forms_url)
                stack.push_async_callback(forms_client.aclose)
                forms_gateway = HttpFormsGateway(forms_client, service_token)
            else:
                forms_gateway = NoFormsGateway()
        admin_directory: AdminDirectory = NoAdminDirectory()
        if settings.gateway_url:
            gateway_client = ServiceClient(settings.gateway_url)
            stack.push_async_callback(gateway_client.aclose)
            admin_directory = GatewayAdminDirectory(gateway_client, service_token)
        app.state.trades = trade_directory
        app.state.forms = forms_gateway
        delivery_http = make_delivery_http_client(settings)
        stack.push_async_callback(delivery_http.aclose)
        if getattr(app.state, "sessionmaker", None) is None:
            return
        dispatcher = Dispatcher(
            app.state.sessionmaker,
            settings=settings,
            runtime=runtime,
            http=delivery_http,
            secret_box=app.state.secret_box,
            mailer=Mailer(
                host=settings.smtp_host,
                port=settings.smtp_port,
                sender=settings.mail_from,
                timeout_s=settings.smtp_timeout_s,
            ),
            forms=forms_gateway,
            trades=trade_directory,
            admins=admin_directory,
        )
        app.state.dispatcher = dispatcher
        await _start_relay(app, stack, settings, runtime, event_sink, service_token)
        if settings.dispatcher_enabled:
            task = asyncio.create_task(dispatcher.run(), name="notifications-dispatcher")

            async def stop_dispatcher() -> None:
                # Finish the pass in progress (its outcomes are recorded); a pass that does not end
                # in time is cancelled, and its leases expire so another replica retries the work.
                dispatcher.stop()
                try:
                    await asyncio.wait_for(task, timeout=10)
                except (TimeoutError, asyncio.CancelledError):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

            stack.push_async_callback(stop_dispatcher)

    app = create_service_app(
        settings,
        title="Minato notifications: events, in-app and e-mail notifications, partner webhooks",
        description="Minato notifications: the event log and catalogue, in-app and e-mail "
        "notifications, partner webhooks (Standard Webhooks signatures), partner inbound.",
        routers=[
            internal.router,
            events.router,
            webhooks.router,
            inbox.router,
            partners.router,
        ],
        on_startup=[start],
        token_verifier=token_verifier,
        metrics_probes=[outbox_backlog_probe(outbox_table), delivery_backlog_probe],
    )
    app.state.runtime = runtime
    app.state.secret_box = SecretBox(settings.secret_encryption_key.get_secret_value())
    app.state.trades = trades or NoTradeDirectory()
    app.state.forms = forms or NoFormsGateway()
    _document_webhooks(app)
    return app
