"""Fixtures: a migrated database, the app with test tokens, and real HTTP servers on 127.0.0.1
(a stand-in trades service, a stand-in forms service, partner webhook receivers, an SMTP sink)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool
from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from notifications.app import create_app
from notifications.config import Settings
from notifications.domain.delivery import Dispatcher
from shared.db import to_async_url
from shared.devstack.smtp_sink import MaildirHandler, read_messages
from shared.devstack.stack import free_port
from shared.testing.plugin import asgi_client, use_test_session
from shared.testing.tokens import TestIssuer

SERVICE_TOKEN = "test-service-token-for-trades"
TABLES = (
    "outbox_message",
    "webhook_attempts",
    "webhook_deliveries",
    "webhook_endpoints",
    "notification_reads",
    "notifications",
    "notification_preferences",
    "user_profiles",
    "outgoing_emails",
    "inbound_messages",
    "receiving_slips",
    "event_audience",
    "events",
)


@pytest.fixture(scope="session")
def database_url(migrated_database: Callable[[str], str]) -> str:
    return migrated_database("notifications")


@asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """Run an ASGI app with uvicorn on a free port of 127.0.0.1; yield its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started, "test server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


# -- a stand-in trades service --------------------------------------------------------------------
@dataclass
class FakeTrades:
    """Answers the participants/access questions the real trades service will answer."""

    participants: dict[uuid.UUID, list[dict[str, Any]]] = field(default_factory=dict)
    participants_api: bool = True  # False: like today's trades service, only /access
    tokens_seen: list[str] = field(default_factory=list)
    url: str = ""

    def add_trade(self, *orgs: uuid.UUID, hidden: tuple[uuid.UUID, ...] = ()) -> uuid.UUID:
        trade_id = uuid.uuid4()
        self.participants[trade_id] = [
            {"org_id": str(org), "hidden": org in hidden, "roles": ["shipper"]} for org in orgs
        ]
        return trade_id

    def app(self) -> Starlette:
        async def participants(request: Request) -> Response:
            self.tokens_seen.append(request.headers.get("authorization", ""))
            if not self.participants_api:
                return JSONResponse({"status": 404, "code": "not_found"}, status_code=404)
            trade_id = uuid.UUID(request.path_params["trade_id"])
            if trade_id not in self.participants:
                return JSONResponse({"status": 404, "code": "not_found"}, status_code=404)
            return JSONResponse(
                {"trade_id": str(trade_id), "participants": self.participants[trade_id]}
            )

        async def access(request: Request) -> Response:
            self.tokens_seen.append(request.headers.get("authorization", ""))
            trade_id = uuid.UUID(request.path_params["trade_id"])
            org = request.query_params["org"]
            rows = [p for p in self.participants.get(trade_id, []) if p["org_id"] == org]
            # The trades service's answer: participant false (not 404) for non-participants.
            return JSONResponse(
                {
                    "trade_id": str(trade_id),
                    "org_id": org,
                    "participant": bool(rows),
                    "hidden": bool(rows and rows[0]["hidden"]),
                    "status": "active" if rows else None,
                    "role": "shipper" if rows else None,
                    "is_owner": False,
                    "visible_participant_org_ids": [],
                }
            )

        return Starlette(
            routes=[
                Route("/internal/trades/{trade_id}/participants", participants),
                Route("/internal/trades/{trade_id}/access", access),
            ]
        )


@pytest.fixture
async def trades() -> AsyncIterator[FakeTrades]:
    fake = FakeTrades()
    async with serve(fake.app()) as url:
        fake.url = url
        yield fake


# -- a stand-in forms service ---------------------------------------------------------------------
@dataclass
class FakeForms:
    status_code: int = 201
    imports: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def app(self) -> Starlette:
        async def import_si(request: Request) -> Response:
            body = await request.json()
            self.imports.append(
                {
                    "trade_id": request.path_params["trade_id"],
                    "idempotency_key": request.headers.get("idempotency-key"),
                    "body": body,
                }
            )
            if self.status_code >= 300:
                return JSONResponse(
                    {"status": self.status_code, "detail": "refused"}, self.status_code
                )
            return JSONResponse({"form_id": str(uuid.uuid4()), "version": 1}, status_code=201)

        return Starlette(
            routes=[
                Route(
                    "/internal/trades/{trade_id}/forms/UL040/imports", import_si, methods=["POST"]
                )
            ]
        )


