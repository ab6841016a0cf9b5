"""Audiences from the trades service's own events, as today's trades service sends them (no
participants API: the membership is projected here from trade.created and participant.* events, and
``audience_org_ids`` in the payload narrows who hears of an event)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from notifications.domain.membership import decide_audience

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.fixture
def trades(trades: Any) -> Any:
    trades.participants_api = False  # like the trades service as built today
    return trades


def trades_event(
    topic: str,
    trade_id: uuid.UUID,
    data: dict[str, Any],
    *,
    at: datetime,
    audience: list[str] | None = None,
) -> dict[str, Any]:
    """The envelope shape of shared.outbox.EventEnvelope.as_json() with a trades payload."""
    return {
        "id": str(uuid.uuid4()),
        "type": topic,
        "version": 1,
        "occurred_at": at.isoformat(),
        "source": "trades",
        "trade_id": str(trade_id),
        "data": {
            **data,
            "actor": {"user_id": "u1", "org_id": "org-owner"},
            "audience_org_ids": audience,
        },
    }


def participant(org: str, status: str, *, hidden: bool = False) -> dict[str, Any]:
    return {
        "trade_no": "T-0001",
        "org_id": org,
        "display_name": org,
        "role": "broker",
        "hidden": hidden,
        "sponsor_org_id": "org-owner" if hidden else None,
        "status": status,
    }


async def post(client: httpx.AsyncClient, tokens: Any, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/internal/events", json=body, headers=tokens.service())
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def seen_by(client: httpx.AsyncClient, tokens: Any, org: str) -> list[str]:
    response = await client.get(
        "/api/v1/notifications/events", headers=tokens.issuer.auth(kind="user", org_id=org)
    )
    return [e["type"] for e in response.json()["items"]]


class TestProjectedMembership:
    async def test_invite_join_leave_and_who_hears_what(
        self, client: httpx.AsyncClient, tokens: Any
    ) -> None:
        trade = uuid.uuid4()
        created = trades_event(
            "trade.created",
            trade,
            {"trade_no": "T-0001", "owner_org_id": "org-owner", "status": "draft"},
            at=T0,
        )
        assert (await post(client, tokens, created))["audience_size"] == 1
        await post(
            client,
            tokens,
            trades_event(
                "participant.invited",
                trade,
                participant("org-b", "invited"),
                at=T0 + timedelta(seconds=1),
            ),
        )
        await post(
            client,
            tokens,
            trades_event(
                "trade.updated", trade, {"trade_no": "T-0001"}, at=T0 + timedelta(seconds=2)
            ),
        )
        # The invitee hears of its invitation, not of the trade's other events.
        assert await seen_by(client, tokens, "org-b") == ["participant.invited"]

        await post(
            client,
            tokens,
            trades_event(
                "participant.added",
                trade,
                participant("org-b", "active"),
                at=T0 + timedelta(seconds=3),
            ),
        )
        await post(
            client,
            tokens,
            trades_event(
                "trade.status_changed", trade, {"status": "open"}, at=T0 + timedelta(seconds=4)
            ),
        )
        assert await seen_by(client, tokens, "org-b") == [
            "participant.invited",
            "participant.added",
            "trade.status_changed",
        ]

        removed = trades_event(
            "participant.removed",
            trade,
            participant("org-b", "removed"),
            at=T0 + timedelta(seconds=5),
        )
        assert (await post(client, tokens, removed))["audience_size"] == 2  # it is told, too
        await post(
            client,
            tokens,
            trades_event(
                "trade.updated", trade, {"trade_no": "T-0001"}, at=T0 + timedelta(seconds=6)
            ),
        )
        assert (await seen_by(client, tokens, "org-b"))[-1] == "participant.removed"
        assert (await seen_by(client, tokens, "org-owner")).count("trade.updated") == 2

    async def test_a_late_older_event_does_not_bring_a_removed_participant_back(
        self, client: httpx.AsyncClient, tokens: Any
    ) -> None:
        trade = uuid.uuid4()
        await post(
            client,
            tokens,
            trades_event("trade.created", trade, {"owner_org_id": "org-owner"}, at=T0),
        )
        await post(
            client,
            tokens,
            trades_event(
                "participant.removed",
                trade,
                participant("org-c", "removed"),
                at=T0 + timedelta(minutes=2),
            ),
        )
        await post(
            client,
            tokens,
            trades_event(
                "participant.added",
                trade,
                participant("org-c", "active"),
                at=T0 + timedelta(minutes=1),
            ),
        )
        result = await post(
            client, tokens, trades_event("trade.updated", trade, {}, at=T0 + timedelta(minutes=3))
        )
        assert result["audience_size"] == 1

    async def test_audience_org_ids_from_trades_narrow_the_audience(
        self, client: httpx.AsyncClient, tokens: Any
    ) -> None:
        trade = uuid.uuid4()
        await post(
            client,
            tokens,
            trades_event("trade.created", trade, {"owner_org_id": "org-owner"}, at=T0),
        )
        for org in ("org-x", "org-y"):
            await post(
                client,
                tokens,
                trades_event(
                    "participant.added",
                    trade,
                    participant(org, "active"),
                    at=T0 + timedelta(seconds=1),
                ),
            )
        # A hidden participant: trades sends it and its sponsor as the audience.
        await post(
            client,
            tokens,
            trades_event(
                "participant.added",
                trade,
                participant("org-hidden", "active", hidden=True),
                at=T0 + timedelta(seconds=2),
                audience=["org-hidden", "org-owner"],
            ),
        )
        task = trades_event(
            "task.assigned",
            trade,
            {"task_id": str(uuid.uuid4()), "title": "Book truck", "assignee_org_id": "org-x"},
            at=T0 + timedelta(seconds=3),
            audience=["org-x", "org-owner", "org-not-in-trade"],
        )
        assert (await post(client, tokens, task))["audience_size"] == 2
        assert "participant.added" in await seen_by(client, tokens, "org-owner")
        assert await seen_by(client, tokens, "org-y") == ["participant.added"]  # its own joining
        assert "task.assigned" in await seen_by(client, tokens, "org-x")
        assert await seen_by(client, tokens, "org-not-in-trade") == []
        # The hidden participant sees the trade's events from when it joined.
        await post(
            client, tokens, trades_event("trade.updated", trade, {}, at=T0 + timedelta(seconds=4))
        )
        assert (await seen_by(client, tokens, "org-hidden"))[-1] == "trade.updated"

    async def test_the_log_of_a_trade_asks_the_trades_service_about_access(
        self, client: httpx.AsyncClient, tokens: Any, trades: Any
    ) -> None:
        trade = uuid.uuid4()
        await post(
            client,
            tokens,
            trades_event("trade.created", trade, {"owner_org_id": "org-owner"}, at=T0),
        )
        # The trades service says org-owner is no longer a participant: the log is closed to it.
        trades.participants[trade] = []
        response = await client.get(
            "/api/v1/notifications/events",
            params={"trade_id": str(trade)},
            headers=tokens.issuer.auth(kind="user", org_id="org-owner"),
        )
        assert response.status_code == 404
        trades.participants[trade] = [{"org_id": "org-owner", "hidden": False}]
        response = await client.get(
            "/api/v1/notifications/events",
            params={"trade_id": str(trade)},
            headers=tokens.issuer.auth(kind="user", org_id="org-owner"),
        )
        assert [e["type"] for e in response.json()["items"]] == ["trade.created"]


class TestDecideAudience:
    def test_events_without_a_trade_go_to_exactly_the_declared_orgs(self) -> None:
        assert decide_audience(
            participants=None, event_type="vessel_schedule.updated", data={}, requested=["b", "a"]
        ) == ["a", "b"]
        assert (
            decide_audience(
                participants=None, event_type="vessel_schedule.updated", data={}, requested=None
            )
            == []
        )
