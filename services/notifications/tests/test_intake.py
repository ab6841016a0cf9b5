"""Event intake (service-only, idempotent, validated against the catalogue), audiences and the log."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.db.models import Event, EventAudience, Notification, WebhookDelivery


async def count(session: AsyncSession, model: Any, *where: Any) -> int:
    return int(
        (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()
    )


class TestWhoMayPublish:
    async def test_service_token_with_scope_is_accepted(
        self, client: httpx.AsyncClient, tokens: Any, trades: Any, make_envelope: Callable[..., Any]
    ) -> None:
        org = uuid.uuid4()
        trade = trades.add_trade(org)
        response = await client.post(
            "/internal/events", json=make_envelope(trade_id=trade), headers=tokens.service()
        )
        assert response.status_code == 201, response.text
        assert response.json()["duplicate"] is False
        assert response.json()["audience_size"] == 1

    async def test_our_services_gateway_clients_may_publish_with_internal_call(
        self, client: httpx.AsyncClient, tokens: Any, trades: Any, make_envelope: Callable[..., Any]
    ) -> None:
        trade = trades.add_trade(uuid.uuid4())
        # What the gateway provisions svc-trades with (gateway.domain.catalogue).
        headers = tokens.service(scopes=("internal:call", "forms:read", "notifications:read"))
        response = await client.post(
            "/internal/events", json=make_envelope(trade_id=trade), headers=headers
        )
        assert response.status_code == 201, response.text

    async def test_user_partner_and_scopeless_service_tokens_are_refused(
        self, client: httpx.AsyncClient, tokens: Any, make_envelope: Callable[..., Any]
    ) -> None:
        org = uuid.uuid4()
        body = make_envelope(trade_id=uuid.uuid4())
        for headers in (
            tokens.admin(org),
            tokens.partner(org, "events:publish"),
            tokens.service(scopes=("trades:read",)),
        ):
            response = await client.post("/internal/events", json=body, headers=headers)
            assert response.status_code == 403, response.text
            assert response.headers["content-type"] == "application/problem+json"
        assert (await client.post("/internal/events", json=body)).status_code == 401


class TestValidation:
    async def test_unknown_type_names_the_type_field(
        self, client: httpx.AsyncClient, tokens: Any, make_envelope: Callable[..., Any]
    ) -> None:
        body = make_envelope("trade.exploded", trade_id=uuid.uuid4())
        response = await client.post("/internal/events", json=body, headers=tokens.service())
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "type"

    async def test_data_is_checked_against_the_versioned_schema(
        self, client: httpx.AsyncClient, tokens: Any, make_envelope: Callable[..., Any]
    ) -> None:
        trade = uuid.uuid4()
        body = make_envelope("form.sent", trade_id=trade, data={"trade_id": str(trade)})
        response = await client.post("/internal/events", json=body, headers=tokens.service())
        assert response.status_code == 422
        fields = {e["field"] for e in response.json()["errors"]}
        assert {"data.form_id", "data.form_type"} <= fields

    async def test_trade_events_need_a_trade(
        self, client: httpx.AsyncClient, tokens: Any, make_envelope: Callable[..., Any]
    ) -> None:
        body = make_envelope("trade.created", trade_id=None, data={"trade_id": str(uuid.uuid4())})
        response = await client.post("/internal/events", json=body, headers=tokens.service())
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "trade_id"

    async def test_the_outbox_relays_envelope_is_accepted_as_is(
        self, client: httpx.AsyncClient, tokens: Any, trades: Any
    ) -> None:
        from datetime import UTC, datetime

        from shared.outbox import EventEnvelope as OutboxEnvelope

        trade = trades.add_trade(uuid.uuid4())
        outgoing = OutboxEnvelope(
            id=uuid.uuid4(),
            type="trade.created",
            version=1,
            occurred_at=datetime.now(UTC),
            source="trades",
            trade_id=trade,
            data={"trade_id": str(trade), "reference": "HBL-1"},
        )
        response = await client.post(
            "/internal/events",
            json=outgoing.as_json(),
            headers={**tokens.service(), "Idempotency-Key": str(outgoing.id)},
        )
        assert response.status_code == 201, response.text


class TestIdempotentIntake:
    async def test_a_replay_returns_200_and_changes_nothing(
        self,
        client: httpx.AsyncClient,
        tokens: Any,
        trades: Any,
        db_session: AsyncSession,
        make_envelope: Callable[..., Any],
    ) -> None:
        org_a, org_b = uuid.uuid4(), uuid.uuid4()
        trade = trades.add_trade(org_a, org_b)
        await client.post(
            "/api/v1/notifications/webhooks",
            json={"url": "http://127.0.0.1:9/hook", "event_types": ["*"]},
            headers=tokens.admin(org_a),
        )
        body = make_envelope(trade_id=trade)
        first = await client.post("/internal/events", json=body, headers=tokens.service())
        assert first.status_code == 201
        assert first.json()["webhook_deliveries"] == 1
        for _ in range(3):
            again = await client.post("/internal/events", json=body, headers=tokens.service())
            assert again.status_code == 200
            assert again.json()["duplicate"] is True
        event_id = uuid.UUID(body["id"])
        assert await count(db_session, Event, Event.id == event_id) == 1
        assert await count(db_session, EventAudience, EventAudience.event_id == event_id) == 2
        assert await count(db_session, Notification, Notification.event_id == event_id) == 2
        assert await count(db_session, WebhookDelivery, WebhookDelivery.event_id == event_id) == 1


class TestAudience:
    async def test_an_org_never_sees_events_of_a_trade_it_is_not_in(
        self, client: httpx.AsyncClient, tokens: Any, trades: Any, make_envelope: Callable[..., Any]
    ) -> None:
        inside, outsider = uuid.uuid4(), uuid.uuid4()
        trade = trades.add_trade(inside)
        body = make_envelope(trade_id=trade)
        await client.post("/internal/events", json=body, headers=tokens.service())

        seen = await client.get("/api/v1/notifications/events", headers=tokens.user(inside))
        assert [e["id"] for e in seen.json()["items"]] == [body["id"]]

        assert (
            await client.get("/api/v1/notifications/events", headers=tokens.user(outsider))
        ).json()["items"] == []
        by_trade = await client.get(
            "/api/v1/notifications/events",
            params={"trade_id": str(trade)},
            headers=tokens.user(outsider),
        )
        assert by_trade.status_code == 404
        one = await client.get(
            f"/api/v1/notifications/events/{body['id']}", headers=tokens.user(outsider)
        )
        assert one.status_code == 404
        inbox = await client.get("/api/v1/notifications/inbox", headers=tokens.user(outsider))
        assert inbox.json()["items"] == []

    async def test_producer_cannot_widen_the_audience_beyond_participants(
        self, client: httpx.AsyncClient, tokens: Any, trades: Any, make_envelope: Callable[..., Any]
    ) -> None:
        inside, outsider = uuid.uuid4(), uuid.uuid4()
        trade = trades.add_trade(inside)
        body = make_envelope(trade_id=trade, org_ids=[inside, outsider])
        response = await client.post("/internal/events", json=body, headers=tokens.service())
        assert response.json()["audience_size"] == 1
        assert (
            await client.get("/api/v1/notifications/events", headers=tokens.user(outsider))
        ).json()["items"] == []

    async def test_events_about_a_hidden_participant_reach_only_that_participant(
        self, client: httpx.AsyncClient, tokens: Any, trades: Any, make_envelope: Callable[..., Any]
    ) -> None:
        shipper, hidden_broker = uuid.uuid4(), uuid.uuid4()
        trade = trades.add_trade(shipper, hidden_broker, hidden=(hidden_broker,))
        about_hidden = make_envelope(
            "participant.added",
            trade_id=trade,
            data={"trade_id": str(trade), "org_id": str(hidden_broker), "role": "broker"},
        )
        ordinary = make_envelope(trade_id=trade)
        for body in (about_hidden, ordinary):
            await client.post("/internal/events", json=body, headers=tokens.service())

        shipper_sees = await client.get(
            "/api/v1/notifications/events", headers=tokens.user(shipper)
        )
        assert [e["id"] for e in shipper_sees.json()["items"]] == [ordinary["id"]]
        broker_sees = await client.get(
            "/api/v1/notifications/events", headers=tokens.user(hidden_broker)
        )
        assert [e["id"] for e in broker_sees.json()["items"]] == [
            about_hidden["id"],
            ordinary["id"],
        ]

    async def test_trades_service_is_called_with_the_service_token(
        self, client: httpx.AsyncClient, tokens: Any, trades: Any, make_envelope: Callable[..., Any]
    ) -> None:
        trade = trades.add_trade(uuid.uuid4())
        await client.post(
            "/internal/events", json=make_envelope(trade_id=trade), headers=tokens.service()
        )
        assert trades.tokens_seen
        assert all(t == "Bearer test-service-token-for-trades" for t in trades.tokens_seen)


class TestEventLog:
    async def test_filters_and_keyset_pages(
        self, client: httpx.AsyncClient, tokens: Any, trades: Any, make_envelope: Callable[..., Any]
    ) -> None:
        org = uuid.uuid4()
        trade_1, trade_2 = trades.add_trade(org), trades.add_trade(org)
        ids = []
        for i in range(5):
            trade = trade_1 if i % 2 == 0 else trade_2
            kind = "trade.updated" if i < 4 else "trade.status_changed"
            body = make_envelope(kind, trade_id=trade)
            ids.append(body["id"])
            await client.post("/internal/events", json=body, headers=tokens.service())

        pages: list[str] = []
        cursor = None
        for _ in range(10):
            params: dict[str, Any] = {"limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = (
                await client.get(
                    "/api/v1/notifications/events", params=params, headers=tokens.user(org)
                )
            ).json()
            pages.extend(e["id"] for e in page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert pages == ids

        by_trade = await client.get(
            "/api/v1/notifications/events",
            params={"trade_id": str(trade_1)},
            headers=tokens.user(org),
        )
        assert [e["id"] for e in by_trade.json()["items"]] == [ids[0], ids[2], ids[4]]
        by_type = await client.get(
            "/api/v1/notifications/events",
            params={"type": "trade.status_changed"},
            headers=tokens.user(org),
        )
        assert [e["id"] for e in by_type.json()["items"]] == [ids[4]]
        bad = await client.get(
            "/api/v1/notifications/events", params={"cursor": "!!"}, headers=tokens.user(org)
        )
        assert bad.status_code == 422

    async def test_time_window(
        self, client: httpx.AsyncClient, tokens: Any, trades: Any, make_envelope: Callable[..., Any]
    ) -> None:
        from datetime import UTC, datetime

        org = uuid.uuid4()
        trade = trades.add_trade(org)
        old = make_envelope(trade_id=trade, occurred_at=datetime(2026, 1, 1, tzinfo=UTC))
        new = make_envelope(trade_id=trade, occurred_at=datetime(2026, 6, 1, tzinfo=UTC))
        for body in (old, new):
            await client.post("/internal/events", json=body, headers=tokens.service())
        window = await client.get(
            "/api/v1/notifications/events",
            params={"since": "2026-03-01T00:00:00Z", "until": "2026-07-01T00:00:00Z"},
            headers=tokens.user(org),
        )
        assert [e["id"] for e in window.json()["items"]] == [new["id"]]


class TestCatalogue:
    async def test_catalogue_lists_types_with_schemas(self, client: httpx.AsyncClient) -> None:
        catalogue = (await client.get("/api/v1/notifications/event-types")).json()
        names = {entry["type"] for entry in catalogue}
        assert {
            "trade.created",
            "participant.added",
            "task.created",
            "message.posted",
            "participant.invited",
            "task.assigned",
            "form.created",
            "form.updated",
            "form.sent",
            "shared_items.locked",
            "shared_items.unlocked",
            "receiving_slip.created",
            "receiving_slip.updated",
            "naccs.sent",
            "naccs.result",
            "naccs.permit",
        } <= names
        form_sent = next(e for e in catalogue if e["type"] == "form.sent")
        assert set(form_sent["data_schema"]["required"]) >= {"form_id", "form_type"}

    async def test_openapi_publishes_every_type_in_webhooks(self, app: FastAPI) -> None:
        document = app.openapi()
        webhooks = document["webhooks"]
        assert "receiving_slip.created.v1" in webhooks
        operation = webhooks["form.sent.v1"]["post"]
        assert "requestBody" in operation


PRODUCER_PAYLOADS = [
    # forms.services.events
    ("form.unsent", {"form_id": str(uuid.uuid4()), "form_type": "UL040", "version": 2}),
    (
        "shared_items.locked",
        {
            "form_id": str(uuid.uuid4()),
            "form_type": "UL040",
            "paths": ["vessel.name"],
            "held_by": {"vessel.name": [str(uuid.uuid4())]},
        },
    ),
    (
        "shared_items.updated",
        {
            "form_id": str(uuid.uuid4()),
            "form_type": "UL040",
            "paths": ["x"],
            "shared_items_version": 3,
        },
    ),
    # naccs_bridge.sending.queue / services.outputs
    (
        "naccs.result",
        {
            "send_id": str(uuid.uuid4()),
            "form_id": str(uuid.uuid4()),
            "code": "ECR",
            "input_id_no": "A123",
            "outcome": "accepted",
        },
    ),
    (
        "naccs.permit",
        {
            "direction": "export",
            "declaration_no": "1234567890",
            "permitted_on": "20261122",
            "output_info_code": "SAE0010",
            "form_ids": [str(uuid.uuid4())],
            "output_message_id": str(uuid.uuid4()),
        },
    ),
    # trades.domain.*
    (
        "task.commented",
        {"task_id": str(uuid.uuid4()), "comment_id": str(uuid.uuid4()), "title": "t"},
    ),
    (
        "message.posted",
        {"thread_id": str(uuid.uuid4()), "message_id": str(uuid.uuid4()), "subject": "ETD?"},
    ),
]


class TestProducersPayloads:
    @pytest.mark.parametrize(("event_type", "data"), PRODUCER_PAYLOADS)
    async def test_events_as_the_other_services_send_them_are_accepted(
        self,
        client: httpx.AsyncClient,
        tokens: Any,
        trades: Any,
        make_envelope: Callable[..., Any],
        event_type: str,
        data: dict[str, Any],
    ) -> None:
        trade = trades.add_trade(uuid.uuid4())
        body = make_envelope(event_type, trade_id=trade, data={**data, "actor": {"org_id": "o"}})
        response = await client.post("/internal/events", json=body, headers=tokens.service())
        assert response.status_code == 201, response.text
