"""The bridge as a client of the real NACCS stand-in (in process, over HTTP, each with its own database).

The send queue commits in its own short transactions and is tested under concurrency, so these tests
run on committed data: each test starts from empty tables instead of a rolled-back transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from naccs_bridge.app import create_app
from naccs_bridge.clients.identity import StaticCredentials
from naccs_bridge.clients.naccs import HttpNaccsChannel
from naccs_bridge.clients.trades import StaticTradeAccess
from naccs_bridge.config import Settings
from naccs_bridge.sending.queue import SendQueue
from naccs_bridge.services.outputs import OutputPoller
from naccs_standin.app import create_app as create_standin
from naccs_standin.config import Settings as StandinSettings
from naccs_standin.processing import reset_state
from shared.db import to_async_url
from shared.testing.tokens import TestIssuer

NACCS_USER_ID = "MNT01001"
NACCS_PASSWORD = "pass1234"
OTHER_NACCS_USER_ID = "MNT02001"
BRIDGE_TABLES = (
    "naccs_form, naccs_send, naccs_output_message, naccs_usage, naccs_channel_cursor,"
    " naccs_master_record, outbox_message"
)


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(scope="session")
def database_url(migrated_database) -> str:  # type: ignore[no-untyped-def]
    return migrated_database("naccs_bridge")


@pytest.fixture(scope="session")
def standin_database_url(migrated_database) -> str:  # type: ignore[no-untyped-def]
    return migrated_database("naccs_standin")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 22, 9, 0, tzinfo=UTC))


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(to_async_url(database_url), pool_size=10)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {BRIDGE_TABLES}"))
    yield engine
    await engine.dispose()


@pytest.fixture
async def standin_app(standin_database_url: str, clock: FakeClock) -> AsyncIterator[object]:
    settings = StandinSettings(
        database_url=standin_database_url,
        seed=7,
        permit_delay_s=60,
        users={NACCS_USER_ID: NACCS_PASSWORD, OTHER_NACCS_USER_ID: NACCS_PASSWORD},
        log_json=False,
        access_log=False,
    )
    app = create_standin(settings, clock=clock)
    async with LifespanManager(app) as manager:
        async with app.state.naccs.engine.begin() as conn:
            await reset_state(conn)
        yield manager.app


@pytest.fixture
async def standin(standin_app: object) -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client of the stand-in, for asserting what it received."""
    transport = httpx.ASGITransport(app=standin_app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://naccs") as client:
        yield client


@pytest.fixture
async def channel(standin_app: object) -> AsyncIterator[HttpNaccsChannel]:
    transport = httpx.ASGITransport(app=standin_app)  # type: ignore[arg-type]
    channel = HttpNaccsChannel("http://naccs", timeout_s=5.0, transport=transport)
    yield channel
    await channel.aclose()


@pytest.fixture
def credentials() -> StaticCredentials:
    return StaticCredentials({})


@pytest.fixture
def trades() -> StaticTradeAccess:
    return StaticTradeAccess()


@pytest.fixture
async def bridge(
    engine: AsyncEngine,
    database_url: str,
    token_issuer: TestIssuer,
    channel: HttpNaccsChannel,
    credentials: StaticCredentials,
    trades: StaticTradeAccess,
    clock: FakeClock,
) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=database_url, run_workers=False, log_json=False, access_log=False
    )
    app = create_app(
        settings,
        token_verifier=token_issuer.verifier(),
        channel=channel,
        credentials=credentials,
        trades=trades,
        clock=clock,
    )
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bridge") as client:
            yield client


def make_queue(
    engine: AsyncEngine, channel: object, credentials: StaticCredentials, clock: FakeClock
) -> SendQueue:
    return SendQueue(
        engine,
        channel=channel,  # type: ignore[arg-type]
        credentials=credentials,
        clock=clock,
        lease=timedelta(seconds=60),
    )


@pytest.fixture
def queue(
    engine: AsyncEngine, channel: HttpNaccsChannel, credentials: StaticCredentials, clock: FakeClock
) -> SendQueue:
    return make_queue(engine, channel, credentials, clock)


@pytest.fixture
def poller(engine: AsyncEngine, channel: HttpNaccsChannel, clock: FakeClock) -> OutputPoller:
    return OutputPoller(
        engine,
        channel=channel,
        charset="shift_jis",
        permit_codes={"SAE0030": "export", "SAD0030": "import"},
        clock=clock,
    )


class Party:
    """An organisation and one of its users, with the headers to call as that user."""

    def __init__(self, issuer: TestIssuer, org_id: str | None = None) -> None:
        self.org_id = org_id or str(uuid.uuid4())
        self.subject = str(uuid.uuid4())
        self.headers = issuer.auth(subject=self.subject, org_id=self.org_id)


@pytest.fixture
def forwarder(token_issuer: TestIssuer, credentials: StaticCredentials) -> Party:
    party = Party(token_issuer)
    credentials.link(party.subject, NACCS_USER_ID, NACCS_PASSWORD)
    return party


@pytest.fixture
def outsider(token_issuer: TestIssuer) -> Party:
    return Party(token_issuer)


@pytest.fixture
def trade_id(trades: StaticTradeAccess, forwarder: Party) -> uuid.UUID:
    trade = uuid.uuid4()
    trades.add(trade, forwarder.org_id)
    return trade
