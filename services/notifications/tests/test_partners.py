"""Partner inbound: TradeWaltz-style S/I push (stored once, forwarded to forms), Colins-style
schedule/CY updates (recorded and emitted as events), CONPAS-style receiving slips for a terminal."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

SI_SCOPE = "si:push"
SCHEDULE_SCOPE = "schedules:push"
SLIPS_SCOPE = "receiving-slips:read"


def si_push(trade: uuid.UUID, message_id: str = "TW-0001", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "message_id": message_id,
        "trade_id": str(trade),
        "booking_number": "BKG123456",
        "shipper": {"name": "Minato Trading KK", "corporate_number": "1234567890123"},
        "consignee": {"name": "Harbour Imports Ltd"},
        "port_of_loading": "JPTYO",
        "port_of_discharge": "SGSIN",
        "vessel_name": "MINATO MARU",
        "voyage": "001E",
        "commodity": "Machine parts",
        "hs_code": "847990",
        "containers": [{"number": "MSCU1234565", "size_type": "45G1", "gross_weight_kg": 12000}],
    }
    body.update(changes)
    return body


def slip_event(
    make_envelope: Callable[..., Any],
    trade: uuid.UUID,
    slip: uuid.UUID,
    *,
    revision: int,
    container: str,
    event_type: str = "receiving_slip.created",
) -> dict[str, Any]:
    """As the forms service sends it for a UL090 (forms.services.events.form_changed)."""
    body: dict[str, Any] = make_envelope(
        event_type,
        trade_id=trade,
        data={
            "form_id": str(slip),
            "form_type": "UL090",
            "custom_id": None,
            "status": "draft",
            "version": revision,
            "created_by_org_id": "org-forwarder",
            "changed_paths": [],
            "trade_id": str(trade),
            "actor": {"org_id": "org-forwarder", "user_id": "u1"},
            "receiving_slip": {
                "bookingNo": "BKG123456",
                "vessel": {"name": "MINATO MARU"},
                "voyageNumber": "001E",
                "terminal": {"code": "JPTYO-OI1", "name": "大井1号"},
                "plannedDeliveryDate": "2026-11-25",
                "containers": [{"number": container}],
            },
        },
    )
    return body


class TestShippingInstructionsPush:
    async def test_stored_once_with_an_event_for_the_trade(
        self, client: httpx.AsyncClient, tokens: Any, trades: Any
    ) -> None:
        partner_org, forwarder = uuid.uuid4(), uuid.uuid4()
        trade = trades.add_trade(partner_org, forwarder)
        headers = tokens.partner(partner_org, SI_SCOPE)
        first = await client.post(
            "/api/v1/notifications/partners/tradewaltz/shipping-instructions",
            json=si_push(trade),
            headers=headers,
        )
        assert first.status_code == 202, first.text
        stored = first.json()
        assert stored["status"] == "received"
        assert stored["duplicate"] is False

        again = await client.post(
            "/api/v1/notifications/partners/tradewaltz/shipping-instructions",
            json=si_push(trade),
            headers=headers,
        )
        assert again.status_code == 200
        assert again.json()["id"] == stored["id"]
        assert again.json()["duplicate"] is True

        changed = await client.post(
            "/api/v1/notifications/partners/tradewaltz/shipping-instructions",
            json=si_push(trade, commodity="Something else"),
            headers=headers,
        )
        assert changed.status_code == 422
        assert changed.json()["errors"][0]["field"] == "message_id"

        events = await client.get(
            "/api/v1/notifications/events",
            params={"type": "shipping_instructions.received"},
            headers=tokens.user(forwarder),
        )
        [event] = events.json()["items"]
        assert event["data"]["inbound_id"] == stored["id"]

        status = await client.get(
            f"/api/v1/notifications/partners/inbound/{stored['id']}", headers=headers
        )
        assert status.json()["status"] == "received"

    async def test_invalid_data_is_refused_naming_the_field(
        self, client: httpx.AsyncClient, tokens: Any, trades: Any
    ) -> None:
        org = uuid.uuid4()
        trade = trades.add_trade(org)
        response = await client.post(
            "/api/v1/notifications/partners/tradewaltz/shipping-instructions",
            json=si_push(trade, containers=[{"number": "not-a-container"}]),
            headers=tokens.partner(org, SI_SCOPE),
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "containers.0.number"

    async def test_only_participants_with_the_scope_may_push(
        self, client: httpx.AsyncClient, tokens: Any, trades: Any
    ) -> None:
        org, outsider = uuid.uuid4(), uuid.uuid4()
        trade = trades.add_trade(org)
        url = "/api/v1/notifications/partners/tradewaltz/shipping-instructions"
        not_in_trade = await client.post(
            url, json=si_push(trade), headers=tokens.partner(outsider, SI_SCOPE)
        )
        assert not_in_trade.status_code == 404
        no_scope = await client.post(url, json=si_push(trade), headers=tokens.partner(org))
        assert no_scope.status_code == 403
        user = await client.post(url, json=si_push(trade), headers=tokens.admin(org))
        assert user.status_code == 403


class TestForwardingToForms:
    @pytest.fixture
    def settings_overrides(self, forms: Any) -> dict[str, Any]:
        return {"forms_url": forms.url}

    async def test_forwarded_with_the_inbound_id_as_idempotency_key(
        self, live: Any, tokens: Any, trades: Any, forms: Any
    ) -> None:
        org = uuid.uuid4()
        trade = trades.add_trade(org)
        headers = tokens.partner(org, SI_SCOPE)
        stored = (
            await live.client.post(
                "/api/v1/notifications/partners/tradewaltz/shipping-instructions",
                json=si_push(trade),
                headers=headers,
            )
        ).json()
        await live.drain()
        [imported] = forms.imports
        assert imported["trade_id"] == str(trade)
        assert imported["idempotency_key"] == stored["id"]
        assert imported["body"]["data"]["booking_number"] == "BKG123456"
        status = await live.client.get(
            f"/api/v1/notifications/partners/inbound/{stored['id']}", headers=headers
        )
        assert status.json()["status"] == "forwarded"
        assert status.json()["processed_at"] is not None

    async def test_a_refusal_by_forms_is_recorded_not_retried(
        self, live: Any, tokens: Any, trades: Any, forms: Any
    ) -> None:
        forms.status_code = 422
        org = uuid.uuid4()
        trade = trades.add_trade(org)
        headers = tokens.partner(org, SI_SCOPE)
        stored = (
            await live.client.post(
                "/api/v1/notifications/partners/tradewaltz/shipping-instructions",
                json=si_push(trade, message_id="TW-bad"),
                headers=headers,
            )
        ).json()
        await live.drain()
        assert len(forms.imports) == 1
        status = (
            await live.client.get(
                f"/api/v1/notifications/partners/inbound/{stored['id']}", headers=headers
            )
        ).json()
        assert status["status"] == "rejected"
        assert status["status_detail"].startswith("422")

    async def test_our_own_missing_permission_is_retried_not_blamed_on_the_partner(
        self, live: Any, tokens: Any, trades: Any, forms: Any
    ) -> None:
        from datetime import timedelta

        forms.status_code = 403
        org = uuid.uuid4()
        trade = trades.add_trade(org)
        headers = tokens.partner(org, SI_SCOPE)
        stored = (
            await live.client.post(
                "/api/v1/notifications/partners/tradewaltz/shipping-instructions",
                json=si_push(trade, message_id="TW-403"),
                headers=headers,
            )
        ).json()
        await live.drain()
        url = f"/api/v1/notifications/partners/inbound/{stored['id']}"
        waiting = (await live.client.get(url, headers=headers)).json()
        assert waiting["status"] == "received"
        assert waiting["status_detail"].startswith("403")

        forms.status_code = 201  # the permission is granted
        runtime = live.dispatcher.runtime
        real_now = runtime.now
        runtime.now = lambda: real_now() + timedelta(minutes=10)
        try:
            await live.drain()
        finally:
            runtime.now = real_now
        assert (await live.client.get(url, headers=headers)).json()["status"] == "forwarded"
        assert len(forms.imports) == 2
        assert {i["idempotency_key"] for i in forms.imports} == {stored["id"]}


class TestColinsUpdates:
    async def test_schedule_and_cy_updates_are_recorded_and_emitted(
        self, client: httpx.AsyncClient, tokens: Any
    ) -> None:
        org = uuid.uuid4()
        headers = tokens.partner(org, SCHEDULE_SCOPE)
        schedule = {
            "message_id": "COL-1",
            "vessel_name": "MINATO MARU",
            "voyage": "001E",
            "port": "JPTYO",
            "eta": "2026-11-30T08:00:00+09:00",
            "etd": "2026-12-01T17:00:00+09:00",
        }
        first = await client.post(
            "/api/v1/notifications/partners/colins/vessel-schedules", json=schedule, headers=headers
        )
        assert first.status_code == 202, first.text
        assert first.json()["status"] == "recorded"
        again = await client.post(
            "/api/v1/notifications/partners/colins/vessel-schedules", json=schedule, headers=headers
        )
        assert again.status_code == 200
        cy = await client.post(
            "/api/v1/notifications/partners/colins/cy-availability",
            json={"message_id": "COL-2", "terminal_code": "JPTYO-OI1", "available": False},
            headers=headers,
        )
        assert cy.status_code == 202, cy.text

        log = (
            await client.get(
                "/api/v1/notifications/events",
                headers=tokens.partner(org, "notifications:read"),
            )
        ).json()["items"]
        assert [e["type"] for e in log] == ["vessel_schedule.updated", "cy_availability.updated"]
        assert log[0]["data"]["voyage"] == "001E"
        assert log[0]["data"]["source_message_id"] == "COL-1"
        assert log[0]["source"] == "notifications"


class TestReceivingSlips:
    async def test_terminal_lists_the_latest_slips_of_trades_it_is_in(
        self,
        client: httpx.AsyncClient,
        tokens: Any,
        trades: Any,
        make_envelope: Callable[..., Any],
    ) -> None:
        terminal, shipper, other_terminal = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        trade = trades.add_trade(shipper, terminal)
        slip = uuid.uuid4()
        for body in (
            slip_event(make_envelope, trade, slip, revision=1, container="MSCU1234565"),
            slip_event(
                make_envelope,
                trade,
                slip,
                revision=3,
                container="TGHU7654321",
                event_type="receiving_slip.updated",
            ),
            # A late, older revision does not overwrite the newer one.
            slip_event(
                make_envelope,
                trade,
                slip,
                revision=2,
                container="OLDU0000000",
                event_type="receiving_slip.updated",
            ),
        ):
            response = await client.post("/internal/events", json=body, headers=tokens.service())
            assert response.status_code == 201, response.text

        params = {"terminal_code": "JPTYO-OI1", "date": "2026-11-25"}
        listed = await client.get(
            "/api/v1/notifications/partners/terminal/receiving-slips",
            params=params,
            headers=tokens.partner(terminal, SLIPS_SCOPE),
        )
        assert listed.status_code == 200, listed.text
        [item] = listed.json()["items"]
        assert item["revision"] == 3
        assert item["slip_id"] == str(slip)
        assert item["data"]["containers"] == [{"number": "TGHU7654321"}]

        other_day = await client.get(
            "/api/v1/notifications/partners/terminal/receiving-slips",
            params={**params, "date": "2026-11-26"},
            headers=tokens.partner(terminal, SLIPS_SCOPE),
        )
        assert other_day.json()["items"] == []
        not_in_trade = await client.get(
            "/api/v1/notifications/partners/terminal/receiving-slips",
            params=params,
            headers=tokens.partner(other_terminal, SLIPS_SCOPE),
        )
        assert not_in_trade.json()["items"] == []

    async def test_terminal_gets_a_webhook_when_a_slip_is_created_or_changes(
        self,
        live: Any,
        tokens: Any,
        trades: Any,
        receiver: Any,
        make_envelope: Callable[..., Any],
    ) -> None:
        terminal = uuid.uuid4()
        trade = trades.add_trade(uuid.uuid4(), terminal)
        created = await live.client.post(
            "/api/v1/notifications/webhooks",
            json={"url": receiver.url, "event_types": ["receiving_slip.*"]},
            headers=tokens.partner(terminal, "webhooks:manage"),
        )
        assert created.status_code == 201, created.text
        receiver.secrets = [created.json()["secret"]]
        slip = uuid.uuid4()
        for body in (
            slip_event(make_envelope, trade, slip, revision=1, container="MSCU1234565"),
            slip_event(
                make_envelope,
                trade,
                slip,
                revision=2,
                container="MSCU1234565",
                event_type="receiving_slip.updated",
            ),
        ):
            await live.client.post("/internal/events", json=body, headers=tokens.service())
        await live.drain()
        types = [
            Webhook(receiver.secrets[0]).verify(r["body"], r["headers"])["type"]
            for r in receiver.requests
        ]
        assert sorted(types) == ["receiving_slip.created", "receiving_slip.updated"]
