"""Timeline: own changes, events from other services (idempotent intake), filters, CSV export."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession


def event(trade_id: str, type_: str = "form.sent", **data: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": type_,
        "version": 1,
        "occurred_at": "2026-11-22T10:00:00+09:00",
        "source": "forms",
        "trade_id": trade_id,
        "data": data,
    }


class TestIntake:
    async def test_replayed_event_is_recorded_once(
        self,
        client: httpx.AsyncClient,
        create_trade: Any,
        make_org: Any,
        service_headers: dict[str, str],
    ) -> None:
        owner = make_org("owner")
        trade = await create_trade(owner)
        incoming = event(
            trade["id"],
            summary="S/I (UL040) sent to the forwarder",
            form_type="UL040",
            actor={"user_id": "u-9", "org_id": owner.id},
            after={"form_status": "sent"},
        )
        first = await client.post("/internal/events", json=incoming, headers=service_headers)
        assert first.status_code == 201, first.text
        assert first.json()["recorded"] is True
        for _ in range(3):
            replay = await client.post("/internal/events", json=incoming, headers=service_headers)
            assert replay.status_code == 200
            assert replay.json() == {
                "recorded": False,
                "timeline_entry_id": None,
                "task_ids": [],
                "status": None,
            }
        entries = (
            await client.get(
                f"/api/v1/trades/{trade['id']}/timeline",
                params={"kind": "form.sent"},
                headers=owner.headers,
            )
        ).json()["items"]
        assert len(entries) == 1
        [entry] = entries
        assert entry["summary"] == "S/I (UL040) sent to the forwarder"
        assert entry["source"] == "forms"
        assert entry["event_id"] == incoming["id"]
        assert entry["actor_user_id"] == "u-9"
        assert entry["after"] == {"form_status": "sent"}
        assert entry["occurred_at"] == "2026-11-22T01:00:00Z"

    async def test_same_event_id_from_another_source_is_another_event(
        self,
        client: httpx.AsyncClient,
        create_trade: Any,
        make_org: Any,
        service_headers: dict[str, str],
    ) -> None:
        trade = await create_trade(make_org("owner"))
        incoming = event(trade["id"])
        await client.post("/internal/events", json=incoming, headers=service_headers)
        other = await client.post(
            "/internal/events", json={**incoming, "source": "naccs_bridge"}, headers=service_headers
        )
        assert other.json()["recorded"] is True

    async def test_unknown_trade_is_404_and_users_are_refused(
        self, client: httpx.AsyncClient, make_org: Any, service_headers: dict[str, str]
    ) -> None:
        incoming = event(str(uuid.uuid4()))
        assert (
            await client.post("/internal/events", json=incoming, headers=service_headers)
        ).status_code == 404
        assert (
            await client.post("/internal/events", json=incoming, headers=make_org("u").headers)
        ).status_code == 403


class TestTimelineReads:
    async def test_own_changes_are_recorded_with_who_and_what(
        self, client: httpx.AsyncClient, create_trade: Any, make_org: Any
    ) -> None:
        owner = make_org("owner")
        trade = await create_trade(owner)
        await client.post(
            f"/api/v1/trades/{trade['id']}/status",
            json={"status": "booked", "reason": "booking confirmed"},
            headers={**owner.headers, "If-Match": "*"},
        )
        items = (
            await client.get(f"/api/v1/trades/{trade['id']}/timeline", headers=owner.headers)
        ).json()["items"]
        assert [i["kind"] for i in items] == ["trade.created", "trade.status_changed"]
        changed = items[1]
        assert changed["actor_org_id"] == owner.id
        assert changed["actor_user_id"] == owner.user
        assert changed["before"] == {"status": "draft"}
        assert changed["after"] == {"status": "booked"}
        assert changed["source"] == "trades"
        assert changed["summary"] == "Status draft → booked: booking confirmed"

    async def test_filters_by_kind_and_time_and_pages(
        self,
        client: httpx.AsyncClient,
        create_trade: Any,
        make_org: Any,
        service_headers: dict[str, str],
    ) -> None:
        owner = make_org("owner")
        trade = await create_trade(owner)
        for hour in (1, 2, 3, 4):
            incoming = event(trade["id"], "naccs.output_received", summary=f"h{hour}")
            incoming["occurred_at"] = f"2026-11-23T0{hour}:00:00Z"
            await client.post("/internal/events", json=incoming, headers=service_headers)
        url = f"/api/v1/trades/{trade['id']}/timeline"
        window = await client.get(
            url,
            params={
                "kind": "naccs.output_received",
                "since": "2026-11-23T02:00:00Z",
                "until": "2026-11-23T04:00:00Z",
            },
            headers=owner.headers,
        )
        assert [i["summary"] for i in window.json()["items"]] == ["h2", "h3"]
        first = await client.get(
            url, params={"kind": "naccs.output_received", "limit": 3}, headers=owner.headers
        )
        second = await client.get(
            url,
            params={
                "kind": "naccs.output_received",
                "limit": 3,
                "cursor": first.json()["next_cursor"],
            },
            headers=owner.headers,
        )
        assert [i["summary"] for i in first.json()["items"] + second.json()["items"]] == [
            "h1",
            "h2",
            "h3",
            "h4",
        ]
        assert second.json()["next_cursor"] is None

    async def test_bad_cursor_is_a_problem(
        self, client: httpx.AsyncClient, create_trade: Any, make_org: Any
    ) -> None:
        owner = make_org("owner")
        trade = await create_trade(owner)
        response = await client.get(
            f"/api/v1/trades/{trade['id']}/timeline",
            params={"cursor": "not-ours"},
            headers=owner.headers,
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "query.cursor"

    async def test_csv_export_streams_the_filtered_visible_history(
        self,
        client: httpx.AsyncClient,
        create_trade: Any,
        join: Any,
        make_org: Any,
        service_headers: dict[str, str],
    ) -> None:
        owner, bystander, hidden = make_org("owner"), make_org("by"), make_org("hidden")
        trade = await create_trade(owner)
        await join(trade, owner, bystander, "forwarder")
        await join(trade, owner, hidden, "trucker", hidden=True)
        await client.post(
            "/internal/events",
            json=event(
                trade["id"], "naccs.output_received", summary='輸出許可 — permit, "quoted", comma'
            ),
            headers=service_headers,
        )
        response = await client.get(
            f"/api/v1/trades/{trade['id']}/timeline.csv", headers=bystander.headers
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert response.text.startswith("\ufeff")
        rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
        assert "trade.created" in [r["kind"] for r in rows]
        assert '輸出許可 — permit, "quoted", comma' in [r["summary"] for r in rows]
        assert all(hidden.id not in (r["actor_org_id"], r["subject_org_id"]) for r in rows)
        owners_rows = list(
            csv.DictReader(
                io.StringIO(
                    (
                        await client.get(
                            f"/api/v1/trades/{trade['id']}/timeline.csv", headers=owner.headers
                        )
                    ).text.lstrip("\ufeff")
                )
            )
        )
        assert any(hidden.id == r["subject_org_id"] for r in owners_rows)
        kinds = await client.get(
            f"/api/v1/trades/{trade['id']}/timeline.csv",
            params={"kind": "naccs.output_received"},
            headers=owner.headers,
        )
        assert len(list(csv.DictReader(io.StringIO(kinds.text.lstrip("\ufeff"))))) == 1

    async def test_csv_export_of_many_entries_spans_pages(
        self, client: httpx.AsyncClient, create_trade: Any, make_org: Any, db_session: AsyncSession
    ) -> None:
        owner = make_org("owner")
        trade = await create_trade(owner)
        await db_session.execute(
            text(
                "INSERT INTO timeline_entry (id, trade_id, occurred_at, recorded_at, kind, summary, source, event_id)"
                " SELECT gen_random_uuid(), :t, CAST(:at AS timestamptz) + make_interval(secs => n), CAST(:at AS timestamptz), 'bulk', 'n' || n, 'test', 'e' || n || :suffix"
                " FROM generate_series(1, 1234) AS n"
            ),
            {
                "t": uuid.UUID(trade["id"]),
                "suffix": trade["id"],
                "at": datetime(2026, 12, 1, tzinfo=UTC),
            },
        )
        response = await client.get(
            f"/api/v1/trades/{trade['id']}/timeline.csv",
            params={"kind": "bulk"},
            headers=owner.headers,
        )
        rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
        assert [r["summary"] for r in rows] == [f"n{n}" for n in range(1, 1235)]


class TestAppendOnly:
    @pytest.mark.parametrize(
        "statement", ["UPDATE timeline_entry SET summary = 'x'", "DELETE FROM timeline_entry"]
    )
    async def test_the_database_refuses_to_rewrite_history(
        self, create_trade: Any, make_org: Any, db_session: AsyncSession, statement: str
    ) -> None:
        await create_trade(make_org("owner"))
        with pytest.raises(DBAPIError, match="append-only"):
            async with db_session.begin_nested():
                await db_session.execute(text(statement))


class TestSummaries:
    async def test_known_events_without_summary_read_well(
        self,
        client: httpx.AsyncClient,
        create_trade: Any,
        make_org: Any,
        service_headers: dict[str, str],
    ) -> None:
        owner = make_org("owner")
        trade = await create_trade(owner)
        incoming = [
            event(
                trade["id"],
                "form.sent",
                form_type="UL040",
                actor={"org_id": owner.id, "user_id": "u"},
            ),
            {
                **event(
                    trade["id"], "naccs.permit", direction="export", declaration_no="1234567890"
                ),
                "source": "naccs_bridge",
            },
            event(trade["id"], "shared_items.locked", form_type="UL050", paths=["vessel.name"]),
            event(trade["id"], "naccs.result"),  # a field is missing: the type stands in
            event(trade["id"], "something.new"),
        ]
        for item in incoming:
            assert (
                await client.post("/internal/events", json=item, headers=service_headers)
            ).status_code == 201
        items = (
            await client.get(
                f"/api/v1/trades/{trade['id']}/timeline",
                params={
                    "kind": [
                        "form.sent",
                        "naccs.permit",
                        "shared_items.locked",
                        "naccs.result",
                        "something.new",
                    ]
                },
                headers=owner.headers,
            )
        ).json()["items"]
        assert [i["summary"] for i in items] == [
            "Form UL040 sent",
            "Customs permit (export) for declaration 1234567890",
            "Shared items locked by UL050",
            "naccs.result",
            "something.new",
        ]
