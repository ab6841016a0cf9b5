"""Gateway test fixtures: the migrated gateway database, a real SMTP sink, and a frozen clock."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.app import create_app
from gateway.config import Settings
from gateway.domain.bootstrap import ensure_demo_operator
from gateway.domain.clock import FrozenClock
from gateway.domain.context import Env
from shared.codes import corporate_number_check_digit
from shared.devstack.smtp_sink import MaildirHandler, read_messages
from shared.devstack.stack import free_port
from shared.testing.plugin import asgi_client, use_test_session

PASSWORD = "harbour crane 7 lifts boxes"


@pytest.fixture(scope="session")
def database_url(migrated_database: Any) -> str:
    url: str = migrated_database("gateway")
    return url


@dataclass
class MailSink:
    port: int
    maildir: Path

    def messages(self, to: str) -> list[dict[str, Any]]:
        return read_messages(self.maildir, to=to)

    def last(self, to: str, subject: str) -> dict[str, Any]:
        """The newest mail to ``to`` whose subject contains ``subject``. (Maildir keys do not sort
        by arrival within one second, so the subject, not the order, picks the message.)"""
        found = [m for m in self.messages(to) if subject in m["subject"]]
        assert found, f"no mail for {to} about {subject!r}"
        return found[-1]


@pytest.fixture(scope="session")
def smtp_sink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailSink]:
    """A real aiosmtpd server (the devstack's handler) on a free port, writing a Maildir."""
    maildir = tmp_path_factory.mktemp("mail") / "box"
    port = free_port()
    controller = Controller(MaildirHandler(maildir), hostname="127.0.0.1", port=port)
    controller.start()
    yield MailSink(port, maildir)
    controller.stop()


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keys")


@pytest.fixture
def clock() -> FrozenClock:
    # Ten minutes in the past, so tests can step through TOTP windows and the tokens signed at the
    # frozen time still verify against the real clock (with the test settings' 1-hour access TTL).
    return FrozenClock(datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10))


def settings_for(
    database_url: str, keys_dir: Path, smtp_sink: MailSink, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "keys_dir": keys_dir,
        "smtp_port": smtp_sink.port,
        "ip_max_failures": 1000,
        "access_token_ttl_s": 3600,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
def settings(database_url: str, keys_dir: Path, smtp_sink: MailSink) -> Settings:
    return settings_for(database_url, keys_dir, smtp_sink)


@pytest.fixture
def app(settings: Settings, clock: FrozenClock, db_session: AsyncSession) -> FastAPI:
    application = create_app(settings, clock=clock)
    use_test_session(application, db_session)
    return application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async for c in asgi_client(app):
        yield c


def identity_env(app: FastAPI, session: AsyncSession) -> Env:
    rt = app.state.identity
    return Env(
        session=session,
        settings=rt.settings,
        clock=rt.clock,
        random=rt.random,
        box=rt.box,
        hashing=rt.hashing,
        access_tokens=rt.access_tokens,
        ip=None,
        send_mail=lambda mail: None,
    )


def unique_email(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:10]}@acme.co.jp"


def corporate_number() -> str:
    base = "".join(secrets.choice("0123456789") for _ in range(12))
    return f"{corporate_number_check_digit(base)}{base}"


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


@dataclass
class Onboarded:
    id: str
    email: str
    password: str
    totp_secret: str | None
    tokens: dict[str, Any]
    recovery_codes: list[str]

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.tokens)


