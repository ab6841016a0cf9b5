"""The trades client against a real HTTP server; who may manage webhooks; the dispatcher running in
the service's lifespan."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from notifications.clients.trades import HttpTradeDirectory
from shared.http import ServiceClient, UpstreamProblem


async def svc_token() -> str:
    return "svc-token"


async def no_token() -> None:
    return None


class TestHttpTradeDirectory:
    async def test_participants_access_and_unknown_trades(self, trades: Any) -> None:
        shipper, broker = uuid.uuid4(), uuid.uuid4()
        trade = trades.add_trade(shipper, broker, hidden=(broker,))
        client = ServiceClient(trades.url)
        try:
            directory = HttpTradeDirectory(client, svc_token, participants_api=True)
            answer = await directory.participants(trade)
            assert answer is not None
            assert answer.org_ids() == {str(shipper), str(broker)}
            assert answer.hidden_org_ids() == {str(broker)}
            unknown = await directory.participants(uuid.uuid4())
            assert unknown is not None
            assert unknown.participants == []
            assert await directory.can_access(trade, str(broker)) is True
            assert await directory.can_access(trade, str(uuid.uuid4())) is False
            assert set(trades.tokens_seen) == {"Bearer svc-token"}
        finally:
            await client.aclose()

    async def test_an_unreachable_trades_service_is_an_error_not_an_empty_audience(
        self,
    ) -> None:
        from shared.devstack.stack import free_port
        from shared.errors import UpstreamUnavailable

        client = ServiceClient(f"http://127.0.0.1:{free_port()}", attempts=1)
        try:
            directory = HttpTradeDirectory(client, no_token, participants_api=True)
            with pytest.raises((UpstreamUnavailable, UpstreamProblem)):
                await directory.participants(uuid.uuid4())
            with pytest.raises((UpstreamUnavailable, UpstreamProblem)):
                await directory.can_access(uuid.uuid4(), "org-1")
        finally:
            await client.aclose()

    async def test_intake_fails_loudly_when_trades_cannot_answer(
        self,
        client: httpx.AsyncClient,
        tokens: Any,
        app: Any,
        make_envelope: Callable[..., Any],
    ) -> None:
        from shared.devstack.stack import free_port

        dead = ServiceClient(f"http://127.0.0.1:{free_port()}", attempts=1)
        try:
            app.state.trades = HttpTradeDirectory(dead, no_token, participants_api=True)
            response = await client.post(
                "/internal/events",
                json=make_envelope(trade_id=uuid.uuid4()),
                headers=tokens.service(),
            )
            # The relay retries later; the event is not stored with a wrong (empty) audience.
            assert response.status_code == 502
        finally:
            await dead.aclose()


class TestWhoManagesWebhooks:
    async def test_admins_and_scoped_partner_clients_only(
        self, client: httpx.AsyncClient, tokens: Any
    ) -> None:
        org = uuid.uuid4()
        body = {"url": "http://127.0.0.1:9/hook", "event_types": ["trade.*"]}
        url = "/api/v1/notifications/webhooks"
        assert (await client.post(url, json=body, headers=tokens.user(org))).status_code == 403
        assert (await client.post(url, json=body, headers=tokens.partner(org))).status_code == 403
        assert (await client.post(url, json=body, headers=tokens.service())).status_code == 403
        partner = await client.post(url, json=body, headers=tokens.partner(org, "webhooks:manage"))
        assert partner.status_code == 201
        admin = await client.post(url, json=body, headers=tokens.admin(org))
        assert admin.status_code == 201

        other_org = tokens.admin(uuid.uuid4())
        endpoint_id = admin.json()["id"]
        for method in ("GET", "PATCH", "DELETE"):
            response = await client.request(
                method,
                f"{url}/{endpoint_id}",
                headers=other_org,
                json={"description": "x"} if method == "PATCH" else None,
            )
            assert response.status_code == 404, method
        listed = await client.get(url, headers=other_org)
        assert listed.json() == []

        deleted = await client.delete(f"{url}/{endpoint_id}", headers=tokens.admin(org))
        assert deleted.status_code == 204

    async def test_unknown_event_types_are_refused(
        self, client: httpx.AsyncClient, tokens: Any
    ) -> None:
        response = await client.post(
            "/api/v1/notifications/webhooks",
            json={"url": "http://127.0.0.1:9/hook", "event_types": ["trade.*", "bogus"]},
            headers=tokens.admin(uuid.uuid4()),
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "event_types.1"


class TestDispatcherInLifespan:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"dispatcher_enabled": True, "dispatcher_poll_interval_s": 0.05}

    async def test_events_are_delivered_without_anyone_draining(
        self,
        live: Any,
        tokens: Any,
        trades: Any,
        receiver: Any,
        make_envelope: Callable[..., Any],
    ) -> None:
        org = uuid.uuid4()
        trade = trades.add_trade(org)
        created = await live.client.post(
            "/api/v1/notifications/webhooks",
            json={"url": receiver.url, "event_types": ["*"]},
            headers=tokens.admin(org),
        )
        receiver.secrets = [created.json()["secret"]]
        body = make_envelope(trade_id=trade)
        await live.client.post("/internal/events", json=body, headers=tokens.service())
        for _ in range(100):
            if receiver.dedupe:
                break
            await asyncio.sleep(0.05)
        assert list(receiver.dedupe) == [body["id"]]