@pytest.fixture
async def forms() -> AsyncIterator[FakeForms]:
    fake = FakeForms()
    async with serve(fake.app()) as url:
        fake.url = url
        yield fake


# -- partner webhook receivers --------------------------------------------------------------------
@dataclass
class Receiver:
    """A partner's endpoint: verifies every request with the ``standardwebhooks`` library, keeps a
    dedupe table keyed by webhook-id (the side effect happens once), and answers per ``mode``."""

    # ok | flaky (every other request 503) | gone (410) | fail (500) | redirect (307) | slow
    mode: str = "ok"
    secrets: list[str] = field(default_factory=list)
    dedupe: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    rejected_signatures: int = 0
    url: str = ""

    def verifies_with(self, secret: str, request: dict[str, Any]) -> bool:
        try:
            Webhook(secret).verify(request["body"], request["headers"])
        except WebhookVerificationError:
            return False
        return True

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            body = await request.body()
            headers = dict(request.headers.items())
            entry = {"headers": headers, "body": body, "host": request.headers.get("host")}
            self.requests.append(entry)
            if not any(self.verifies_with(secret, entry) for secret in self.secrets):
                self.rejected_signatures += 1
                return JSONResponse({"error": "bad signature"}, status_code=401)
            message_id = headers["webhook-id"]
            # The side effect, exactly once per webhook-id, whatever the answer below.
            self.dedupe.setdefault(message_id, {"body": body})
            if self.mode == "slow":
                await asyncio.sleep(2)
            if self.mode == "gone":
                return Response(status_code=410)
            if self.mode == "fail":
                return Response("x" * 5000, status_code=500)
            if self.mode == "redirect":
                return Response(status_code=307, headers={"location": "http://127.0.0.1:1/"})
            if self.mode == "flaky" and len(self.requests) % 2 == 1:
                return Response("temporarily unavailable", status_code=503)
            return JSONResponse({"ok": True})

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


@asynccontextmanager
async def running_receiver(mode: str = "ok") -> AsyncIterator[Receiver]:
    receiver = Receiver(mode=mode)
    async with serve(receiver.app()) as url:
        receiver.url = url + "/hook"
        yield receiver


@pytest.fixture
def receivers() -> Callable[..., AbstractAsyncContextManager[Receiver]]:
    """``async with receivers("flaky") as r:`` for tests that need more than one receiver."""
    return running_receiver


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as r:
        yield r


# -- SMTP sink (the dev sink's handler, real SMTP on a free port) ---------------------------------
@dataclass
class SmtpSink:
    port: int
    maildir: Path

    def messages(self, to: str | None = None) -> list[dict[str, Any]]:
        return read_messages(self.maildir, to=to)


@pytest.fixture
def smtp_sink(tmp_path: Path) -> Iterator[SmtpSink]:
    port = free_port()
    maildir = tmp_path / "mail"
    controller = Controller(MaildirHandler(maildir), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpSink(port=port, maildir=maildir)
    finally:
        controller.stop()


# -- the app ----------------------------------------------------------------------------------------
def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "log_json": False,
        "access_log": False,
        "webhook_allow_private_targets": True,
        "dispatcher_enabled": False,
        "outbox_relay_enabled": False,
        "service_token": SERVICE_TOKEN,
        "webhook_retry_schedule_s": (0, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01),
        "webhook_retry_jitter": 0.0,
        "webhook_timeout_s": 3.0,
        "webhook_connect_timeout_s": 1.0,
        "delivery_lease_s": 30.0,
        "smtp_timeout_s": 3.0,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {}


@pytest.fixture
def settings(database_url: str, trades: FakeTrades, settings_overrides: dict[str, Any]) -> Settings:
    return make_settings(
        database_url,
        trades_url=trades.url,
        trades_participants_api=trades.participants_api,
        **settings_overrides,
    )


@pytest.fixture
def app(settings: Settings, token_issuer: TestIssuer, db_session: AsyncSession) -> FastAPI:
    """The app inside the test's rolled-back transaction (API behaviour, no background work)."""
    application = create_app(settings, token_verifier=token_issuer.verifier())
    use_test_session(application, db_session)
    return application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async for c in asgi_client(app):
        yield c


async def truncate_all(database_url: str) -> None:
    engine = create_async_engine(to_async_url(database_url), poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))
    finally:
        await engine.dispose()


