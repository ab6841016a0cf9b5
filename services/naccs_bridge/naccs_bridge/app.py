"""App factory of the naccs_bridge service: ``uvicorn --factory naccs_bridge.app:create_app``."""

from __future__ import annotations

import asyncio
import contextlib
from contextlib import AsyncExitStack
from datetime import timedelta

import httpx
from fastapi import FastAPI

from naccs_bridge.api import catalogue, forms, master, queue, sends, usage
from naccs_bridge.clients.forms import FormsServiceBundle, NoTradeForms, TradeForms
from naccs_bridge.clients.identity import CredentialsProvider, GatewayCredentials, StaticCredentials
from naccs_bridge.clients.naccs import HttpNaccsChannel, NaccsChannel, NoNaccsChannel
from naccs_bridge.clients.trades import StaticTradeAccess, TradeAccess, TradesServiceAccess
from naccs_bridge.config import Settings
from naccs_bridge.db.models import outbox_table
from naccs_bridge.sending.metrics import send_queue_probe
from naccs_bridge.sending.queue import SendQueue
from naccs_bridge.services.outputs import OutputPoller
from naccs_bridge.services.runtime import Clock, Runtime, utcnow
from shared.auth import TokenVerifier
from shared.http import ServiceClient, peer_transport
from shared.outbox import OutboxRelay, fan_out, http_sink, outbox_backlog_probe
from shared.service import create_service_app
from shared.service_auth import ServiceTokenProvider


async def _run_until_stopped(
    stack: AsyncExitStack, worker: SendQueue | OutputPoller | OutboxRelay
) -> None:
    task = asyncio.create_task(worker.run())

    async def stop() -> None:
        worker.stop()
        try:
            await asyncio.wait_for(task, timeout=5)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    stack.push_async_callback(stop)


def create_app(
    settings: Settings | None = None,
    *,
    token_verifier: TokenVerifier | None = None,
    channel: NaccsChannel | None = None,
    credentials: CredentialsProvider | None = None,
    trades: TradeAccess | None = None,
    trade_forms: TradeForms | None = None,
    clock: Clock = utcnow,
) -> FastAPI:
    """Clients given here replace the configured ones (tests); nothing connects before startup."""
    settings = settings or Settings()

    async def start(app: FastAPI, stack: AsyncExitStack) -> None:
        provider: ServiceTokenProvider | None = None
        if settings.token_url and settings.service_client_id and settings.service_client_secret:
            provider = ServiceTokenProvider(
                token_url=settings.token_url,
                client_id=settings.service_client_id,
                client_secret=settings.service_client_secret.get_secret_value(),
            )
            stack.push_async_callback(provider.aclose)

        async def token() -> str | None:
            return await provider.token() if provider is not None else None

        def service_client(url: str) -> ServiceClient:
            client = ServiceClient(url)
            stack.push_async_callback(client.aclose)
            return client

        naccs = channel
        if naccs is None:
            if settings.naccs_url:
                http_channel = HttpNaccsChannel(
                    settings.naccs_url, timeout_s=settings.naccs_timeout_s
                )
                stack.push_async_callback(http_channel.aclose)
                naccs = http_channel
            else:
                naccs = NoNaccsChannel()
        identity = credentials
        if identity is None:
            identity = (
                GatewayCredentials(service_client(settings.gateway_url), token)
                if settings.gateway_url and not settings.dev_naccs_credentials
                else StaticCredentials(settings.dev_naccs_credentials)
            )
        access = trades
        if access is None:
            # Without the trades service nobody is a participant: every trade is 404, never open.
            access = (
                TradesServiceAccess(service_client(settings.trades_url), token)
                if settings.trades_url
                else StaticTradeAccess()
            )
        bundles = trade_forms
        if bundles is None:
            bundles = (
                FormsServiceBundle(service_client(settings.forms_url), token)
                if settings.forms_url
                else NoTradeForms()
            )
        app.state.runtime = Runtime(
            settings=settings,
            channel=naccs,
            credentials=identity,
            trades=access,
            forms=bundles,
            clock=clock,
        )
        if settings.run_workers:
            queue = SendQueue(
                app.state.engine,
                channel=naccs,
                credentials=identity,
                charset=settings.naccs_charset,
                clock=clock,
                lease=timedelta(seconds=settings.send_lease_s),
                backoff_base_s=settings.send_backoff_base_s,
                backoff_cap_s=settings.send_backoff_cap_s,
                poll_interval_s=settings.worker_poll_interval_s,
            )
            app.state.send_queue = queue
            await _run_until_stopped(stack, queue)
            poller = OutputPoller(
                app.state.engine,
                channel=naccs,
                charset=settings.naccs_charset,
                permit_codes=settings.permit_output_codes,
                clock=clock,
                poll_interval_s=settings.worker_poll_interval_s,
            )
            await _run_until_stopped(stack, poller)
            if settings.event_targets:
                events_http = httpx.AsyncClient(
                    timeout=httpx.Timeout(5.0), transport=peer_transport()
                )
                stack.push_async_callback(events_http.aclose)
                relay = OutboxRelay(
                    app.state.engine,
                    table=outbox_table,
                    sink=fan_out(
                        *(
                            http_sink(events_http, target, token_provider=token)
                            for target in settings.event_targets
                        )
                    ),
                    source="naccs_bridge",
                )
                await _run_until_stopped(stack, relay)

    return create_service_app(
        settings,
        title="Minato NACCS bridge: business codes, field maps, telegrams, send queue, results",
        description="Minato NACCS bridge: business codes, field maps, telegrams, send queue, results.",
        routers=[
            catalogue.router,
            forms.router,
            sends.router,
            queue.router,
            master.router,
            usage.router,
        ],
        on_startup=[start],
        token_verifier=token_verifier,
        metrics_probes=[outbox_backlog_probe(outbox_table), send_queue_probe],
    )
