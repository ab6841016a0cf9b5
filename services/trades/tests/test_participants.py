"""Who sees and does what: the participant matrix, hidden participants, removal, non-participants."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

ROLES = [
    "shipper",
    "consignee",
    "forwarder",
    "customs_broker",
    "carrier",
    "nvocc",
    "warehouse",
    "trucker",
    "terminal_operator",
]
# The rules as the product states them, written independently of trades.domain.access.
MAY_EDIT = {"shipper", "forwarder", "nvocc", "carrier"}
MAY_CHANGE_STATUS = {
    "shipper",
    "forwarder",
    "nvocc",
    "carrier",
    "customs_broker",
    "terminal_operator",
}
MAY_INVITE = {"shipper", "consignee", "forwarder", "nvocc", "customs_broker"}


def org_ids(participants: list[dict[str, Any]]) -> set[str]:
    return {p["org_id"] for p in participants}


@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
@pytest.mark.parametrize("role", ROLES)
async def test_participant_matrix(
    client: httpx.AsyncClient,
    create_trade: Any,
    join: Any,
    make_org: Any,
    service_headers: dict[str, str],
    role: str,
    hidden: bool,
) -> None:
    owner, bystander, subject = make_org("owner"), make_org("bystander"), make_org(role)
    trade = await create_trade(owner)
    base = f"/api/v1/trades/{trade['id']}"
    await join(trade, owner, bystander, "carrier")
    await join(trade, owner, subject, role, hidden=hidden)
    any_version = {**subject.headers, "If-Match": "*"}

    # Sees the trade, in its role.
    got = await client.get(base, headers=subject.headers)
    assert got.status_code == 200
    assert got.json()["my_role"] == role

    # Does what its role allows.
    edit = await client.patch(base, json={"voyage_no": "R1"}, headers=any_version)
    assert edit.status_code == (200 if role in MAY_EDIT else 403), edit.text
    status = await client.post(f"{base}/status", json={"status": "booked"}, headers=any_version)
    assert status.status_code == (200 if role in MAY_CHANGE_STATUS else 403), status.text
    newcomer = make_org("newcomer")
    invite = await client.post(
        f"{base}/participants",
        json={"org_id": newcomer.id, "display_name": "N", "role": "warehouse"},
        headers=subject.headers,
    )
    assert invite.status_code == (201 if role in MAY_INVITE and not hidden else 403), invite.text
    task = await client.post(
        f"{base}/tasks",
        json={"title": f"{role} checks", "assignee_org_id": subject.id},
        headers=subject.headers,
    )
    assert task.status_code == 201

    # Sees the others; is seen by others only when not hidden; its sponsor (the owner) always sees it.
    mine = (await client.get(f"{base}/participants", headers=subject.headers)).json()
    assert {owner.id, bystander.id, subject.id} <= org_ids(mine)
    theirs = (await client.get(f"{base}/participants", headers=bystander.headers)).json()
    assert (subject.id in org_ids(theirs)) is not hidden
    sponsors = (await client.get(f"{base}/participants", headers=owner.headers)).json()
    assert subject.id in org_ids(sponsors)

    # Its traces in the timeline and the task list follow the same rule.
    def mentions_subject(entries: list[dict[str, Any]]) -> bool:
        return any(subject.id in (e["actor_org_id"], e["subject_org_id"]) for e in entries)

    timeline_url = f"{base}/timeline"
    assert mentions_subject(
        (await client.get(timeline_url, headers=subject.headers)).json()["items"]
    )
    assert mentions_subject((await client.get(timeline_url, headers=owner.headers)).json()["items"])
    bystander_timeline = (await client.get(timeline_url, headers=bystander.headers)).json()["items"]
    assert mentions_subject(bystander_timeline) is not hidden
    bystander_tasks = (await client.get(f"{base}/tasks", headers=bystander.headers)).json()
    assert any(t["assignee_org_id"] == subject.id for t in bystander_tasks) is not hidden

    # Other services get the same answer from the access check.
    answer = await client.get(
        f"/internal/trades/{trade['id']}/access",
        params={"org": bystander.id},
        headers=service_headers,
    )
    assert (subject.id in answer.json()["visible_participant_org_ids"]) is not hidden
    own = await client.get(
        f"/internal/trades/{trade['id']}/access",
        params={"org": subject.id},
        headers=service_headers,
    )
    assert own.json() | {"visible_participant_org_ids": None} == {
        "trade_id": trade["id"],
        "org_id": subject.id,
        "participant": True,
        "status": "active",
        "role": role,
        "hidden": hidden,
        "is_owner": False,
        "visible_participant_org_ids": None,
        "trade_no": trade["trade_no"],
    }


async def everything_under(
    client: httpx.AsyncClient, trade_id: str, headers: dict[str, str]
) -> dict[str, int]:
    """Status code of every route under a trade, for a caller."""
    base = f"/api/v1/trades/{trade_id}"
    some_id = "00000000-0000-0000-0000-000000000001"
    edit = {**headers, "If-Match": "*"}
    calls = {
        "get": client.get(base, headers=headers),
        "patch": client.patch(base, json={"voyage_no": "X"}, headers=edit),
        "status": client.post(f"{base}/status", json={"status": "booked"}, headers=edit),
        "participants": client.get(f"{base}/participants", headers=headers),
        "invite": client.post(
            f"{base}/participants",
            json={"org_id": "x", "display_name": "x", "role": "trucker"},
            headers=headers,
        ),
        "accept": client.post(f"{base}/participants/me/accept", headers=headers),
        "leave": client.post(f"{base}/participants/me/leave", headers=headers),
        "remove": client.delete(f"{base}/participants/someone", headers=headers),
        "timeline": client.get(f"{base}/timeline", headers=headers),
        "timeline_csv": client.get(f"{base}/timeline.csv", headers=headers),
        "tasks": client.get(f"{base}/tasks", headers=headers),
        "task_create": client.post(
            f"{base}/tasks", json={"title": "t", "assignee_org_id": "x"}, headers=headers
        ),
        "task": client.get(f"{base}/tasks/{some_id}", headers=headers),
        "threads": client.get(f"{base}/threads", headers=headers),
        "thread_create": client.post(
            f"{base}/threads", json={"subject": "s", "body": "b"}, headers=headers
        ),
        "messages": client.get(f"{base}/threads/{some_id}/messages", headers=headers),
    }
    return {name: (await call).status_code for name, call in calls.items()}


class TestNonParticipants:
    async def test_get_404_everywhere(
        self, client: httpx.AsyncClient, create_trade: Any, make_org: Any
    ) -> None:
        trade = await create_trade(make_org("owner"))
        statuses = await everything_under(client, trade["id"], make_org("stranger").headers)
        assert statuses == dict.fromkeys(statuses, 404)

    async def test_unknown_trade_is_the_same_404(
        self, client: httpx.AsyncClient, make_org: Any
    ) -> None:
        response = await client.get(
            "/api/v1/trades/00000000-0000-0000-0000-0000000000ff", headers=make_org("x").headers
        )
        assert response.status_code == 404
        assert response.json()["code"] == "trade_not_found"

    async def test_list_and_participant_filter_do_not_reveal_hidden_orgs(
        self, client: httpx.AsyncClient, create_trade: Any, join: Any, make_org: Any
    ) -> None:
        owner, bystander, hidden = make_org("owner"), make_org("by"), make_org("hidden")
        trade = await create_trade(owner)
        await join(trade, owner, bystander, "forwarder")
        await join(trade, owner, hidden, "trucker", hidden=True)
        for who, expected in ((owner, [trade["id"]]), (bystander, [])):
            listed = await client.get(
                "/api/v1/trades", params={"participant": hidden.id}, headers=who.headers
            )
            assert [t["id"] for t in listed.json()["items"]] == expected
        assert (await client.get("/api/v1/trades", headers=make_org("x").headers)).json()[
            "items"
        ] == []


class TestInvitations:
    async def test_invited_org_sees_the_trade_but_nothing_under_it_until_it_accepts(
        self, client: httpx.AsyncClient, create_trade: Any, make_org: Any
    ) -> None:
        owner, guest = make_org("owner"), make_org("guest")
        trade = await create_trade(owner)
        base = f"/api/v1/trades/{trade['id']}"
        await client.post(
            f"{base}/participants",
            json={"org_id": guest.id, "display_name": "Guest", "role": "forwarder"},
            headers=owner.headers,
        )
        pending = await client.get("/api/v1/trades/invitations", headers=guest.headers)
        assert [t["id"] for t in pending.json()] == [trade["id"]]
        assert (await client.get("/api/v1/trades", headers=guest.headers)).json()["items"] == []
        got = await client.get(base, headers=guest.headers)
        assert got.status_code == 200
        assert got.json()["my_status"] == "invited"
        assert (await client.get(f"{base}/timeline", headers=guest.headers)).status_code == 404
        assert (
            await client.patch(
                base, json={"voyage_no": "1"}, headers={**guest.headers, "If-Match": "*"}
            )
        ).status_code == 403
        assert (
            await client.post(f"{base}/participants/me/accept", headers=guest.headers)
        ).status_code == 200
        assert (await client.get(f"{base}/timeline", headers=guest.headers)).status_code == 200
        assert (await client.get("/api/v1/trades/invitations", headers=guest.headers)).json() == []
        listed = await client.get("/api/v1/trades", headers=guest.headers)
        assert [t["id"] for t in listed.json()["items"]] == [trade["id"]]

    async def test_declined_invitation_hides_the_trade(
        self, client: httpx.AsyncClient, create_trade: Any, make_org: Any
    ) -> None:
        owner, guest = make_org("owner"), make_org("guest")
        trade = await create_trade(owner)
        base = f"/api/v1/trades/{trade['id']}"
        await client.post(
            f"{base}/participants",
            json={"org_id": guest.id, "display_name": "Guest", "role": "trucker"},
            headers=owner.headers,
        )
        assert (
            await client.post(f"{base}/participants/me/decline", headers=guest.headers)
        ).status_code == 200
        assert (await client.get(base, headers=guest.headers)).status_code == 404

    async def test_inviting_a_current_participant_is_a_conflict(
        self, client: httpx.AsyncClient, create_trade: Any, join: Any, make_org: Any
    ) -> None:
        owner, member = make_org("owner"), make_org("m")
        trade = await create_trade(owner)
        await join(trade, owner, member, "carrier")
        again = await client.post(
            f"/api/v1/trades/{trade['id']}/participants",
            json={"org_id": member.id, "display_name": "M", "role": "carrier"},
            headers=owner.headers,
        )
        assert again.status_code == 409


class TestRemoval:
    async def test_removed_participant_loses_access_at_once_everywhere(
        self,
        client: httpx.AsyncClient,
        create_trade: Any,
        join: Any,
        make_org: Any,
        service_headers: dict[str, str],
    ) -> None:
        owner, member = make_org("owner"), make_org("member")
        trade = await create_trade(owner)
        await join(trade, owner, member, "customs_broker")
        removed = await client.delete(
            f"/api/v1/trades/{trade['id']}/participants/{member.id}", headers=owner.headers
        )
        assert removed.status_code == 200
        assert removed.json()["status"] == "removed"
        statuses = await everything_under(client, trade["id"], member.headers)
        assert statuses == dict.fromkeys(statuses, 404)
        answer = await client.get(
            f"/internal/trades/{trade['id']}/access",
            params={"org": member.id},
            headers=service_headers,
        )
        assert answer.json()["participant"] is False
        assert answer.json()["status"] is None

    async def test_sponsor_may_remove_its_own_invitee_but_not_others(
        self, client: httpx.AsyncClient, create_trade: Any, join: Any, make_org: Any
    ) -> None:
        owner, forwarder, trucker, carrier = (make_org(n) for n in ("owner", "fwd", "trk", "car"))
        trade = await create_trade(owner)
        await join(trade, owner, forwarder, "forwarder")
        await join(trade, owner, carrier, "carrier")
        await join(trade, forwarder, trucker, "trucker", hidden=True)
        base = f"/api/v1/trades/{trade['id']}/participants"
        assert (
            await client.delete(f"{base}/{carrier.id}", headers=forwarder.headers)
        ).status_code == 403
        assert (
            await client.delete(f"{base}/{owner.id}", headers=forwarder.headers)
        ).status_code == 403
        # The carrier cannot see the hidden trucker, so for it the trucker does not exist.
        assert (
            await client.delete(f"{base}/{trucker.id}", headers=carrier.headers)
        ).status_code == 404
        assert (
            await client.delete(f"{base}/{trucker.id}", headers=forwarder.headers)
        ).status_code == 200

    async def test_owner_cannot_leave_but_others_can(
        self, client: httpx.AsyncClient, create_trade: Any, join: Any, make_org: Any
    ) -> None:
        owner, member = make_org("owner"), make_org("member")
        trade = await create_trade(owner)
        await join(trade, owner, member, "warehouse")
        base = f"/api/v1/trades/{trade['id']}/participants/me/leave"
        assert (await client.post(base, headers=owner.headers)).status_code == 403
        assert (await client.post(base, headers=member.headers)).status_code == 200
        assert (
            await client.get(f"/api/v1/trades/{trade['id']}", headers=member.headers)
        ).status_code == 404


class TestAccessEndpoint:
    async def test_is_for_services_only(
        self, client: httpx.AsyncClient, create_trade: Any, make_org: Any
    ) -> None:
        owner = make_org("owner")
        trade = await create_trade(owner)
        response = await client.get(
            f"/internal/trades/{trade['id']}/access",
            params={"org": owner.id},
            headers=owner.headers,
        )
        assert response.status_code == 403
