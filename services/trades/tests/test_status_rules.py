"""Events from other services move the trade along its lifecycle (status rules are data)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx


def event(trade_id: str, type_: str, source: str, **data: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": type_,
        "version": 1,
        "occurred_at": "2026-11-22T09:30:00Z",
        "source": source,
        "trade_id": trade_id,
        "data": data,
    }


async def status_of(client: httpx.AsyncClient, trade_id: str, org: Any) -> tuple[str, str]:
    response = await client.get(f"/api/v1/trades/{trade_id}", headers=org.headers)
    return response.json()["status"], response.headers["etag"]


class TestStatusRules:
    async def test_export_permit_clears_the_trade_once(
        self,
        client: httpx.AsyncClient,
        create_trade: Any,
        make_org: Any,
        service_headers: dict[str, str],
    ) -> None:
        owner = make_org("owner")
        trade = await create_trade(owner)
        _, read_before = await status_of(client, trade["id"], owner)
        booking = event(trade["id"], "form.sent", "forms", form_type="UL050")
        assert (
            await client.post("/internal/events", json=booking, headers=service_headers)
        ).json()["status"] == "booked"
        permit = event(
            trade["id"], "naccs.permit", "naccs_bridge", direction="export", declaration_no="1"
        )
        first = await client.post("/internal/events", json=permit, headers=service_headers)
        assert first.json()["status"] == "cleared"
        replay = await client.post("/internal/events", json=permit, headers=service_headers)
        assert replay.json()["status"] is None
        status, _ = await status_of(client, trade["id"], owner)
        assert status == "cleared"
        # A user who read before the events must re-read: their ETag is stale.
        stale = await client.patch(
            f"/api/v1/trades/{trade['id']}",
            json={"voyage_no": "X"},
            headers={**owner.headers, "If-Match": read_before},
        )
        assert stale.status_code == 412
        changes = (
            await client.get(
                f"/api/v1/trades/{trade['id']}/timeline",
                params={"kind": "trade.status_changed"},
                headers=owner.headers,
            )
        ).json()["items"]
        assert [(c["before"]["status"], c["after"]["status"]) for c in changes] == [
            ("draft", "booked"),
            ("booked", "cleared"),
        ]
        assert changes[1]["actor_org_id"] is None
        assert changes[1]["summary"] == "Status booked → cleared (naccs.permit from naccs_bridge)"

    async def test_rules_respect_direction_and_current_status(
        self,
        client: httpx.AsyncClient,
        create_trade: Any,
        make_org: Any,
        service_headers: dict[str, str],
    ) -> None:
        owner = make_org("owner")
        imported = await create_trade(owner, direction="import", owner_role="consignee")
        early = event(imported["id"], "naccs.permit", "naccs_bridge", direction="import")
        # An import trade still in draft (cargo not arrived) is not moved by a permit.
        assert (await client.post("/internal/events", json=early, headers=service_headers)).json()[
            "status"
        ] is None
        exported = await create_trade(owner)
        await client.post(
            f"/api/v1/trades/{exported['id']}/status",
            json={"status": "cancelled"},
            headers={**owner.headers, "If-Match": "*"},
        )
        late = event(exported["id"], "naccs.permit", "naccs_bridge", direction="export")
        assert (await client.post("/internal/events", json=late, headers=service_headers)).json()[
            "status"
        ] is None
        assert (await status_of(client, exported["id"], owner))[0] == "cancelled"
