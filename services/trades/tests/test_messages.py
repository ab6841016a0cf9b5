"""Message threads: open and restricted threads, mentions, read state, hidden participants."""

from __future__ import annotations

from typing import Any

import httpx


class TestThreads:
    async def test_thread_unread_counts_per_user(
        self,
        client: httpx.AsyncClient,
        create_trade: Any,
        join: Any,
        make_org: Any,
        token_issuer: Any,
    ) -> None:
        owner, forwarder = make_org("owner"), make_org("fwd")
        trade = await create_trade(owner)
        await join(trade, owner, forwarder, "forwarder")
        base = f"/api/v1/trades/{trade['id']}/threads"
        created = await client.post(
            base,
            json={
                "subject": "Cut-off",
                "body": "CY cut is Friday",
                "mentions": [{"org_id": forwarder.id}],
            },
            headers=owner.headers,
        )
        assert created.status_code == 201, created.text
        thread = created.json()
        reply = await client.post(
            f"{base}/{thread['id']}/messages", json={"body": "Noted"}, headers=forwarder.headers
        )
        assert reply.status_code == 201
        colleague = forwarder.user_headers(token_issuer, "fwd-colleague")
        assert [
            t["unread_count"] for t in (await client.get(base, headers=owner.headers)).json()
        ] == [1]
        assert [
            t["unread_count"] for t in (await client.get(base, headers=forwarder.headers)).json()
        ] == [0]  # writing a reply means having read the thread
        assert [t["unread_count"] for t in (await client.get(base, headers=colleague)).json()] == [
            2
        ]
        assert (
            await client.post(f"{base}/{thread['id']}/read", headers=colleague)
        ).status_code == 204
        assert [t["unread_count"] for t in (await client.get(base, headers=colleague)).json()] == [
            0
        ]
        messages = (
            await client.get(f"{base}/{thread['id']}/messages", headers=owner.headers)
        ).json()["items"]
        assert [m["body"] for m in messages] == ["CY cut is Friday", "Noted"]
        assert messages[0]["mentions"] == [{"org_id": forwarder.id, "user_id": None}]

    async def test_restricted_thread_is_invisible_to_others(
        self, client: httpx.AsyncClient, create_trade: Any, join: Any, make_org: Any
    ) -> None:
        owner, broker, carrier = make_org("owner"), make_org("broker"), make_org("carrier")
        trade = await create_trade(owner)
        await join(trade, owner, broker, "customs_broker")
        await join(trade, owner, carrier, "carrier")
        base = f"/api/v1/trades/{trade['id']}/threads"
        thread = (
            await client.post(
                base,
                json={
                    "subject": "Valuation",
                    "body": "Invoice value?",
                    "member_org_ids": [broker.id],
                },
                headers=owner.headers,
            )
        ).json()
        assert thread["member_org_ids"] == sorted([owner.id, broker.id])
        assert (await client.get(base, headers=carrier.headers)).json() == []
        assert (
            await client.get(f"{base}/{thread['id']}/messages", headers=carrier.headers)
        ).status_code == 404
        mention_outsider = await client.post(
            f"{base}/{thread['id']}/messages",
            json={"body": "@carrier?", "mentions": [{"org_id": carrier.id}]},
            headers=broker.headers,
        )
        assert mention_outsider.status_code == 422
        assert mention_outsider.json()["errors"][0]["field"] == "mentions.0.org_id"

    async def test_hidden_participant_talks_only_with_its_sponsor(
        self, client: httpx.AsyncClient, create_trade: Any, join: Any, make_org: Any
    ) -> None:
        owner, forwarder, trucker = make_org("owner"), make_org("fwd"), make_org("trk")
        trade = await create_trade(owner)
        await join(trade, owner, forwarder, "forwarder")
        await join(trade, forwarder, trucker, "trucker", hidden=True)
        base = f"/api/v1/trades/{trade['id']}/threads"
        open_thread = await client.post(
            base, json={"subject": "Hi", "body": "all"}, headers=trucker.headers
        )
        assert open_thread.status_code == 403
        private = await client.post(
            base,
            json={"subject": "Pick-up", "body": "10:00 ok?", "member_org_ids": [forwarder.id]},
            headers=trucker.headers,
        )
        assert private.status_code == 201, private.text
        leaking = await client.post(
            base,
            json={"subject": "x", "body": "y", "member_org_ids": [trucker.id, owner.id]},
            headers=forwarder.headers,
        )
        assert leaking.status_code == 422
        assert [
            t["subject"] for t in (await client.get(base, headers=forwarder.headers)).json()
        ] == ["Pick-up"]
        assert (await client.get(base, headers=owner.headers)).json() == []
