"""In-app notifications (per user read state), preferences, and e-mail in Japanese and English over
real SMTP to the dev sink."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest


async def publish(client: httpx.AsyncClient, tokens: Any, body: dict[str, Any]) -> None:
    response = await client.post("/internal/events", json=body, headers=tokens.service())
    assert response.status_code == 201, response.text


def form_sent(trade: uuid.UUID, make_envelope: Callable[..., Any]) -> dict[str, Any]:
    return make_envelope(
        "form.sent",
        trade_id=trade,
        data={
            "trade_id": str(trade),
            "form_id": str(uuid.uuid4()),
            "form_type": "UL040",
            "reference": "HBL-777",
        },
    )


class TestInbox:
    async def test_list_unread_count_mark_read_and_read_all(
        self, client: httpx.AsyncClient, tokens: Any, trades: Any, make_envelope: Callable[..., Any]
    ) -> None:
        org = uuid.uuid4()
        trade = trades.add_trade(org)
        alice, bob = tokens.user(org, "alice"), tokens.user(org, "bob")
        for _ in range(3):
            await publish(client, tokens, make_envelope(trade_id=trade))

        listed = (await client.get("/api/v1/notifications/inbox", headers=alice)).json()
        assert len(listed["items"]) == 3
        assert all(not n["read"] for n in listed["items"])
        assert listed["items"][0]["title"] == "取引が更新されました"  # Japanese unless chosen
        count = await client.get("/api/v1/notifications/inbox/unread-count", headers=alice)
        assert count.json() == {"unread": 3}

        first = listed["items"][0]["id"]
        marked = await client.post(f"/api/v1/notifications/inbox/{first}/read", headers=alice)
        assert marked.status_code == 204
        assert (
            await client.get("/api/v1/notifications/inbox/unread-count", headers=alice)
        ).json() == {"unread": 2}
        # Read state is per user.
        assert (
            await client.get("/api/v1/notifications/inbox/unread-count", headers=bob)
        ).json() == {"unread": 3}

        unread = await client.get(
            "/api/v1/notifications/inbox", params={"unread_only": True}, headers=alice
        )
        assert first not in [n["id"] for n in unread.json()["items"]]

        assert (
            await client.post("/api/v1/notifications/inbox/read-all", headers=alice)
        ).status_code == 204
        assert (
            await client.get("/api/v1/notifications/inbox/unread-count", headers=alice)
        ).json() == {"unread": 0}
        await publish(client, tokens, make_envelope(trade_id=trade))
        assert (
            await client.get("/api/v1/notifications/inbox/unread-count", headers=alice)
        ).json() == {"unread": 1}

    async def test_paging_newest_first(
        self, client: httpx.AsyncClient, tokens: Any, trades: Any, make_envelope: Callable[..., Any]
    ) -> None:
        org = uuid.uuid4()
        trade = trades.add_trade(org)
        ids = []
        for _ in range(5):
            body = make_envelope(trade_id=trade)
            ids.append(body["id"])
            await publish(client, tokens, body)
        seen: list[str] = []
        cursor = None
        for _ in range(10):
            params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (
                await client.get(
                    "/api/v1/notifications/inbox", params=params, headers=tokens.user(org)
                )
            ).json()
            seen.extend(n["event_id"] for n in page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == list(reversed(ids))

    async def test_other_orgs_notifications_cannot_be_touched(
        self, client: httpx.AsyncClient, tokens: Any, trades: Any, make_envelope: Callable[..., Any]
    ) -> None:
        org, other = uuid.uuid4(), uuid.uuid4()
        await publish(client, tokens, make_envelope(trade_id=trades.add_trade(org)))
        [item] = (await client.get("/api/v1/notifications/inbox", headers=tokens.user(org))).json()[
            "items"
        ]
        response = await client.post(
            f"/api/v1/notifications/inbox/{item['id']}/read", headers=tokens.user(other)
        )
        assert response.status_code == 404

    async def test_only_users_have_an_inbox(self, client: httpx.AsyncClient, tokens: Any) -> None:
        org = uuid.uuid4()
        for headers in (tokens.partner(org, "notifications:read"), tokens.service()):
            assert (
                await client.get("/api/v1/notifications/inbox", headers=headers)
            ).status_code == 403

    async def test_muting_a_family_in_app_hides_it(
        self, client: httpx.AsyncClient, tokens: Any, trades: Any, make_envelope: Callable[..., Any]
    ) -> None:
        org = uuid.uuid4()
        trade = trades.add_trade(org)
        user = tokens.user(org, "carol")
        saved = await client.put(
            "/api/v1/notifications/me/preferences",
            json={
                "locale": "en",
                "preferences": [
                    {"event_type": "trade.*", "channel": "in_app", "enabled": False},
                    {"event_type": "trade.status_changed", "channel": "in_app", "enabled": True},
                ],
            },
            headers=user,
        )
        assert saved.status_code == 200, saved.text
        assert saved.json()["locale"] == "en"
        await publish(client, tokens, make_envelope(trade_id=trade))
        await publish(client, tokens, make_envelope("trade.status_changed", trade_id=trade))
        items = (await client.get("/api/v1/notifications/inbox", headers=user)).json()["items"]
        assert [n["type"] for n in items] == ["trade.status_changed"]
        assert items[0]["title"] == "A trade's status changed"
        assert (
            await client.get("/api/v1/notifications/inbox/unread-count", headers=user)
        ).json() == {"unread": 1}

    async def test_preferences_name_catalogue_types(
        self, client: httpx.AsyncClient, tokens: Any
    ) -> None:
        response = await client.put(
            "/api/v1/notifications/me/preferences",
            json={"preferences": [{"event_type": "nope.*", "channel": "email", "enabled": True}]},
            headers=tokens.user(uuid.uuid4()),
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "preferences.0.event_type"


class TestMail:
    @pytest.fixture
    def settings_overrides(self, smtp_sink: Any) -> dict[str, Any]:
        return {"smtp_port": smtp_sink.port}

    async def test_mail_in_each_users_language_per_their_preferences(
        self,
        live: Any,
        tokens: Any,
        trades: Any,
        smtp_sink: Any,
        make_envelope: Callable[..., Any],
    ) -> None:
        org, outsider = uuid.uuid4(), uuid.uuid4()
        trade = trades.add_trade(org)
        people = {
            "ja@shipper.example": (tokens.user(org, "taro"), "ja", []),
            "en@shipper.example": (tokens.user(org, "jane"), "en", []),
            "quiet@shipper.example": (
                tokens.user(org, "quiet"),
                "en",
                [{"event_type": "form.*", "channel": "email", "enabled": False}],
            ),
            "eager@shipper.example": (
                tokens.user(org, "eager"),
                "ja",
                [{"event_type": "*", "channel": "email", "enabled": True}],
            ),
            "outsider@forwarder.example": (tokens.user(outsider, "out"), "ja", []),
        }
        for address, (headers, locale, preferences) in people.items():
            response = await live.client.put(
                "/api/v1/notifications/me/preferences",
                json={"email": address, "locale": locale, "preferences": preferences},
                headers=headers,
            )
            assert response.status_code == 200, response.text

        sent = form_sent(trade, make_envelope)
        await publish(live.client, tokens, sent)
        await publish(live.client, tokens, make_envelope(trade_id=trade))  # not mailed by default
        await live.drain()

        [ja] = smtp_sink.messages(to="ja@shipper.example")
        assert ja["subject"] == "[Minato] 帳票が送信されました (取引 HBL-777)"
        assert "帳票 UL040 が送信されました。" in ja["body"]
        assert sent["id"] in ja["body"]
        [en] = smtp_sink.messages(to="en@shipper.example")
        assert en["subject"] == "[Minato] A form was sent (trade HBL-777)"
        assert "Form UL040 was sent." in en["body"]
        assert smtp_sink.messages(to="quiet@shipper.example") == []
        assert len(smtp_sink.messages(to="eager@shipper.example")) == 2
        assert smtp_sink.messages(to="outsider@forwarder.example") == []

    async def test_mail_is_retried_when_smtp_is_down(
        self,
        live: Any,
        tokens: Any,
        trades: Any,
        smtp_sink: Any,
        make_envelope: Callable[..., Any],
    ) -> None:
        from datetime import timedelta

        from shared.devstack.stack import free_port

        org = uuid.uuid4()
        trade = trades.add_trade(org)
        await live.client.put(
            "/api/v1/notifications/me/preferences",
            json={"email": "retry@shipper.example", "locale": "en"},
            headers=tokens.user(org, "retry"),
        )
        await publish(live.client, tokens, form_sent(trade, make_envelope))
        mailer = live.dispatcher.mailer
        working_port, mailer.port = mailer.port, free_port()  # nothing listens there
        assert (await live.dispatcher.drain_once()).emails == 1
        assert smtp_sink.messages(to="retry@shipper.example") == []
        mailer.port = working_port
        runtime = live.dispatcher.runtime
        real_now = runtime.now
        runtime.now = lambda: real_now() + timedelta(minutes=5)
        try:
            assert (await live.dispatcher.drain_once()).emails == 1
        finally:
            runtime.now = real_now
        assert len(smtp_sink.messages(to="retry@shipper.example")) == 1
