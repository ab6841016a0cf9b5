from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from shared.testing.plugin import asgi_client, use_test_session
from shared.testing.tokens import TestIssuer
from trades.app import create_app
from trades.config import Settings
from trades.runtime import Runtime

START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def database_url(migrated_database: Callable[[str], str]) -> str:
    return migrated_database("trades")


@dataclass
class FakeClock:
    """Advances one millisecond per reading, so rows created in a test have distinct, ordered times."""

    now: datetime = START
    step: timedelta = field(default=timedelta(milliseconds=1))

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def runtime(clock: FakeClock) -> Runtime:
    counter = itertools.count(1)
    # Deterministic but unique across tests (the test database keeps committed rows of other tests).
    prefix = uuid.uuid4().int >> 64 << 64

    def new_id() -> uuid.UUID:
        return uuid.UUID(int=prefix + next(counter))

    return Runtime(clock=clock, new_id=new_id)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url, environment="test", outbox_relay_enabled=False, log_json=False
    )


@pytest.fixture
def app(
    settings: Settings, token_issuer: TestIssuer, db_session: AsyncSession, runtime: Runtime
) -> FastAPI:
    app = create_app(settings, token_verifier=token_issuer.verifier(), runtime=runtime)
    use_test_session(app, db_session)
    return app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async for c in asgi_client(app):
        yield c


class Org:
    """An organisation in a test, with one user; ``org.headers`` authenticates as that user."""

    def __init__(self, issuer: TestIssuer, name: str) -> None:
        self.id = f"org-{name}-{uuid.uuid4().hex[:8]}"
        self.name = name
        self.user = f"user-{name}-{uuid.uuid4().hex[:6]}"
        self.headers = issuer.auth(subject=self.user, org_id=self.id)

    def user_headers(self, issuer: TestIssuer, user: str) -> dict[str, str]:
        return issuer.auth(subject=user, org_id=self.id)


@pytest.fixture
def make_org(token_issuer: TestIssuer) -> Callable[[str], Org]:
    return lambda name: Org(token_issuer, name)


@pytest.fixture
def service_headers(token_issuer: TestIssuer) -> dict[str, str]:
    return token_issuer.auth(subject="svc-forms", kind="service", scopes=["trades:events"])


def trade_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "direction": "export",
        "owner_role": "shipper",
        "owner_display_name": "Minato Trading K.K.",
        "bl_no": "ONEYTYO123456",
        "booking_no": "TYO0012345",
        "carrier_scac": "ONEY",
        "vessel": {"call_sign": "7JDC", "name": "ONE HARMONY"},
        "voyage_no": "012E",
        "place_of_receipt": "JPTYO",
        "port_of_loading": "JPTYO",
        "port_of_discharge": "USLAX",
        "place_of_delivery": "USLAX",
        "etd": "2026-12-01",
        "eta": "2026-12-14",
        "containers": [{"container_no": "MSCU6634879", "size_type": "45G1", "seal_no": "SL123"}],
    }
    body.update(overrides)
    return body


@pytest.fixture
def new_trade_body() -> Callable[..., dict[str, Any]]:
    return trade_body


@pytest.fixture
def create_trade(client: httpx.AsyncClient) -> Callable[..., Any]:
    async def create(owner: Org, **overrides: Any) -> dict[str, Any]:
        response = await client.post(
            "/api/v1/trades", json=trade_body(**overrides), headers=owner.headers
        )
        assert response.status_code == 201, response.text
        trade: dict[str, Any] = response.json()
        return trade

    return create


@pytest.fixture
def join(client: httpx.AsyncClient) -> Callable[..., Any]:
    """``await join(trade, inviter, org, role, hidden=False)``: invite and accept."""

    async def invite_and_accept(
        trade: dict[str, Any], inviter: Org, org: Org, role: str, *, hidden: bool = False
    ) -> None:
        base = f"/api/v1/trades/{trade['id']}/participants"
        invited = await client.post(
            base,
            json={"org_id": org.id, "display_name": org.name, "role": role, "hidden": hidden},
            headers=inviter.headers,
        )
        assert invited.status_code == 201, invited.text
        accepted = await client.post(f"{base}/me/accept", headers=org.headers)
        assert accepted.status_code == 200, accepted.text

    return invite_and_accept


async def etag_of(client: httpx.AsyncClient, trade_id: str, org: Org) -> str:
    response = await client.get(f"/api/v1/trades/{trade_id}", headers=org.headers)
    assert response.status_code == 200, response.text
    return response.headers["etag"]


@pytest.fixture
def etag(client: httpx.AsyncClient) -> Callable[..., Any]:
    return lambda trade_id, org: etag_of(client, trade_id, org)


@pytest.fixture
async def committing_client(
    settings: Settings, token_issuer: TestIssuer, runtime: Runtime
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app with its own engine: every request commits for real (for concurrency).

    Rows it writes stay in the test database; tests using it work with their own fresh organisations.
    """
    app = create_app(settings, token_verifier=token_issuer.verifier(), runtime=runtime)
    async for c in asgi_client(app):
        yield c
