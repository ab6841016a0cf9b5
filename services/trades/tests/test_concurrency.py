"""Concurrent edits with real transactions: optimistic locking lets exactly one writer win."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db import to_async_url


async def create(client: httpx.AsyncClient, org: Any, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/api/v1/trades", json=body, headers=org.headers)
    assert response.status_code == 201, response.text
    trade: dict[str, Any] = response.json()
    return trade


class TestConcurrentEdits:
    async def test_two_concurrent_edits_one_wins_the_other_gets_412(
        self, committing_client: httpx.AsyncClient, make_org: Any, new_trade_body: Any
    ) -> None:
        owner = make_org("owner")
        trade = await create(committing_client, owner, new_trade_body())
        url = f"/api/v1/trades/{trade['id']}"
        read = (await committing_client.get(url, headers=owner.headers)).headers["etag"]
        responses = await asyncio.gather(
            *(
                committing_client.patch(
                    url, json={"voyage_no": voyage}, headers={**owner.headers, "If-Match": read}
                )
                for voyage in ("A1", "B2")
            )
        )
        assert sorted(r.status_code for r in responses) == [200, 412]
        [winner] = [r for r in responses if r.status_code == 200]
        final = await committing_client.get(url, headers=owner.headers)
        assert final.json()["voyage_no"] == winner.json()["voyage_no"]
        assert final.json()["version"] == 2

    @pytest.mark.parametrize("writers", [10])
    async def test_many_concurrent_writers_exactly_one_succeeds(
        self,
        committing_client: httpx.AsyncClient,
        make_org: Any,
        new_trade_body: Any,
        database_url: str,
        writers: int,
    ) -> None:
        owner = make_org("owner")
        trade = await create(committing_client, owner, new_trade_body())
        url = f"/api/v1/trades/{trade['id']}/status"
        read = (
            await committing_client.get(f"/api/v1/trades/{trade['id']}", headers=owner.headers)
        ).headers["etag"]
        responses = await asyncio.gather(
            *(
                committing_client.post(
                    url, json={"status": "booked"}, headers={**owner.headers, "If-Match": read}
                )
                for _ in range(writers)
            )
        )
        assert sorted(r.status_code for r in responses) == [200] + [412] * (writers - 1)
        engine = create_async_engine(to_async_url(database_url))
        try:
            async with engine.connect() as conn:
                changes = await conn.scalar(
                    text(
                        "SELECT count(*) FROM timeline_entry WHERE trade_id = :t AND kind = 'trade.status_changed'"
                    ),
                    {"t": trade["id"]},
                )
        finally:
            await engine.dispose()
        assert changes == 1


class TestConcurrentInvites:
    async def test_the_same_organisation_invited_twice_at_once_is_one_participant(
        self, committing_client: httpx.AsyncClient, make_org: Any, new_trade_body: Any
    ) -> None:
        owner, guest = make_org("owner"), make_org("guest")
        trade = await create(committing_client, owner, new_trade_body())
        invite = {"org_id": guest.id, "display_name": "Guest", "role": "trucker"}
        responses = await asyncio.gather(
            *(
                committing_client.post(
                    f"/api/v1/trades/{trade['id']}/participants", json=invite, headers=owner.headers
                )
                for _ in range(5)
            )
        )
        assert sorted(r.status_code for r in responses) == [201, 409, 409, 409, 409]
