"""Idempotency-Key on the creating POSTs of the trades API."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from shared import idempotency
from shared.db import to_async_url
from trades.db.models import idempotency_table


async def trade_count(session: AsyncSession, org_id: str) -> int:
    count = await session.scalar(
        text("SELECT count(*) FROM trade WHERE owner_org_id = :o"), {"o": org_id}
    )
    return int(count or 0)


class TestCreateTradeIdempotency:
    async def test_same_key_and_body_replays_the_first_response(
        self,
        client: httpx.AsyncClient,
        make_org: Any,
        new_trade_body: Any,
        db_session: AsyncSession,
    ) -> None:
        owner = make_org("owner")
        headers = {**owner.headers, "Idempotency-Key": "create-1"}
        first = await client.post("/api/v1/trades", json=new_trade_body(), headers=headers)
        # Same JSON, other key order and spacing: the same request.
        body = dict(reversed(list(new_trade_body().items())))
        second = await client.post("/api/v1/trades", json=body, headers=headers)
        assert first.status_code == second.status_code == 201
        assert second.json() == first.json()
        assert second.headers["etag"] == first.headers["etag"]
        assert second.headers["location"] == first.headers["location"]
        assert second.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers
        assert await trade_count(db_session, owner.id) == 1

    async def test_same_key_other_body_is_422_and_writes_nothing(
        self,
        client: httpx.AsyncClient,
        make_org: Any,
        new_trade_body: Any,
        db_session: AsyncSession,
    ) -> None:
        owner = make_org("owner")
        headers = {**owner.headers, "Idempotency-Key": "create-2"}
        await client.post("/api/v1/trades", json=new_trade_body(), headers=headers)
        other = await client.post(
            "/api/v1/trades", json=new_trade_body(voyage_no="999W"), headers=headers
        )
        assert other.status_code == 422
        assert other.json()["code"] == "idempotency_key_reused"
        assert await trade_count(db_session, owner.id) == 1

    async def test_keys_are_per_principal(
        self,
        client: httpx.AsyncClient,
        make_org: Any,
        new_trade_body: Any,
        db_session: AsyncSession,
    ) -> None:
        first_org, second_org = make_org("a"), make_org("b")
        for org in (first_org, second_org):
            response = await client.post(
                "/api/v1/trades",
                json=new_trade_body(),
                headers={**org.headers, "Idempotency-Key": "shared-key"},
            )
            assert response.status_code == 201
            assert "idempotent-replayed" not in response.headers
            assert await trade_count(db_session, org.id) == 1

    async def test_failed_request_is_not_remembered(
        self, client: httpx.AsyncClient, make_org: Any, new_trade_body: Any, create_trade: Any
    ) -> None:
        owner = make_org("owner")
        await create_trade(owner, owner_reference="DUP")
        headers = {**owner.headers, "Idempotency-Key": "retry-me"}
        conflict = await client.post(
            "/api/v1/trades", json=new_trade_body(owner_reference="DUP"), headers=headers
        )
        assert conflict.status_code == 409
        # The client fixes nothing and retries: the request runs again (errors are not cached).
        again = await client.post(
            "/api/v1/trades", json=new_trade_body(owner_reference="DUP"), headers=headers
        )
        assert again.status_code == 409

    async def test_invalid_key_is_400(
        self, client: httpx.AsyncClient, make_org: Any, new_trade_body: Any
    ) -> None:
        owner = make_org("owner")
        response = await client.post(
            "/api/v1/trades",
            json=new_trade_body(),
            headers={**owner.headers, "Idempotency-Key": "x" * 300},
        )
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_idempotency_key"

    async def test_duplicate_while_the_first_is_in_flight_is_409(
        self,
        committing_client: httpx.AsyncClient,
        make_org: Any,
        new_trade_body: Any,
        database_url: str,
        clock: Any,
    ) -> None:
        owner = make_org("owner")
        engine = create_async_engine(to_async_url(database_url))
        try:
            async with AsyncSession(engine) as in_flight:
                await in_flight.begin()
                # Another replica is processing the same key and has not committed yet.
                await idempotency.begin(
                    in_flight,
                    table=idempotency_table,
                    principal=f"user:{owner.id}:{owner.user}",
                    key="in-flight",
                    fingerprint="whatever",
                    now=clock.now,
                )
                response = await committing_client.post(
                    "/api/v1/trades",
                    json=new_trade_body(),
                    headers={**owner.headers, "Idempotency-Key": "in-flight"},
                )
                assert response.status_code == 409
                assert response.json()["code"] == "idempotency_request_in_progress"
                await in_flight.rollback()
            retried = await committing_client.post(
                "/api/v1/trades",
                json=new_trade_body(),
                headers={**owner.headers, "Idempotency-Key": "in-flight"},
            )
            assert retried.status_code == 201
        finally:
            await engine.dispose()


class TestOtherCreatingPosts:
    async def test_invite_task_and_thread_replay(
        self, client: httpx.AsyncClient, create_trade: Any, join: Any, make_org: Any
    ) -> None:
        owner, forwarder = make_org("owner"), make_org("fwd")
        trade = await create_trade(owner)
        await join(trade, owner, forwarder, "forwarder")
        base = f"/api/v1/trades/{trade['id']}"
        newcomer = make_org("new")
        calls = [
            (
                f"{base}/participants",
                {"org_id": newcomer.id, "display_name": "N", "role": "trucker"},
            ),
            (f"{base}/tasks", {"title": "Book truck", "assignee_org_id": forwarder.id}),
            (f"{base}/threads", {"subject": "Hello", "body": "first"}),
        ]
        for index, (url, body) in enumerate(calls):
            headers = {**owner.headers, "Idempotency-Key": f"k-{index}"}
            first = await client.post(url, json=body, headers=headers)
            second = await client.post(url, json=body, headers=headers)
            assert first.status_code == second.status_code == 201, (url, first.text)
            assert first.json() == second.json()
        assert len((await client.get(f"{base}/tasks", headers=owner.headers)).json()) == 1
        assert len((await client.get(f"{base}/threads", headers=owner.headers)).json()) == 1


class TestHousekeeping:
    async def test_expired_keys_are_purged(
        self,
        committing_client: httpx.AsyncClient,
        make_org: Any,
        new_trade_body: Any,
        database_url: str,
        clock: Any,
    ) -> None:
        from datetime import timedelta

        from trades.app import purge_expired_keys
        from trades.runtime import Runtime

        owner = make_org("owner")
        headers = {**owner.headers, "Idempotency-Key": "old"}
        assert (
            await committing_client.post("/api/v1/trades", json=new_trade_body(), headers=headers)
        ).status_code == 201
        engine = create_async_engine(to_async_url(database_url))
        try:
            later = clock.now + idempotency.DEFAULT_RETENTION + timedelta(minutes=1)
            await purge_expired_keys(engine, Runtime(clock=lambda: later))
            async with engine.connect() as conn:
                left = await conn.scalar(
                    text("SELECT count(*) FROM idempotency_key WHERE principal LIKE :p"),
                    {"p": f"%{owner.id}%"},
                )
        finally:
            await engine.dispose()
        assert left == 0
