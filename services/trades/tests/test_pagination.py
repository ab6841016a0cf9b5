"""Keyset pagination of the trade list: no duplicates or gaps under inserts, and an index-only plan.

The list is an ordered scan of ``ix_trade_participant_org_listing`` (org_id, trade_created_at DESC,
trade_id DESC) WHERE status = 'active', joined to ``trade`` by primary key and cut by LIMIT: its cost
grows with the page size, not with the number of trades. The EXPLAIN test below shows that plan on
100,000 trades; the same plan holds at a million (the index is a B-tree on the organisation first).
Measured on PostgreSQL 16, 100,000 trades, 5,000 of them the organisation's::

    Limit  (cost=0.83..213.03 rows=51)
      ->  Nested Loop
            ->  Index Only Scan using ix_trade_participant_org_listing on trade_participant
                  Index Cond: ((org_id = '...') AND (ROW(trade_created_at, trade_id) < ROW(...)))
            ->  Index Scan using pk_trade on trade
                  Index Cond: (id = trade_participant.trade_id)
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from trades.db.repositories import TradeFilters, trade_list_statement


async def all_pages(
    client: httpx.AsyncClient, headers: dict[str, str], params: dict[str, Any]
) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        response = await client.get(
            "/api/v1/trades",
            params={**params, **({"cursor": cursor} if cursor else {})},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([t["id"] for t in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


class TestKeysetPagination:
    async def test_pages_have_no_duplicates_or_gaps_while_trades_are_created(
        self, client: httpx.AsyncClient, create_trade: Any, make_org: Any
    ) -> None:
        owner = make_org("owner")
        existing = [(await create_trade(owner, bl_no=f"BL{n}"))["id"] for n in range(23)]
        seen: list[str] = []
        cursor = None
        created_meanwhile = []
        while True:
            params: dict[str, Any] = {"limit": 5, **({"cursor": cursor} if cursor else {})}
            body = (await client.get("/api/v1/trades", params=params, headers=owner.headers)).json()
            seen.extend(t["id"] for t in body["items"])
            # Someone creates a trade between two page requests.
            created_meanwhile.append((await create_trade(owner))["id"])
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen))
        assert seen == list(reversed(existing))  # newest first, every one exactly once
        assert not set(created_meanwhile) & set(seen)
        # A fresh listing starts with the newest.
        first = (
            await client.get("/api/v1/trades", params={"limit": 1}, headers=owner.headers)
        ).json()
        assert first["items"][0]["id"] == created_meanwhile[-1]

    async def test_filters_hold_across_pages(
        self, client: httpx.AsyncClient, create_trade: Any, make_org: Any
    ) -> None:
        owner = make_org("owner")
        imports = []
        for n in range(12):
            if n % 3 == 0:
                imports.append(
                    (await create_trade(owner, direction="import", owner_role="consignee"))["id"]
                )
            else:
                await create_trade(owner, etd=f"2026-12-{n + 1:02d}", eta=None)
        pages = await all_pages(client, owner.headers, {"direction": "import", "limit": 2})
        assert [i for page in pages for i in page] == list(reversed(imports))
        december = await all_pages(
            client,
            owner.headers,
            {"etd_from": "2026-12-05", "etd_to": "2026-12-09", "direction": "export", "limit": 2},
        )
        assert sum(len(p) for p in december) == 4  # 5, 6, 8, 9 (7 is an import)

    async def test_free_text_status_and_vessel_filters(
        self, client: httpx.AsyncClient, create_trade: Any, make_org: Any
    ) -> None:
        owner = make_org("owner")
        target = await create_trade(
            owner,
            bl_no="HLCUTYO2611",
            vessel={"call_sign": "9V1234", "name": "EVER GIVEN"},
            voyage_no="77W",
        )
        await create_trade(owner)
        for params in (
            {"q": "hlcutyo"},
            {"q": "ever giv"},
            {"vessel_call_sign": "9v1234", "voyage_no": "77W"},
            {"q": target["trade_no"]},
        ):
            found = (
                await client.get("/api/v1/trades", params=params, headers=owner.headers)
            ).json()["items"]
            assert [t["id"] for t in found] == [target["id"]], params
        drafts = (
            await client.get(
                "/api/v1/trades", params={"status": ["draft", "booked"]}, headers=owner.headers
            )
        ).json()
        assert len(drafts["items"]) == 2

    async def test_several_statuses_merge_newest_first_across_pages(
        self, client: httpx.AsyncClient, create_trade: Any, make_org: Any, etag: Any
    ) -> None:
        # Several statuses are one ordered scan per status, merged: the pages must still be one
        # newest-first sequence, each trade once (also when a status is repeated in the query).
        owner = make_org("owner")
        path = ("draft", "booked", "documents")
        expected = []
        for n in range(10):
            trade = await create_trade(owner)
            target = path[n % 3]
            for status in path[1 : path.index(target) + 1]:
                moved = await client.post(
                    f"/api/v1/trades/{trade['id']}/status",
                    json={"status": status},
                    headers={**owner.headers, "If-Match": await etag(trade["id"], owner)},
                )
                assert moved.status_code == 200, moved.text
            if target != "draft":
                expected.append(trade["id"])
        pages = await all_pages(
            client,
            owner.headers,
            {"status": ["documents", "booked", "documents"], "direction": "export", "limit": 3},
        )
        assert [i for page in pages for i in page] == list(reversed(expected))
        assert [len(page) for page in pages] == [3, 3]

    async def test_status_filter_follows_status_changes_for_every_participant(
        self,
        client: httpx.AsyncClient,
        create_trade: Any,
        make_org: Any,
        join: Any,
        etag: Any,
    ) -> None:
        # The filter reads the participant row's copy of the status (trades0006): it must move
        # with the trade, for the owner and for an organisation that joined before the change.
        owner, forwarder = make_org("owner"), make_org("forwarder")
        trade = await create_trade(owner)
        await join(trade, owner, forwarder, "forwarder")
        moved = await client.post(
            f"/api/v1/trades/{trade['id']}/status",
            json={"status": "booked"},
            headers={**owner.headers, "If-Match": await etag(trade["id"], owner)},
        )
        assert moved.status_code == 200, moved.text
        for org in (owner, forwarder):
            for status, expected in (("booked", [trade["id"]]), ("draft", [])):
                listed = await client.get(
                    "/api/v1/trades", params={"status": status}, headers=org.headers
                )
                assert [t["id"] for t in listed.json()["items"]] == expected, (org.name, status)

    async def test_etd_window_follows_etd_changes_for_every_participant(
        self,
        client: httpx.AsyncClient,
        create_trade: Any,
        make_org: Any,
        join: Any,
        etag: Any,
    ) -> None:
        # The ETD window reads the participant row's copy of the ETD (trades0007).
        owner, forwarder = make_org("owner"), make_org("forwarder")
        trade = await create_trade(owner, etd="2026-12-05", eta="2027-01-20")
        await join(trade, owner, forwarder, "forwarder")
        moved = await client.patch(
            f"/api/v1/trades/{trade['id']}",
            json={"etd": "2027-01-15"},
            headers={**owner.headers, "If-Match": await etag(trade["id"], owner)},
        )
        assert moved.status_code == 200, moved.text
        for org in (owner, forwarder):
            for window, expected in (
                (("2027-01-10", "2027-01-20"), [trade["id"]]),
                (("2026-12-01", "2026-12-10"), []),
            ):
                listed = await client.get(
                    "/api/v1/trades",
                    params={"etd_from": window[0], "etd_to": window[1]},
                    headers=org.headers,
                )
                assert [t["id"] for t in listed.json()["items"]] == expected, (org.name, window)


class TestListingPlan:
    async def test_explain_uses_the_listing_index_without_sorting(
        self, db_session: AsyncSession
    ) -> None:
        org = f"org-big-{uuid.uuid4().hex[:8]}"
        # 100,000 trades; 5,000 of them are the organisation's.
        await db_session.execute(
            text(
                """
                WITH t AS (
                    INSERT INTO trade (id, trade_no, direction, status, owner_org_id, created_at,
                                       updated_at, created_by_user_id, version)
                    SELECT gen_random_uuid(), 'P' || :tag || n, 'export', 'draft',
                           CASE WHEN n % 20 = 0 THEN :org ELSE 'org-other-' || (n % 997) END,
                           CAST(:t0 AS timestamptz) + make_interval(secs => n),
                           CAST(:t0 AS timestamptz), 'u', 1
                    FROM generate_series(1, 100000) AS n
                    RETURNING id, owner_org_id, created_at
                )
                INSERT INTO trade_participant (id, trade_id, org_id, display_name, role, status, hidden,
                                               is_owner, trade_created_at, invited_at)
                SELECT gen_random_uuid(), id, owner_org_id, 'x', 'shipper', 'active', false, true,
                       created_at, created_at
                FROM t
                """
            ),
            {"org": org, "tag": org[-6:], "t0": datetime(2020, 1, 1, tzinfo=UTC)},
        )
        await db_session.execute(text("ANALYZE trade"))
        await db_session.execute(text("ANALYZE trade_participant"))

        async def plan(filters: TradeFilters, after: tuple[datetime, uuid.UUID] | None) -> str:
            statement, parameters = trade_list_statement(
                org_id=org, filters=filters, after=after, limit=51
            )
            compiled = statement.params(parameters).compile(
                dialect=db_session.bind.dialect, compile_kwargs={"render_postcompile": True}
            )
            values = tuple(compiled.params[name] for name in compiled.positiontup or ())
            connection = await db_session.connection()
            explained = await connection.exec_driver_sql(f"EXPLAIN {compiled}", values)
            return "\n".join(row[0] for row in explained)

        newest = await plan(TradeFilters(), (datetime(2020, 1, 2, tzinfo=UTC), uuid.UUID(int=0)))
        assert "ix_trade_participant_org_listing" in newest, newest
        assert "Sort" not in newest, newest
        assert "Seq Scan" not in newest, newest
        # A status filter reads the organisation's rows in that status from their own index, in
        # order: no scan of every trade in that status, no walk through the organisation's others.
        customs = await plan(TradeFilters(statuses=["customs"]), None)
        assert "ix_trade_participant_org_status_listing" in customs, customs
        assert "Sort" not in customs, customs
        assert "Seq Scan" not in customs, customs
        # An ETD window is one range scan of the organisation's rows in it, and only the window's
        # keys are sorted: no trade is read before the page is cut.
        window = await plan(TradeFilters(etd_from=date(2026, 6, 1), etd_to=date(2026, 6, 14)), None)
        assert "Index Only Scan using ix_trade_participant_org_etd" in window, window
        assert "Seq Scan" not in window, window
        # Two statuses: one ordered scan per status, merged, never sorted (every trade here is a
        # draft, so the draft branch may as well walk the plain listing).
        two = await plan(TradeFilters(statuses=["customs", "draft"]), None)
        assert "Merge Append" in two, two
        assert "ix_trade_participant_org_status_listing" in two, two
        assert "Sort" not in two.replace("Sort Key", ""), two
        assert "Seq Scan" not in two, two


class TestCopyTriggers:
    async def test_their_lookups_are_planned_for_the_table_as_it_is(
        self, db_session: AsyncSession
    ) -> None:
        # A generic plan cached while ``trade`` was tiny is a sequential scan, kept as the table
        # grows: a bulk insert of participants then scans every trade per row (trades0008).
        rows = await db_session.execute(
            text(
                "SELECT proname, proconfig FROM pg_proc WHERE proname IN ("
                "'trade_participant_fill_trade_status', 'trade_participant_fill_trade_etd', "
                "'trade_status_to_participants', 'trade_etd_to_participants')"
            )
        )
        config: dict[str, list[str] | None] = {row[0]: row[1] for row in rows}
        assert len(config) == 4
        for name, settings in config.items():
            assert "plan_cache_mode=force_custom_plan" in (settings or []), name
