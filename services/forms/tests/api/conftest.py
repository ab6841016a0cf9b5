"""API tests of the forms service: the real forms app on its migrated database, and the real trades
app (its own migrated database) answering the access checks in process over ``ASGITransport``.

Both run inside transactions that are rolled back at the end of each test. Organisations and their
per-form-type permissions are tokens from the test issuer, verified by both apps as in production.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from forms.app import create_app
from forms.clients.service_token import StaticToken
from forms.config import Settings
from forms.domain.catalogue import FORM_TYPES
from shared.db import to_async_url
from shared.testing.plugin import asgi_client, use_test_session
from shared.testing.tokens import TestIssuer
from trades.app import create_app as create_trades_app
from trades.config import Settings as TradesSettings
from trades.runtime import Runtime as TradesRuntime

START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
ALL_READWRITE = {form.code: "readwrite" for form in FORM_TYPES}


@pytest.fixture(scope="session")
def database_url(migrated_database: Callable[[str], str]) -> str:
    return migrated_database("forms")


@pytest.fixture(scope="session")
def trades_database_url(migrated_database: Callable[[str], str]) -> str:
    return migrated_database("trades")


@dataclass
class FakeClock:
    """One millisecond per reading: rows made in a test have distinct, ordered times."""

    now: datetime = START
    step: timedelta = field(default=timedelta(milliseconds=1))

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


def unique_ids() -> Callable[[], uuid.UUID]:
    """Deterministic within a test, unique across tests (committed rows of other tests remain)."""
    counter = itertools.count(1)
    prefix = uuid.uuid4().int >> 64 << 64
    return lambda: uuid.UUID(int=prefix + next(counter))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def trades_session(trades_database_url: str) -> AsyncIterator[AsyncSession]:
    engine = create_async_engine(to_async_url(trades_database_url), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            transaction = await connection.begin()
            session = AsyncSession(
                bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
            )
            try:
                yield session
            finally:
                await session.close()
                if transaction.is_active:
                    await transaction.rollback()
    finally:
        await engine.dispose()


def trades_settings(url: str) -> TradesSettings:
    return TradesSettings(
        database_url=url, environment="test", outbox_relay_enabled=False, log_json=False
    )


@pytest.fixture
async def trades_app(
    trades_database_url: str, token_issuer: TestIssuer, trades_session: AsyncSession
) -> AsyncIterator[FastAPI]:
    app = create_trades_app(
        trades_settings(trades_database_url),
        token_verifier=token_issuer.verifier(),
        runtime=TradesRuntime(clock=FakeClock(), new_id=unique_ids()),
    )
    use_test_session(app, trades_session)
    async with LifespanManager(app) as manager:
        yield manager.app  # type: ignore[misc]


@pytest.fixture
def service_token(token_issuer: TestIssuer) -> StaticToken:
    """What the gateway would mint for ``svc-forms``."""
    return StaticToken(
        token_issuer.token(subject="svc-forms", kind="service", scopes=["internal:call"])
    )


def forms_settings(url: str) -> Settings:
    return Settings(
        database_url=url, environment="test", log_json=False, trades_url="http://trades.internal"
    )


@pytest.fixture
def settings(database_url: str) -> Settings:
    return forms_settings(database_url)


@pytest.fixture
def app(
    settings: Settings,
    token_issuer: TestIssuer,
    db_session: AsyncSession,
    trades_app: FastAPI,
    service_token: StaticToken,
    clock: FakeClock,
) -> FastAPI:
    app = create_app(
        settings,
        token_verifier=token_issuer.verifier(),
        trades_transport=httpx.ASGITransport(app=trades_app),
        service_token=service_token,
        clock=clock,
        id_factory=unique_ids(),
    )
    use_test_session(app, db_session)
    return app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async for c in asgi_client(app):
        yield c


@pytest.fixture
async def trades_client(trades_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=trades_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://trades.internal") as c:
        yield c


class Org:
    """An organisation with one user; its token carries per-form-type permissions."""

    def __init__(self, issuer: TestIssuer, name: str, role: str) -> None:
        self.issuer = issuer
        self.id = f"org-{name}-{uuid.uuid4().hex[:8]}"
        self.name = name
        self.role = role
        self.user = f"user-{name}-{uuid.uuid4().hex[:6]}"
        self.forms: dict[str, str] = dict(ALL_READWRITE)

    @property
    def headers(self) -> dict[str, str]:
        return self.issuer.auth(subject=self.user, org_id=self.id, forms=self.forms)

    def with_forms(self, **overrides: str) -> dict[str, str]:
        return self.issuer.auth(
            subject=self.user, org_id=self.id, forms={**self.forms, **overrides}
        )


@dataclass
class Trade:
    id: str
    shipper: Org
    forwarder: Org
    carrier: Org
    outsider: Org

    @property
    def documents(self) -> str:
        return f"/api/v1/forms/trades/{self.id}/documents"


TRADE_BODY: Mapping[str, Any] = {
    "direction": "export",
    "owner_role": "shipper",
    "owner_display_name": "Minato Trading K.K.",
    "bl_no": "ONEYTYO123456",
    "booking_no": "TYO0012345",
    "carrier_scac": "ONEY",
    "port_of_loading": "JPTYO",
    "port_of_discharge": "DEHAM",
}


async def join_trade(
    trades_client: httpx.AsyncClient, trade_id: str, inviter: Org, org: Org
) -> None:
    base = f"/api/v1/trades/{trade_id}/participants"
    invited = await trades_client.post(
        base,
        json={"org_id": org.id, "display_name": org.name, "role": org.role},
        headers=inviter.headers,
    )
    assert invited.status_code == 201, invited.text
    accepted = await trades_client.post(f"{base}/me/accept", headers=org.headers)
    assert accepted.status_code == 200, accepted.text


@pytest.fixture
async def trade(trades_client: httpx.AsyncClient, token_issuer: TestIssuer) -> Trade:
    """An export trade (in the real trades service): shipper owns it, forwarder and carrier joined."""
    shipper = Org(token_issuer, "shipper", "shipper")
    forwarder = Org(token_issuer, "forwarder", "forwarder")
    carrier = Org(token_issuer, "carrier", "carrier")
    outsider = Org(token_issuer, "outsider", "forwarder")
    created = await trades_client.post("/api/v1/trades", json=TRADE_BODY, headers=shipper.headers)
    assert created.status_code == 201, created.text
    trade_id = created.json()["id"]
    for org in (forwarder, carrier):
        await join_trade(trades_client, trade_id, shipper, org)
    return Trade(trade_id, shipper, forwarder, carrier, outsider)


def complete_si() -> dict[str, Any]:
    """A UL040 that passes the validation report (it can be sent)."""
    return {
        "shipper": {"name": "Minato Trading Co., Ltd.", "addressLines": ["1-1 Kaigan, Minato-ku"]},
        "consignee": {"name": "ACME GmbH"},
        "bookingNo": "BKG123",
        "billOfLading": {"documentType": "BOL", "freightPaymentTerm": "PRE"},
        "portOfLoading": {"code": "JPTYO"},
        "portOfDischarge": {"code": "DEHAM"},
        "commodity": [
            {
                "description": "Shoes - black",
                "hsCode": "640510",
                "packages": 400,
                "packageUnitCode": "4G",
                "grossWeight": 12000,
                "grossWeightUnitCode": "KGM",
            }
        ],
        "totalPackages": 400,
        "totalPackagesUnitCode": "4G",
        "commodityTotalGrossWeight": 12000,
        "commodityTotalGrossWeightUnitCode": "KGM",
        "marksAndNumbers": "ACME HAMBURG 1-400",
    }


async def create_form(
    client: httpx.AsyncClient,
    trade: Trade,
    org: Org,
    form_type: str,
    values: Mapping[str, Any] | None = None,
    **extra: Any,
) -> httpx.Response:
    return await client.post(
        trade.documents,
        json={"form_type": form_type, "values": dict(values or {}), **extra},
        headers=org.headers,
    )


async def created_form(
    client: httpx.AsyncClient,
    trade: Trade,
    org: Org,
    form_type: str,
    values: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    response = await create_form(client, trade, org, form_type, values)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def outbox_topics(session: AsyncSession, trade_id: str) -> list[str]:
    rows = await session.execute(
        text("SELECT topic FROM outbox_message WHERE trade_id = :t ORDER BY occurred_at, topic"),
        {"t": trade_id},
    )
    return [row.topic for row in rows]


async def outbox_events(session: AsyncSession, trade_id: str) -> list[dict[str, Any]]:
    rows = await session.execute(
        text(
            "SELECT topic, version, payload FROM outbox_message WHERE trade_id = :t "
            "ORDER BY occurred_at, topic"
        ),
        {"t": trade_id},
    )
    return [{"topic": r.topic, "version": r.version, "payload": r.payload} for r in rows]
