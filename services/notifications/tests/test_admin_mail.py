"""An endpoint disabled is mailed to every active administrator of its organisation, as the
gateway lists them, not only to those who saved an address in their preferences."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .conftest import serve
from .test_webhooks import create_endpoint, publish


@dataclass
class FakeGatewayDirectory:
    """Answers ``GET /api/v1/internal/orgs/{org}/admin-contacts`` like the gateway does."""

    admins: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    failing: bool = False
    asked: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""

    def app(self) -> Starlette:
        async def contacts(request: Request) -> Response:
            org = request.path_params["org_id"]
            self.asked.append((org, request.headers.get("authorization", "")))
            if self.failing:
                return JSONResponse({"status": 503, "title": "down"}, status_code=503)
            if org not in self.admins:
                return JSONResponse({"status": 404, "code": "not_found"}, status_code=404)
            return JSONResponse({"org_id": org, "admins": self.admins[org]})

        return Starlette(routes=[Route("/api/v1/internal/orgs/{org_id}/admin-contacts", contacts)])


@pytest.fixture
async def directory() -> AsyncIterator[FakeGatewayDirectory]:
    fake = FakeGatewayDirectory()
    async with serve(fake.app()) as url:
        fake.url = url
        yield fake


@pytest.fixture
def settings_overrides(smtp_sink: Any, directory: FakeGatewayDirectory) -> dict[str, Any]:
    return {
        "smtp_port": smtp_sink.port,
        "gateway_url": directory.url,
        # Retries of the mail come quickly in a test.
        "mail_max_attempts": 5,
    }


def admin(user_id: str, email: str, locale: str = "ja") -> dict[str, str]:
    return {"user_id": user_id, "email": email, "display_name": "管理者", "locale": locale}


async def disable_an_endpoint(
    live: Any,
    tokens: Any,
    trades: Any,
    receivers: Callable[..., AbstractAsyncContextManager[Any]],
    make_envelope: Callable[..., Any],
    org: uuid.UUID,
) -> dict[str, Any]:
    trade = trades.add_trade(org)
    async with receivers("gone") as receiver:
        endpoint = await create_endpoint(live, tokens, org, receiver.url)
        receiver.secrets = [endpoint["secret"]]
        await publish(live, tokens, make_envelope(trade_id=trade))
        await live.drain()
    state = await live.client.get(
        f"/api/v1/notifications/webhooks/{endpoint['id']}", headers=tokens.admin(org)
    )
    assert state.json()["enabled"] is False
    return endpoint


async def test_every_active_admin_is_mailed_once_in_their_language(
    live: Any,
    tokens: Any,
    trades: Any,
    smtp_sink: Any,
    directory: FakeGatewayDirectory,
    receivers: Callable[..., AbstractAsyncContextManager[Any]],
    make_envelope: Callable[..., Any],
) -> None:
    org = uuid.uuid4()
    directory.admins[str(org)] = [
        admin("admin-ja", "Kanri@Shipper.example"),
        admin("admin-en", "ops@shipper.example", "en"),
        admin("admin-off", "quiet@shipper.example"),
        admin("admin-saved", "saved@shipper.example", "en"),
    ]
    # One admin switched this mail off; another saved the same address in their preferences.
    off = await live.client.put(
        "/api/v1/notifications/me/preferences",
        json={
            "email": "quiet@shipper.example",
            "preferences": [
                {"event_type": "webhook_endpoint.disabled", "channel": "email", "enabled": False}
            ],
        },
        headers=tokens.admin(org, subject="admin-off"),
    )
    assert off.status_code == 200, off.text
    saved = await live.client.put(
        "/api/v1/notifications/me/preferences",
        json={"email": "saved@shipper.example", "locale": "en"},
        headers=tokens.admin(org, subject="admin-saved"),
    )
    assert saved.status_code == 200, saved.text

    endpoint = await disable_an_endpoint(live, tokens, trades, receivers, make_envelope, org)
    await live.drain()

    # The directory was asked with this service's own token.
    assert directory.asked
    assert all(auth.startswith("Bearer ") for _, auth in directory.asked)
    for address in ("kanri@shipper.example", "ops@shipper.example", "saved@shipper.example"):
        [mail] = smtp_sink.messages(to=address)
        assert endpoint["url"] in mail["body"]
    assert smtp_sink.messages(to="quiet@shipper.example") == []
    # Each in the admin's own language.
    [ja_mail] = smtp_sink.messages(to="kanri@shipper.example")
    [en_mail] = smtp_sink.messages(to="ops@shipper.example")
    assert "無効化されました" in ja_mail["body"]
    assert "kept failing" not in ja_mail["body"]
    assert "kept failing and was disabled" in en_mail["body"]
    assert "無効" not in en_mail["body"]


async def test_a_directory_that_does_not_answer_only_delays_the_mail(
    live: Any,
    tokens: Any,
    trades: Any,
    smtp_sink: Any,
    directory: FakeGatewayDirectory,
    receivers: Callable[..., AbstractAsyncContextManager[Any]],
    make_envelope: Callable[..., Any],
) -> None:
    org = uuid.uuid4()
    directory.admins[str(org)] = [admin("admin-1", "admin1@forwarder.example")]
    directory.failing = True
    await disable_an_endpoint(live, tokens, trades, receivers, make_envelope, org)
    await live.drain()
    assert smtp_sink.messages(to="admin1@forwarder.example") == []
    asked_while_down = len(directory.asked)
    assert asked_while_down >= 1

    # The gateway is back; the retry (due later) expands and sends, exactly once.
    directory.failing = False
    async with live.app.state.sessionmaker() as session, session.begin():
        await session.execute(
            text(
                "UPDATE outgoing_emails SET next_attempt_at = now() "
                "WHERE to_org_admins IS NOT NULL AND status = 'pending'"
            )
        )
    await live.drain()
    await live.drain()
    assert len(smtp_sink.messages(to="admin1@forwarder.example")) == 1
