"""Tasks: assignment, overdue against the injected clock, If-Match edits, comments, rules from events."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx


def event(trade_id: str, type_: str, source: str = "forms", **data: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": type_,
        "version": 1,
        "occurred_at": "2026-11-22T09:30:00Z",
        "source": source,
        "trade_id": trade_id,
        "data": data,
    }


class TestTasks:
    async def test_assign_then_overdue_by_the_clock(
        self, client: httpx.AsyncClient, create_trade: Any, join: Any, make_org: Any, clock: Any
    ) -> None:
        owner, forwarder = make_org("owner"), make_org("fwd")
        trade = await create_trade(owner)
        await join(trade, owner, forwarder, "forwarder")
        base = f"/api/v1/trades/{trade['id']}/tasks"
        due = clock.now + timedelta(hours=2)
        created = await client.post(
            base,
            json={
                "title": "Send VGM",
                "assignee_org_id": forwarder.id,
                "assignee_user_id": "u-1",
                "due_at": due.isoformat(),
            },
            headers=owner.headers,
        )
        assert created.status_code == 201, created.text
        task = created.json()
        assert task["overdue"] is False
        assert task["status"] == "open"
        assert (
            await client.get(base, params={"overdue": True}, headers=owner.headers)
        ).json() == []
        clock.advance(timedelta(hours=3))
        overdue = (
            await client.get(base, params={"overdue": True}, headers=forwarder.headers)
        ).json()
        assert [t["id"] for t in overdue] == [task["id"]]
        assert overdue[0]["overdue"] is True

        done = await client.patch(
            f"{base}/{task['id']}",
            json={"status": "done"},
            headers={**forwarder.headers, "If-Match": created.headers["etag"]},
        )
        assert done.status_code == 200, done.text
        assert done.json()["overdue"] is False
        assert done.json()["completed_at"] is not None
        stale = await client.patch(
            f"{base}/{task['id']}",
            json={"status": "open"},
            headers={**owner.headers, "If-Match": created.headers["etag"]},
        )
        assert stale.status_code == 412
        missing = await client.patch(
            f"{base}/{task['id']}", json={"status": "open"}, headers=owner.headers
        )
        assert missing.status_code == 428

    async def test_only_participants_can_be_assigned(
        self, client: httpx.AsyncClient, create_trade: Any, make_org: Any
    ) -> None:
        owner = make_org("owner")
        trade = await create_trade(owner)
        response = await client.post(
            f"/api/v1/trades/{trade['id']}/tasks",
            json={"title": "x", "assignee_org_id": "org-nobody"},
            headers=owner.headers,
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "assignee_org_id"

    async def test_bystanders_cannot_change_others_tasks_but_can_comment(
        self, client: httpx.AsyncClient, create_trade: Any, join: Any, make_org: Any
    ) -> None:
        owner, forwarder, trucker = make_org("owner"), make_org("fwd"), make_org("trk")
        trade = await create_trade(owner)
        await join(trade, owner, forwarder, "forwarder")
        await join(trade, owner, trucker, "trucker")
        base = f"/api/v1/trades/{trade['id']}/tasks"
        task = (
            await client.post(
                base, json={"title": "t", "assignee_org_id": forwarder.id}, headers=owner.headers
            )
        ).json()
        refused = await client.patch(
            f"{base}/{task['id']}",
            json={"status": "done"},
            headers={**trucker.headers, "If-Match": "*"},
        )
        assert refused.status_code == 403
        comment = await client.post(
            f"{base}/{task['id']}/comments",
            json={"body": "truck ready 14:00"},
            headers=trucker.headers,
        )
        assert comment.status_code == 201
        detail = (await client.get(f"{base}/{task['id']}", headers=forwarder.headers)).json()
        assert [c["body"] for c in detail["comments"]] == ["truck ready 14:00"]


class TestRules:
    async def test_si_received_creates_the_ecr_task_for_the_forwarder_once(
        self,
        client: httpx.AsyncClient,
        create_trade: Any,
        join: Any,
        make_org: Any,
        service_headers: dict[str, str],
    ) -> None:
        owner, forwarder = make_org("owner"), make_org("fwd")
        trade = await create_trade(owner)
        await join(trade, owner, forwarder, "forwarder")
        si_sent = event(trade["id"], "form.sent", form_type="UL040", summary="S/I sent")
        first = await client.post("/internal/events", json=si_sent, headers=service_headers)
        assert first.status_code == 201
        [task_id] = first.json()["task_ids"]
        replay = await client.post("/internal/events", json=si_sent, headers=service_headers)
        assert replay.json()["task_ids"] == []
        tasks = (
            await client.get(f"/api/v1/trades/{trade['id']}/tasks", headers=forwarder.headers)
        ).json()
        [task] = tasks
        assert task["id"] == task_id
        assert task["assignee_org_id"] == forwarder.id
        assert task["rule_id"] == "export-si-received-register-ecr"
        assert "ECR" in task["title"]
        assert task["due_at"] == "2026-11-23T09:30:00Z"
        kinds = [
            e["kind"]
            for e in (
                await client.get(f"/api/v1/trades/{trade['id']}/timeline", headers=owner.headers)
            ).json()["items"]
        ]
        assert kinds.count("task.assigned") == 1

    async def test_other_forms_and_import_trades_do_not_match(
        self,
        client: httpx.AsyncClient,
        create_trade: Any,
        make_org: Any,
        service_headers: dict[str, str],
    ) -> None:
        owner = make_org("owner")
        export = await create_trade(owner)
        imported = await create_trade(owner, direction="import", owner_role="consignee")
        for incoming in (
            event(export["id"], "form.sent", form_type="UL100"),
            event(imported["id"], "form.sent", form_type="UL040"),
        ):
            response = await client.post("/internal/events", json=incoming, headers=service_headers)
            assert response.json()["task_ids"] == []

    async def test_export_permit_asks_to_arrange_cy_delivery_falling_back_to_the_owner(
        self,
        client: httpx.AsyncClient,
        create_trade: Any,
        make_org: Any,
        service_headers: dict[str, str],
    ) -> None:
        owner = make_org("owner")
        trade = await create_trade(owner)
        permit = event(
            trade["id"],
            "naccs.permit",
            source="naccs_bridge",
            direction="export",
            declaration_no="1234567890",
        )
        response = await client.post("/internal/events", json=permit, headers=service_headers)
        assert len(response.json()["task_ids"]) == 1
        [task] = (
            await client.get(f"/api/v1/trades/{trade['id']}/tasks", headers=owner.headers)
        ).json()
        assert (
            task["assignee_org_id"] == owner.id
        )  # no forwarder in the trade: the work is not lost
        assert "CY" in task["title"]

    async def test_import_permit_asks_for_pick_up_and_delivery(
        self,
        client: httpx.AsyncClient,
        create_trade: Any,
        join: Any,
        make_org: Any,
        service_headers: dict[str, str],
    ) -> None:
        owner, forwarder = make_org("consignee"), make_org("fwd")
        trade = await create_trade(owner, direction="import", owner_role="consignee")
        await join(trade, owner, forwarder, "forwarder")
        wrong_way = event(trade["id"], "naccs.permit", source="naccs_bridge", direction="export")
        assert (
            await client.post("/internal/events", json=wrong_way, headers=service_headers)
        ).json()["task_ids"] == []
        permit = event(trade["id"], "naccs.permit", source="naccs_bridge", direction="import")
        assert (
            len(
                (
                    await client.post("/internal/events", json=permit, headers=service_headers)
                ).json()["task_ids"]
            )
            == 1
        )
        [task] = (
            await client.get(f"/api/v1/trades/{trade['id']}/tasks", headers=forwarder.headers)
        ).json()
        assert task["rule_id"] == "import-permit-arrange-delivery"
        assert task["assignee_org_id"] == forwarder.id
