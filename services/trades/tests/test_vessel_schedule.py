"""A vessel schedule update (relayed by notifications) moves ETD/ETA of the trades on that call."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


def schedule_event(**data: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": "vessel_schedule.updated",
        "version": 1,
        "occurred_at": "2026-11-22T09:00:00+00:00",
        "source": "notifications",
        "trade_id": None,
        "data": {"partner": "colins", "client_id": "colins-client", **data},
    }


async def read(client: httpx.AsyncClient, trade: dict[str, Any], owner: Any) -> dict[str, Any]:
    response = await client.get(f"/api/v1/trades/{trade['id']}", headers=owner.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def outbox_topics(session: AsyncSession, trade_id: str) -> list[dict[str, Any]]:
    rows = await session.execute(
        text(
            "SELECT payload FROM outbox_message WHERE trade_id = :t AND topic = 'trade.updated'"
            " ORDER BY occurred_at"
        ),
        {"t": uuid.UUID(trade_id)},
    )
    return [r.payload for r in rows]


class TestScheduleIntake:
    async def test_applies_to_exactly_the_matching_trades(
        self,
        client: httpx.AsyncClient,
        create_trade: Any,
        make_org: Any,
        service_headers: dict[str, str],
        db_session: AsyncSession,
    ) -> None:
        owner = make_org("owner")
        call = uuid.uuid4().hex[:4].upper()
        voyage = "V" + uuid.uuid4().hex[:6].upper()
        by_sign = await create_trade(
            owner, vessel={"call_sign": call, "name": "X1"}, voyage_no=voyage
        )
        by_name = await create_trade(
            owner, vessel={"name": f"SHIP {call}"}, voyage_no=voyage, bl_no=None
        )
        other_voyage = await create_trade(owner, vessel={"call_sign": call}, voyage_no="OTHER1")
        closed = await create_trade(owner, vessel={"call_sign": call}, voyage_no=voyage)
        await db_session.execute(
            text("UPDATE trade SET status = 'closed' WHERE id = :t"), {"t": uuid.UUID(closed["id"])}
        )
        discharge_here = await create_trade(
            owner, vessel={"call_sign": call}, voyage_no=voyage, port_of_loading="CNSHA"
        )
        stale = (
            await client.get(f"/api/v1/trades/{by_sign['id']}", headers=owner.headers)
        ).headers["etag"]

        # Call sign (lower case) names the vessel; port JPTYO is where by_sign loads.
        event = schedule_event(
            vessel_call_sign=call.lower(),
            voyage=voyage,
            port="JPTYO",
            etd="2026-12-03T18:00:00+09:00",
        )
        first = await client.post("/internal/events", json=event, headers=service_headers)
        assert first.status_code == 201, first.text
        assert (await read(client, by_sign, owner))["etd"] == "2026-12-03"
        # The discharge-port trade loads elsewhere: its ETD stays.
        assert (await read(client, discharge_here, owner))["etd"] == "2026-12-01"
        for untouched in (other_voyage, closed):
            assert (await read(client, untouched, owner))["etd"] == "2026-12-01"
        # A trade known only by name is not matched when the event names a call sign.
        assert (await read(client, by_name, owner))["etd"] == "2026-12-01"

        timeline = await client.get(
            f"/api/v1/trades/{by_sign['id']}/timeline", headers=owner.headers
        )
        entries = [e for e in timeline.json()["items"] if e["kind"] == "vessel_schedule.updated"]
        assert len(entries) == 1
        assert entries[0]["before"] == {"etd": "2026-12-01"}
        assert entries[0]["after"] == {"etd": "2026-12-03"}
        assert entries[0]["source"] == "notifications"
        events = await outbox_topics(db_session, by_sign["id"])
        assert events[-1]["changed"] == {"etd": {"before": "2026-12-01", "after": "2026-12-03"}}
        assert await outbox_topics(db_session, closed["id"]) == []
        assert await outbox_topics(db_session, other_voyage["id"]) == []

        # Replay: acknowledged, nothing changes.
        replay = await client.post("/internal/events", json=event, headers=service_headers)
        assert replay.status_code == 200
        assert len(await outbox_topics(db_session, by_sign["id"])) == len(events)

        # The ETag read before the update is stale.
        edit = await client.patch(
            f"/api/v1/trades/{by_sign['id']}",
            json={"voyage_no": voyage},
            headers={**owner.headers, "If-Match": stale},
        )
        assert edit.status_code == 412

        # By name (case-insensitive), ETA at the port of discharge.
        by_name_event = schedule_event(
            vessel_name=f"ship {call.lower()}", voyage=voyage, port="USLAX", eta="2026-12-20"
        )
        applied = await client.post("/internal/events", json=by_name_event, headers=service_headers)
        assert applied.status_code == 201, applied.text
        named = await read(client, by_name, owner)
        assert (named["etd"], named["eta"]) == ("2026-12-01", "2026-12-20")
        assert (await read(client, by_sign, owner))["eta"] == "2026-12-14"

    async def test_an_event_without_vessel_or_trade_is_refused(
        self, client: httpx.AsyncClient, service_headers: dict[str, str]
    ) -> None:
        bad = schedule_event(voyage="025E")
        assert (
            await client.post("/internal/events", json=bad, headers=service_headers)
        ).status_code == 422
        other = {**schedule_event(), "type": "form.created"}
        assert (
            await client.post("/internal/events", json=other, headers=service_headers)
        ).status_code == 422
