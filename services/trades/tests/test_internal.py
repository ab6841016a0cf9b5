"""Endpoints other Minato services call: the access check and the participant directory."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from trades.config import Settings


class TestAccessCheck:
    @pytest.mark.parametrize("param", ["org", "org_id"])
    async def test_answers_for_a_participant(
        self,
        client: httpx.AsyncClient,
        create_trade: Any,
        join: Any,
        make_org: Any,
        service_headers: dict[str, str],
        param: str,
    ) -> None:
        owner, forwarder, trucker = make_org("owner"), make_org("fwd"), make_org("trk")
        trade = await create_trade(owner)
        await join(trade, owner, forwarder, "forwarder")
        await join(trade, forwarder, trucker, "trucker", hidden=True)
        answer = await client.get(
            f"/internal/trades/{trade['id']}/access",
            params={param: owner.id},
            headers=service_headers,
        )
        assert answer.status_code == 200
        assert answer.json() == {
            "trade_id": trade["id"],
            "org_id": owner.id,
            "participant": True,
            "status": "active",
            "role": "shipper",
            "hidden": False,
            "is_owner": True,
            "visible_participant_org_ids": sorted([owner.id, forwarder.id]),
            "trade_no": trade["trade_no"],
        }
        sponsor = await client.get(
            f"/internal/trades/{trade['id']}/access",
            params={param: forwarder.id},
            headers=service_headers,
        )
        assert trucker.id in sponsor.json()["visible_participant_org_ids"]

    async def test_unknown_trade_is_404_and_a_stranger_is_no_participant(
        self,
        client: httpx.AsyncClient,
        create_trade: Any,
        make_org: Any,
        service_headers: dict[str, str],
    ) -> None:
        trade = await create_trade(make_org("owner"))
        stranger = await client.get(
            f"/internal/trades/{trade['id']}/access",
            params={"org": "org-nobody"},
            headers=service_headers,
        )
        assert stranger.status_code == 200
        assert stranger.json()["participant"] is False
        assert stranger.json()["trade_no"] is None  # the number is for participants only
        unknown = await client.get(
            f"/internal/trades/{uuid.uuid4()}/access",
            params={"org": "org-nobody"},
            headers=service_headers,
        )
        assert unknown.status_code == 404
        missing = await client.get(
            f"/internal/trades/{trade['id']}/access", headers=service_headers
        )
        assert missing.status_code == 422

    async def test_is_one_index_scan(
        self, create_trade: Any, make_org: Any, db_session: AsyncSession
    ) -> None:
        trade = await create_trade(make_org("owner"))
        await db_session.execute(
            text("SET LOCAL enable_seqscan = off")
        )  # tiny table: show the index
        # The statement of repositories.access_rows, with its parameters inlined.
        rows = await db_session.execute(
            text(
                "EXPLAIN SELECT org_id, role, status, hidden, is_owner, sponsor_org_id"
                " FROM trade_participant WHERE trade_id = :t AND status IN ('invited', 'active')"
            ),
            {"t": uuid.UUID(trade["id"])},
        )
        plan = "\n".join(r[0] for r in rows)
        assert "uq_trade_participant_trade_id" in plan, plan


class TestParticipantDirectory:
    async def test_lists_active_participants_with_hidden_flags(
        self,
        client: httpx.AsyncClient,
        create_trade: Any,
        join: Any,
        make_org: Any,
        service_headers: dict[str, str],
    ) -> None:
        owner, forwarder, trucker, invited = (make_org(n) for n in ("owner", "fwd", "trk", "inv"))
        trade = await create_trade(owner)
        await join(trade, owner, forwarder, "forwarder")
        await join(trade, forwarder, trucker, "trucker", hidden=True)
        await client.post(
            f"/api/v1/trades/{trade['id']}/participants",
            json={"org_id": invited.id, "display_name": "I", "role": "warehouse"},
            headers=owner.headers,
        )
        response = await client.get(
            f"/internal/trades/{trade['id']}/participants", headers=service_headers
        )
        assert response.status_code == 200
        by_org = {p["org_id"]: p for p in response.json()["participants"]}
        assert set(by_org) == {owner.id, forwarder.id, trucker.id}  # the invitation is not accepted
        assert by_org[trucker.id]["hidden"] is True
        assert by_org[trucker.id]["sponsor_org_id"] == forwarder.id
        assert by_org[forwarder.id]["roles"] == ["forwarder"]
        assert by_org[owner.id]["is_owner"] is True
        users = await client.get(
            f"/internal/trades/{trade['id']}/participants", headers=owner.headers
        )
        assert users.status_code == 403


class TestSettings:
    def test_events_go_to_notifications_unless_told_otherwise(self) -> None:
        assert (
            Settings(notifications_url="http://n:8004/").events_target
            == "http://n:8004/internal/events"
        )
        assert (
            Settings(events_url="http://e/x", notifications_url="http://n").events_target
            == "http://e/x"
        )
        assert Settings().events_target is None
