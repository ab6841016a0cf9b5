"""Trades over HTTP: creation and validation, reads with ETag, edits with If-Match, status, lookups."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from trades.domain import lifecycle


async def written_for(session: AsyncSession, org_id: str) -> dict[str, int]:
    """Rows a request by ``org_id`` may have left: trades, outbox events, timeline entries."""
    trades = await session.scalar(
        text("SELECT count(*) FROM trade WHERE owner_org_id = :o"), {"o": org_id}
    )
    events = await session.scalar(
        text("SELECT count(*) FROM outbox_message WHERE payload->'actor'->>'org_id' = :o"),
        {"o": org_id},
    )
    entries = await session.scalar(
        text("SELECT count(*) FROM timeline_entry WHERE actor_org_id = :o"), {"o": org_id}
    )
    return {"trades": int(trades or 0), "events": int(events or 0), "timeline": int(entries or 0)}


class TestCreateTrade:
    async def test_export_trade_gets_a_numbered_draft_and_an_etag(
        self,
        client: httpx.AsyncClient,
        make_org: Any,
        new_trade_body: Any,
        db_session: AsyncSession,
    ) -> None:
        owner = make_org("shipper")
        response = await client.post("/api/v1/trades", json=new_trade_body(), headers=owner.headers)
        assert response.status_code == 201
        trade = response.json()
        assert trade["trade_no"].startswith("EXP-2026-")
        assert len(trade["trade_no"]) == len("EXP-2026-000123")
        assert trade["status"] == "draft"
        assert trade["owner_org_id"] == owner.id
        assert trade["my_role"] == "shipper"
        assert trade["containers"] == [
            {"container_no": "MSCU6634879", "size_type": "45G1", "seal_no": "SL123"}
        ]
        assert response.headers["etag"] == f'"{trade["id"]}-1"'
        assert response.headers["location"] == f"/api/v1/trades/{trade['id']}"
        assert await written_for(db_session, owner.id) == {"trades": 1, "events": 1, "timeline": 1}

    async def test_import_trade_number_has_its_own_prefix(
        self, create_trade: Any, make_org: Any
    ) -> None:
        trade = await create_trade(make_org("importer"), direction="import", owner_role="consignee")
        assert trade["trade_no"].startswith("IMP-2026-")

    async def test_codes_are_normalised(self, create_trade: Any, make_org: Any) -> None:
        trade = await create_trade(
            make_org("s"),
            bl_no="oneytyo 1".replace(" ", ""),
            carrier_scac="oney",
            port_of_loading="jp tyo",
            containers=[{"container_no": "mscu 663487-9"}],
        )
        assert trade["bl_no"] == "ONEYTYO1"
        assert trade["carrier_scac"] == "ONEY"
        assert trade["port_of_loading"] == "JPTYO"
        assert trade["containers"][0]["container_no"] == "MSCU6634879"

    @pytest.mark.parametrize(
        ("overrides", "field", "error_type"),
        [
            ({"port_of_discharge": "XXABC"}, "port_of_discharge", "locode_format"),
            ({"place_of_delivery": "USQQQ"}, "place_of_delivery", "locode_unknown"),
            (
                {"containers": [{"container_no": "MSCU6634871"}]},
                "containers.0.container_no",
                "container_number_check_digit",
            ),
            ({"bl_no": "B" * 36}, "bl_no", "string_too_long"),
            ({"carrier_scac": "ON1"}, "carrier_scac", "scac_format"),
            (
                {"containers": [{"container_no": "MSCU6634879", "size_type": "99ZZ"}]},
                "containers.0.size_type",
                "size_type_code",
            ),
            ({"vessel": {"call_sign": "7J"}}, "vessel.call_sign", "call_sign_format"),
            ({"unexpected": 1}, "unexpected", "extra_forbidden"),
        ],
    )
    async def test_invalid_codes_are_problems_naming_the_field_and_write_nothing(
        self,
        client: httpx.AsyncClient,
        make_org: Any,
        new_trade_body: Any,
        db_session: AsyncSession,
        overrides: dict[str, Any],
        field: str,
        error_type: str,
    ) -> None:
        owner = make_org("shipper")
        response = await client.post(
            "/api/v1/trades", json=new_trade_body(**overrides), headers=owner.headers
        )
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        errors = response.json()["errors"]
        assert [(e["field"], e["type"]) for e in errors] == [(field, error_type)]
        assert await written_for(db_session, owner.id) == {"trades": 0, "events": 0, "timeline": 0}

    async def test_booking_number_needs_its_carrier(
        self, client: httpx.AsyncClient, make_org: Any, new_trade_body: Any
    ) -> None:
        response = await client.post(
            "/api/v1/trades",
            json=new_trade_body(carrier_scac=None),
            headers=make_org("s").headers,
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["type"] == "booking_needs_carrier"

    async def test_house_reference_is_unique_per_owner(
        self, client: httpx.AsyncClient, create_trade: Any, make_org: Any, new_trade_body: Any
    ) -> None:
        owner, other = make_org("a"), make_org("b")
        await create_trade(owner, owner_reference="PO-77")
        await create_trade(other, owner_reference="PO-77")  # another organisation's key space
        response = await client.post(
            "/api/v1/trades", json=new_trade_body(owner_reference="PO-77"), headers=owner.headers
        )
        assert response.status_code == 409
        assert response.json()["code"] == "duplicate_house_reference"

    async def test_service_tokens_and_org_less_users_are_refused(
        self,
        client: httpx.AsyncClient,
        new_trade_body: Any,
        service_headers: dict[str, str],
        token_issuer: Any,
    ) -> None:
        for headers in (service_headers, token_issuer.auth(subject="lonely")):
            response = await client.post("/api/v1/trades", json=new_trade_body(), headers=headers)
            assert response.status_code == 403
            assert response.json()["code"] == "organisation_required"

    async def test_requires_a_token(self, client: httpx.AsyncClient, new_trade_body: Any) -> None:
        response = await client.post("/api/v1/trades", json=new_trade_body())
        assert response.status_code == 401


class TestUpdateTrade:
    async def test_edit_with_current_etag_bumps_the_version(
        self, client: httpx.AsyncClient, create_trade: Any, make_org: Any, etag: Any
    ) -> None:
        owner = make_org("s")
        trade = await create_trade(owner)
        response = await client.patch(
            f"/api/v1/trades/{trade['id']}",
            json={"voyage_no": "013E", "vessel": {"name": "ONE HAMBURG"}},
            headers={**owner.headers, "If-Match": await etag(trade["id"], owner)},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["voyage_no"] == "013E"
        assert body["vessel"] == {"call_sign": "7JDC", "name": "ONE HAMBURG"}
        assert body["version"] == 2
        assert response.headers["etag"] == f'"{trade["id"]}-2"'
        timeline = await client.get(
            f"/api/v1/trades/{trade['id']}/timeline",
            params={"kind": "trade.updated"},
            headers=owner.headers,
        )
        [entry] = timeline.json()["items"]
        assert entry["before"] == {"voyage_no": "012E", "vessel_name": "ONE HARMONY"}
        assert entry["after"] == {"voyage_no": "013E", "vessel_name": "ONE HAMBURG"}

    async def test_missing_if_match_is_428(
        self, client: httpx.AsyncClient, create_trade: Any, make_org: Any
    ) -> None:
        owner = make_org("s")
        trade = await create_trade(owner)
        response = await client.patch(
            f"/api/v1/trades/{trade['id']}", json={"voyage_no": "1"}, headers=owner.headers
        )
        assert response.status_code == 428
        assert response.json()["code"] == "precondition_required"

    async def test_second_edit_from_the_same_read_is_412(
        self, client: httpx.AsyncClient, create_trade: Any, make_org: Any, etag: Any
    ) -> None:
        owner = make_org("s")
        trade = await create_trade(owner)
        read = await etag(trade["id"], owner)
        url = f"/api/v1/trades/{trade['id']}"
        first = await client.patch(
            url, json={"voyage_no": "A1"}, headers={**owner.headers, "If-Match": read}
        )
        second = await client.patch(
            url, json={"voyage_no": "B2"}, headers={**owner.headers, "If-Match": read}
        )
        assert first.status_code == 200
        assert second.status_code == 412
        assert second.json()["current_etag"] == first.headers["etag"]
        got = await client.get(url, headers=owner.headers)
        assert got.json()["voyage_no"] == "A1"

    async def test_wildcard_if_match_overwrites_knowingly(
        self, client: httpx.AsyncClient, create_trade: Any, make_org: Any
    ) -> None:
        owner = make_org("s")
        trade = await create_trade(owner)
        response = await client.patch(
            f"/api/v1/trades/{trade['id']}",
            json={"etd": "2026-12-02"},
            headers={**owner.headers, "If-Match": "*"},
        )
        assert response.status_code == 200

    async def test_invalid_edit_names_the_field_and_changes_nothing(
        self, client: httpx.AsyncClient, create_trade: Any, make_org: Any, etag: Any
    ) -> None:
        owner = make_org("s")
        trade = await create_trade(owner)
        response = await client.patch(
            f"/api/v1/trades/{trade['id']}",
            json={"port_of_loading": "JPXXX9", "voyage_no": "X"},
            headers={**owner.headers, "If-Match": await etag(trade["id"], owner)},
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "port_of_loading"
        assert (await etag(trade["id"], owner)).endswith('-1"')

    async def test_containers_are_replaced(
        self, client: httpx.AsyncClient, create_trade: Any, make_org: Any, etag: Any
    ) -> None:
        owner = make_org("s")
        trade = await create_trade(owner)
        response = await client.patch(
            f"/api/v1/trades/{trade['id']}",
            json={
                "containers": [
                    {"container_no": "TCLU7654320", "size_type": "22G1"},
                    {"container_no": "CSQU3054383"},
                ]
            },
            headers={**owner.headers, "If-Match": await etag(trade["id"], owner)},
        )
        assert response.status_code == 200, response.text
        assert [c["container_no"] for c in response.json()["containers"]] == [
            "TCLU7654320",
            "CSQU3054383",
        ]
        found = await client.get(
            "/api/v1/trades", params={"q": "TCLU7654320"}, headers=owner.headers
        )
        assert [t["id"] for t in found.json()["items"]] == [trade["id"]]
        cleared = await client.patch(
            f"/api/v1/trades/{trade['id']}",
            json={"containers": None},
            headers={**owner.headers, "If-Match": response.headers["etag"]},
        )
        assert cleared.json()["containers"] == []


class TestHouseReferencePrivacy:
    async def test_only_the_owner_sees_it_even_in_history(
        self, client: httpx.AsyncClient, create_trade: Any, join: Any, make_org: Any
    ) -> None:
        owner, forwarder = make_org("owner"), make_org("fwd")
        trade = await create_trade(owner, owner_reference="PO-SECRET-1")
        await join(trade, owner, forwarder, "forwarder")
        url = f"/api/v1/trades/{trade['id']}"
        changed = await client.patch(
            url, json={"owner_reference": "PO-SECRET-2"}, headers={**owner.headers, "If-Match": "*"}
        )
        assert changed.json()["owner_reference"] == "PO-SECRET-2"
        assert (await client.get(url, headers=forwarder.headers)).json()["owner_reference"] is None
        refused = await client.patch(
            url, json={"owner_reference": "MINE"}, headers={**forwarder.headers, "If-Match": "*"}
        )
        assert refused.status_code == 403
        history = await client.get(f"{url}/timeline.csv", headers=forwarder.headers)
        assert "PO-SECRET" not in history.text
        assert "owner_reference" in history.text


class TestChangeStatus:
    async def test_follows_the_export_lifecycle(
        self, client: httpx.AsyncClient, create_trade: Any, make_org: Any, etag: Any
    ) -> None:
        owner = make_org("s")
        trade = await create_trade(owner)
        url = f"/api/v1/trades/{trade['id']}/status"
        for status in [
            "booked",
            "documents",
            "customs",
            "cleared",
            "loaded",
            "shipped",
            "arrived",
            "delivered",
            "closed",
        ]:
            response = await client.post(
                url,
                json={"status": status},
                headers={**owner.headers, "If-Match": await etag(trade["id"], owner)},
            )
            assert response.status_code == 200, response.text
            assert response.json()["status"] == status
        assert response.json()["allowed_transitions"] == []

    async def test_unknown_transition_is_a_problem_naming_status_and_writes_nothing(
        self,
        client: httpx.AsyncClient,
        create_trade: Any,
        make_org: Any,
        etag: Any,
        db_session: AsyncSession,
    ) -> None:
        owner = make_org("s")
        trade = await create_trade(owner)
        before = await written_for(db_session, owner.id)
        response = await client.post(
            f"/api/v1/trades/{trade['id']}/status",
            json={"status": "shipped"},
            headers={**owner.headers, "If-Match": await etag(trade["id"], owner)},
        )
        assert response.status_code == 422
        body = response.json()
        assert body["code"] == "invalid_status_transition"
        assert body["errors"][0]["field"] == "status"
        assert body["allowed"] == ["booked", "cancelled", "documents"]
        assert await written_for(db_session, owner.id) == before
        assert (await etag(trade["id"], owner)).endswith('-1"')

    async def test_status_that_does_not_exist_is_a_validation_problem(
        self, client: httpx.AsyncClient, create_trade: Any, make_org: Any
    ) -> None:
        owner = make_org("s")
        trade = await create_trade(owner)
        response = await client.post(
            f"/api/v1/trades/{trade['id']}/status",
            json={"status": "teleported"},
            headers={**owner.headers, "If-Match": "*"},
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "status"

    async def test_closed_trade_cannot_be_edited(
        self, client: httpx.AsyncClient, create_trade: Any, make_org: Any
    ) -> None:
        owner = make_org("s")
        trade = await create_trade(owner)
        any_version = {**owner.headers, "If-Match": "*"}
        await client.post(
            f"/api/v1/trades/{trade['id']}/status",
            json={"status": "cancelled"},
            headers=any_version,
        )
        response = await client.patch(
            f"/api/v1/trades/{trade['id']}", json={"voyage_no": "X"}, headers=any_version
        )
        assert response.status_code == 409
        assert response.json()["code"] == "trade_closed"


class TestLifecycleTable:
    @pytest.mark.parametrize("direction", list(lifecycle.Direction))
    def test_every_status_reaches_a_terminal_one(self, direction: lifecycle.Direction) -> None:
        table = lifecycle.TRANSITIONS[direction]
        reachable = {lifecycle.TradeStatus.DRAFT}
        frontier = [lifecycle.TradeStatus.DRAFT]
        while frontier:
            for target in table[frontier.pop()]:
                if target not in reachable:
                    reachable.add(target)
                    frontier.append(target)
        assert lifecycle.TERMINAL <= reachable
        for status in reachable - lifecycle.TERMINAL:
            assert table[status], f"{direction}: {status} is a dead end"

    def test_loaded_cargo_cannot_be_cancelled(self) -> None:
        assert not lifecycle.can_transition(
            lifecycle.Direction.EXPORT,
            lifecycle.TradeStatus.LOADED,
            lifecycle.TradeStatus.CANCELLED,
        )


class TestLookup:
    async def test_by_bl_by_booking_and_scac_by_house_reference(
        self, client: httpx.AsyncClient, create_trade: Any, make_org: Any
    ) -> None:
        owner = make_org("s")
        trade = await create_trade(
            owner, bl_no="LOOKUPBL1", booking_no="BKG-LOOKUP", owner_reference="REF-1"
        )
        for params in (
            {"bl_no": "lookupbl1"},
            {"booking_no": "BKG-LOOKUP", "carrier_scac": "ONEY"},
            {"house_reference": "REF-1"},
        ):
            response = await client.get(
                "/api/v1/trades/lookup", params=params, headers=owner.headers
            )
            assert response.status_code == 200, (params, response.text)
            assert response.json()["id"] == trade["id"]

    async def test_booking_without_carrier_is_refused(
        self, client: httpx.AsyncClient, make_org: Any
    ) -> None:
        response = await client.get(
            "/api/v1/trades/lookup", params={"booking_no": "X"}, headers=make_org("s").headers
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "query.carrier_scac"

    async def test_other_organisations_trades_are_not_found(
        self, client: httpx.AsyncClient, create_trade: Any, make_org: Any
    ) -> None:
        await create_trade(make_org("owner"), bl_no="SECRETBL", owner_reference="SECRET")
        stranger = make_org("stranger")
        for params in ({"bl_no": "SECRETBL"}, {"house_reference": "SECRET"}):
            response = await client.get(
                "/api/v1/trades/lookup", params=params, headers=stranger.headers
            )
            assert response.status_code == 404
