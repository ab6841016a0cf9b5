"""The trades service's events: written with the change, gone with a rollback, relayed over HTTP."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared.devstack.stack import free_port
from shared.testing.plugin import asgi_client
from shared.testing.tokens import TestIssuer
from trades.app import create_app
from trades.config import Settings
from trades.domain.events import Actor, emit
from trades.runtime import Runtime


async def events_of(session: AsyncSession, trade_id: str) -> list[tuple[str, int, dict[str, Any]]]:
    rows = await session.execute(
        text(
            "SELECT topic, version, payload FROM outbox_message WHERE trade_id = :t ORDER BY occurred_at"
        ),
        {"t": uuid.UUID(trade_id)},
    )
    return [(r.topic, r.version, r.payload) for r in rows]


class TestEventsWithTheChange:
    async def test_each_change_writes_its_versioned_event(
        self,
        client: httpx.AsyncClient,
        create_trade: Any,
        join: Any,
        make_org: Any,
        db_session: AsyncSession,
    ) -> None:
        owner, forwarder = make_org("owner"), make_org("fwd")
        trade = await create_trade(owner)
        await join(trade, owner, forwarder, "forwarder")
        await client.post(
            f"/api/v1/trades/{trade['id']}/status",
            json={"status": "booked"},
            headers={**owner.headers, "If-Match": "*"},
        )
        events = await events_of(db_session, trade["id"])
        assert [(topic, version) for topic, version, _ in events] == [
            ("trade.created", 1),
            ("participant.invited", 1),
            ("participant.added", 1),
            ("trade.status_changed", 1),
        ]
        created = events[0][2]
        assert created["trade_no"] == trade["trade_no"]
        assert created["actor"] == {"user_id": owner.user, "org_id": owner.id}
        assert created["audience_org_ids"] is None
        assert events[3][2] | {"actor": None} == {
            "trade_no": trade["trade_no"],
            "from": "draft",
            "to": "booked",
            "reason": None,
            "version": 2,
            "actor": None,
            "audience_org_ids": None,
        }
        # The timeline records the same events under the same ids.
        timeline = (
            await client.get(f"/api/v1/trades/{trade['id']}/timeline", headers=owner.headers)
        ).json()["items"]
        ids = await db_session.scalars(
            text("SELECT id::text FROM outbox_message WHERE trade_id = :t"),
            {"t": uuid.UUID(trade["id"])},
        )
        assert {e["event_id"] for e in timeline} == set(ids)

    async def test_events_about_hidden_participants_name_their_audience(
        self, create_trade: Any, join: Any, make_org: Any, db_session: AsyncSession
    ) -> None:
        owner, forwarder, trucker = make_org("owner"), make_org("fwd"), make_org("trk")
        trade = await create_trade(owner)
        await join(trade, owner, forwarder, "forwarder")
        await join(trade, forwarder, trucker, "trucker", hidden=True)
        events = await events_of(db_session, trade["id"])
        hidden_events = [
            payload for topic, _, payload in events if payload.get("org_id") == trucker.id
        ]
        assert len(hidden_events) == 2
        assert all(
            p["audience_org_ids"] == sorted([forwarder.id, trucker.id]) for p in hidden_events
        )

    async def test_a_refused_request_leaves_no_event(
        self, client: httpx.AsyncClient, create_trade: Any, make_org: Any, db_session: AsyncSession
    ) -> None:
        owner = make_org("owner")
        trade = await create_trade(owner)
        before = await events_of(db_session, trade["id"])
        refused = await client.post(
            f"/api/v1/trades/{trade['id']}/status",
            json={"status": "loaded"},
            headers={**owner.headers, "If-Match": "*"},
        )
        assert refused.status_code == 422
        assert await events_of(db_session, trade["id"]) == before


class TestEventRolledBackWithTheTransaction:
    async def test_event_row_disappears_with_a_rollback(
        self, db_session: AsyncSession, runtime: Runtime
    ) -> None:
        trade_id = uuid.uuid4()
        await db_session.execute(
            text(
                "INSERT INTO trade (id, trade_no, direction, status, owner_org_id, created_at, updated_at,"
                " created_by_user_id, version) VALUES (:id, :no, 'export', 'draft', 'o', now(), now(), 'u', 1)"
            ),
            {"id": trade_id, "no": f"EXP-T-{trade_id.hex[:8]}"},
        )
        savepoint = await db_session.begin_nested()
        await emit(
            db_session,
            runtime=runtime,
            trade_id=trade_id,
            topic="trade.updated",
            data={"changed": {}},
            actor=Actor(user_id="u", org_id="o"),
            summary="changed",
        )
        count = "SELECT count(*) FROM outbox_message WHERE trade_id = :t"
        assert await db_session.scalar(text(count), {"t": trade_id}) == 1
        await savepoint.rollback()
        assert await db_session.scalar(text(count), {"t": trade_id}) == 0
        assert (
            await db_session.scalar(
                text("SELECT count(*) FROM timeline_entry WHERE trade_id = :t"), {"t": trade_id}
            )
            == 0
        )


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    async def events(request: Request) -> Response:
        received.append({"body": await request.json(), "headers": dict(request.headers)})
        return JSONResponse({"accepted": True}, status_code=202)

    async def token(request: Request) -> Response:
        assert (await request.body()) == b"grant_type=client_credentials"
        assert request.headers["authorization"].startswith("Basic ")
        return JSONResponse({"access_token": "token-by-client-credentials", "expires_in": 300})

    app = Starlette(
        routes=[
            Route("/internal/events", events, methods=["POST"]),
            Route("/api/v1/auth/token", token, methods=["POST"]),
        ]
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}/internal/events", received
    server.should_exit = True
    await task


class TestRelayInTheService:
    async def test_relay_started_by_the_lifespan_delivers_committed_events(
        self,
        database_url: str,
        token_issuer: TestIssuer,
        receiver: tuple[str, list[dict[str, Any]]],
        make_org: Any,
        new_trade_body: Any,
    ) -> None:
        url, received = receiver
        settings = Settings(
            database_url=database_url,
            environment="test",
            log_json=False,
            events_url=url,
            service_token="service-token-for-notifications",
            outbox_poll_interval_s=0.2,
        )
        app = create_app(settings, token_verifier=token_issuer.verifier())
        owner = make_org("owner")
        async for client in asgi_client(app):
            created = await client.post(
                "/api/v1/trades", json=new_trade_body(), headers=owner.headers
            )
            trade_id = created.json()["id"]
            for _ in range(150):
                if any(r["body"]["trade_id"] == trade_id for r in received):
                    break
                await asyncio.sleep(0.02)
        mine = [r for r in received if r["body"]["trade_id"] == trade_id]
        assert len(mine) == 1
        [delivery] = mine
        assert delivery["body"]["type"] == "trade.created"
        assert delivery["body"]["source"] == "trades"
        assert delivery["body"]["data"]["trade_no"] == created.json()["trade_no"]
        assert delivery["headers"]["idempotency-key"] == delivery["body"]["id"]
        assert delivery["headers"]["authorization"] == "Bearer service-token-for-notifications"

    async def test_relay_authenticates_by_client_credentials(
        self,
        database_url: str,
        token_issuer: TestIssuer,
        receiver: tuple[str, list[dict[str, Any]]],
        make_org: Any,
        new_trade_body: Any,
    ) -> None:
        url, received = receiver
        base = url.removesuffix("/internal/events")
        settings = Settings(
            database_url=database_url,
            environment="test",
            log_json=False,
            notifications_url=base,
            token_url=f"{base}/api/v1/auth/token",
            service_client_id="svc-trades",
            service_client_secret="a-test-secret",
            outbox_poll_interval_s=0.2,
        )
        app = create_app(settings, token_verifier=token_issuer.verifier())
        owner = make_org("owner")
        async for client in asgi_client(app):
            created = await client.post(
                "/api/v1/trades", json=new_trade_body(), headers=owner.headers
            )
            trade_id = created.json()["id"]
            for _ in range(150):
                if any(r["body"]["trade_id"] == trade_id for r in received):
                    break
                await asyncio.sleep(0.02)
        [delivery] = [r for r in received if r["body"]["trade_id"] == trade_id]
        assert delivery["headers"]["authorization"] == "Bearer token-by-client-credentials"

    async def test_relay_is_off_when_the_setting_says_so(
        self, app: Any, client: httpx.AsyncClient
    ) -> None:
        assert getattr(app.state, "outbox_relay", None) is None


class TestHiddenActors:
    async def test_changes_by_a_hidden_participant_reach_only_those_who_see_it(
        self,
        client: httpx.AsyncClient,
        create_trade: Any,
        join: Any,
        make_org: Any,
        db_session: AsyncSession,
    ) -> None:
        owner, forwarder, subcontractor = make_org("owner"), make_org("fwd"), make_org("sub")
        trade = await create_trade(owner)
        await join(trade, owner, forwarder, "forwarder")
        await join(trade, forwarder, subcontractor, "nvocc", hidden=True)
        url = f"/api/v1/trades/{trade['id']}"
        await client.patch(
            url, json={"voyage_no": "H1"}, headers={**subcontractor.headers, "If-Match": "*"}
        )
        await client.post(
            f"{url}/status",
            json={"status": "booked"},
            headers={**subcontractor.headers, "If-Match": "*"},
        )
        by_hidden = [
            p
            for _, _, p in await events_of(db_session, trade["id"])
            if p["actor"]["org_id"] == subcontractor.id
        ]
        assert len(by_hidden) == 3  # accepted the invitation, edited, changed the status
        assert all(
            p["audience_org_ids"] == sorted([forwarder.id, subcontractor.id]) for p in by_hidden
        )