@dataclass
class Live:
    """The app with real commits, so that dispatchers on other connections see its writes."""

    app: FastAPI
    client: httpx.AsyncClient
    settings: Settings

    @property
    def dispatcher(self) -> Dispatcher:
        dispatcher: Dispatcher = self.app.state.dispatcher
        return dispatcher

    async def drain(self, *, rounds: int = 200, budget_s: float = 20.0) -> int:
        """Run the dispatcher until nothing is due (bounded in rounds and time)."""
        total = 0
        deadline = asyncio.get_running_loop().time() + budget_s
        idle = 0
        for _ in range(rounds):
            report = await self.dispatcher.drain_once()
            total += report.total
            if report.total == 0:
                idle += 1
                if idle >= 3:
                    break
                await asyncio.sleep(0.03)
            else:
                idle = 0
            if asyncio.get_running_loop().time() > deadline:
                break
        return total


@pytest.fixture
async def live(
    database_url: str,
    trades: FakeTrades,
    settings_overrides: dict[str, Any],
    token_issuer: TestIssuer,
) -> AsyncIterator[Live]:
    await truncate_all(database_url)
    settings = make_settings(
        database_url,
        trades_url=trades.url,
        trades_participants_api=trades.participants_api,
        **settings_overrides,
    )
    application = create_app(settings, token_verifier=token_issuer.verifier())
    try:
        async for c in asgi_client(application):
            yield Live(app=application, client=c, settings=settings)
    finally:
        await truncate_all(database_url)


# -- tokens and events ----------------------------------------------------------------------------
@dataclass
class Tokens:
    issuer: TestIssuer

    def service(self, scopes: tuple[str, ...] = ("events:publish",)) -> dict[str, str]:
        return self.issuer.auth(kind="service", subject="trades", scopes=scopes)

    def admin(self, org: uuid.UUID, subject: str | None = None) -> dict[str, str]:
        return self.issuer.auth(
            kind="user", org_id=str(org), roles=["org_admin"], subject=subject or f"admin-{org}"
        )

    def user(self, org: uuid.UUID, subject: str | None = None) -> dict[str, str]:
        return self.issuer.auth(
            kind="user", org_id=str(org), roles=["member"], subject=subject or f"user-{org}"
        )

    def partner(self, org: uuid.UUID, *scopes: str) -> dict[str, str]:
        return self.issuer.auth(
            kind="client", org_id=str(org), scopes=scopes, subject=f"client-{org}"
        )


@pytest.fixture
def tokens(token_issuer: TestIssuer) -> Tokens:
    return Tokens(token_issuer)


def envelope(
    event_type: str = "trade.updated",
    *,
    trade_id: uuid.UUID | None,
    data: dict[str, Any] | None = None,
    event_id: uuid.UUID | None = None,
    org_ids: list[uuid.UUID] | None = None,
    occurred_at: datetime | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(event_id or uuid.uuid4()),
        "type": event_type,
        "version": 1,
        "occurred_at": (occurred_at or datetime.now(UTC)).isoformat(),
        "source": "trades",
        "trade_id": str(trade_id) if trade_id else None,
        "data": data if data is not None else ({"trade_id": str(trade_id)} if trade_id else {}),
    }
    if org_ids is not None:
        body["org_ids"] = [str(o) for o in org_ids]
    return body


@pytest.fixture
def make_envelope() -> Callable[..., dict[str, Any]]:
    return envelope