class IdentityDriver:
    """Drives the identity API as a person would, reading real mail from the sink."""

    def __init__(
        self, client: httpx.AsyncClient, sink: MailSink, clock: FrozenClock, app: FastAPI
    ) -> None:
        self.client = client
        self.sink = sink
        self.clock = clock
        self.app = app

    def invitation_token(self, email: str) -> str:
        body = self.sink.last(email, "invited")["body"]
        line = next(line for line in body.splitlines() if line.startswith("Invitation code: "))
        return line.split(": ", 1)[1].strip()

    def totp(self, secret: str) -> str:
        return pyotp.TOTP(secret).at(self.clock.now())

    async def next_totp(self, secret: str) -> str:
        self.clock.advance(30)  # a fresh time step, so the code has not been used
        return self.totp(secret)

    async def onboard(self, email: str, password: str = PASSWORD) -> Onboarded:
        """Accept the mailed invitation, set the password, enrol TOTP when asked."""
        token = self.invitation_token(email)
        response = await self.client.post(
            "/api/v1/auth/invitations/accept", json={"token": token, "password": password}
        )
        assert response.status_code == 200, response.text
        result = response.json()
        if result["status"] == "authenticated":
            return Onboarded("", email, password, None, result["tokens"], [])
        enrolment = result["enrolment"]
        secret = enrolment["secret"]
        response = await self.client.post(
            "/api/v1/auth/totp/enrol",
            json={"enrolment_token": enrolment["enrolment_token"], "code": self.totp(secret)},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        return Onboarded("", email, password, secret, body["tokens"], body["recovery_codes"])

    async def me(self, headers: dict[str, str]) -> dict[str, Any]:
        response = await self.client.get("/api/v1/users/me", headers=headers)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def login(
        self, email: str, password: str = PASSWORD, totp_secret: str | None = None
    ) -> httpx.Response:
        body: dict[str, Any] = {"email": email, "password": password}
        if totp_secret:
            body["totp_code"] = await self.next_totp(totp_secret)
        return await self.client.post("/api/v1/auth/login", json=body)


@pytest.fixture
def driver(
    client: httpx.AsyncClient, smtp_sink: MailSink, clock: FrozenClock, app: FastAPI
) -> IdentityDriver:
    return IdentityDriver(client, smtp_sink, clock, app)


@pytest.fixture
async def operator(app: FastAPI, db_session: AsyncSession, driver: IdentityDriver) -> Onboarded:
    """A platform operator, enrolled in TOTP (operators need it by default)."""
    email = unique_email("operator")
    await ensure_demo_operator(identity_env(app, db_session), email, PASSWORD)
    await db_session.commit()
    response = await driver.login(email)
    assert response.status_code == 200, response.text
    result = response.json()
    if result["status"] == "totp_enrolment_required":
        secret = result["enrolment"]["secret"]
        enrolled = await driver.client.post(
            "/api/v1/auth/totp/enrol",
            json={
                "enrolment_token": result["enrolment"]["enrolment_token"],
                "code": driver.totp(secret),
            },
        )
        assert enrolled.status_code == 200, enrolled.text
        tokens = enrolled.json()["tokens"]
        return Onboarded("", email, PASSWORD, secret, tokens, enrolled.json()["recovery_codes"])
    return Onboarded("", email, PASSWORD, None, result["tokens"], [])


def org_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name_ja": "港湾フォワーディング株式会社",
        "name_en": "Harbour Forwarding K.K.",
        "corporate_number": corporate_number(),
        "business_types": ["forwarder", "customs_broker"],
        "address": {
            "postal_code": "231-0002",
            "prefecture": "神奈川県",
            "line_ja": "横浜市中区海岸通1-1",
        },
        "naccs_user_codes": ["AB12C"],
        "require_totp": True,
    }
    body.update(overrides)
    return body


@dataclass
class Org:
    id: str
    admin: Onboarded


@pytest.fixture
async def make_org(driver: IdentityDriver, operator: Onboarded) -> Any:
    async def make(require_totp: bool = True, **overrides: Any) -> Org:
        admin_email = unique_email("admin")
        response = await driver.client.post(
            "/api/v1/orgs",
            json=org_body(
                require_totp=require_totp,
                first_admin={"email": admin_email, "display_name": "管理者 太郎", "locale": "ja"},
                **overrides,
            ),
            headers=operator.headers,
        )
        assert response.status_code == 201, response.text
        created = response.json()
        admin = await driver.onboard(admin_email)
        admin.id = created["first_admin"]["id"]
        return Org(created["id"], admin)

    return make


async def invite(
    driver: IdentityDriver, admin: Onboarded, label: str = "member", **extra: Any
) -> tuple[str, str]:
    email = unique_email(label)
    response = await driver.client.post(
        "/api/v1/users",
        json={"email": email, "display_name": "担当 花子", **extra},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()["id"], email
