"""Customs status written back from NACCS: the bridge's events on ``POST /internal/events`` (real
forms app and database, real trades app for access), and what a user then sees on the forms."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.testing.tokens import TestIssuer

from .conftest import Trade, complete_si, created_form

PERMIT_AT = "2026-11-27T10:15:00+09:00"
DECLARED_AT = "2026-11-27T09:00:00+09:00"
DECLARATION_NO = "10100000001"


@pytest.fixture
def bridge(token_issuer: TestIssuer) -> dict[str, str]:
    """What the gateway mints for ``svc-naccs_bridge``."""
    return token_issuer.auth(subject="svc-naccs_bridge", kind="service", scopes=["internal:call"])


def status_item(state: str, at: str, **extra: Any) -> dict[str, Any]:
    telegram = "permit_notice" if state == "permitted" else "result"
    return {
        "procedure": "export_declaration",
        "number": DECLARATION_NO,
        "state": state,
        "at": at,
        "source": {
            "telegram": telegram,
            "business_code": "EDC",
            "output_info_code": "SAE0030" if telegram == "permit_notice" else "*SEEDC",
        },
        **extra,
    }


def envelope(trade: Trade, *items: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": "naccs.permit",
        "version": 1,
        "occurred_at": "2026-11-27T01:15:00+00:00",
        "source": "naccs_bridge",
        "trade_id": trade.id,
        "data": {"direction": "export", "customs_status": list(items)},
        **overrides,
    }


PERMIT = {"examination": "1", "permit_no": DECLARATION_NO, "permitted_on": "2026-11-27"}


async def read(client: httpx.AsyncClient, form_id: str, headers: dict[str, str]) -> httpx.Response:
    response = await client.get(f"/api/v1/forms/documents/{form_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response


async def test_a_permit_shows_on_the_si_and_invoice_and_changes_their_etag(
    client: httpx.AsyncClient, trade: Trade, bridge: dict[str, str]
) -> None:
    si = await created_form(client, trade, trade.shipper, "UL040", complete_si())
    invoice = await created_form(client, trade, trade.shipper, "UL100", {"invoiceNo": "INV-7"})
    booking = await created_form(client, trade, trade.carrier, "UL050", {"bookingNo": "BKG123"})
    assert si["naccs_status"] == []

    taken = await client.post(
        "/internal/events",
        json=envelope(trade, status_item("permitted", PERMIT_AT, **PERMIT)),
        headers=bridge,
    )
    assert taken.status_code == 201, taken.text
    assert taken.json() == {"recorded": True, "entries": 1, "changed": 1}

    # A reader holding the S/I's old ETag gets the new representation, not a 304.
    fresh = await client.get(
        f"/api/v1/forms/documents/{si['id']}",
        headers={**trade.forwarder.headers, "If-None-Match": si["etag"]},
    )
    assert fresh.status_code == 200
    assert fresh.headers["ETag"] != si["etag"]
    assert fresh.json()["naccs_status"] == [
        {
            "procedure": "export_declaration",
            "procedure_ja": "輸出申告",
            "procedure_en": "Export declaration",
            "number": DECLARATION_NO,
            "state": "permitted",
            "state_ja": "許可",
            "state_en": "Permitted",
            "at": "2026-11-27T01:15:00Z",
            "examination": "1",
            "permit_no": DECLARATION_NO,
            "permitted_on": "2026-11-27",
            "source": {
                "telegram": "permit_notice",
                "business_code": "EDC",
                "output_info_code": "SAE0030",
            },
        }
    ]
    # The status is not a form value: the S/I's values and version are what the shipper wrote.
    assert "naccs_status" not in fresh.json()["values"]
    assert fresh.json()["version"] == si["version"]
    invoice_now = (await read(client, invoice["id"], trade.shipper.headers)).json()
    assert [s["state"] for s in invoice_now["naccs_status"]] == ["permitted"]
    # A booking confirmation has no customs status section.
    assert (await read(client, booking["id"], trade.carrier.headers)).json()["naccs_status"] == []
    # The new ETag is the one edits must name; the old one is stale.
    stale = await client.put(
        f"/api/v1/forms/documents/{si['id']}",
        json={"values": {**complete_si(), "marksAndNumbers": "NEW MARKS"}},
        headers={**trade.shipper.headers, "If-Match": si["etag"]},
    )
    assert stale.status_code == 412, stale.text
    edited = await client.put(
        f"/api/v1/forms/documents/{si['id']}",
        json={"values": {**complete_si(), "marksAndNumbers": "NEW MARKS"}},
        headers={**trade.shipper.headers, "If-Match": fresh.headers["ETag"]},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["naccs_status"][0]["state"] == "permitted"


async def test_a_redelivered_event_is_acknowledged_and_applied_once(
    client: httpx.AsyncClient, trade: Trade, bridge: dict[str, str], db_session: AsyncSession
) -> None:
    event = envelope(trade, status_item("declared", DECLARED_AT, examination="2"))
    first = await client.post("/internal/events", json=event, headers=bridge)
    again = await client.post("/internal/events", json=event, headers=bridge)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == {"recorded": False, "entries": 1, "changed": 0}
    changes = await db_session.scalar(
        text("SELECT change_seq FROM trade_naccs_status WHERE trade_id = :t"), {"t": trade.id}
    )
    taken = await db_session.scalar(
        text("SELECT count(*) FROM naccs_status_event WHERE trade_id = :t"), {"t": trade.id}
    )
    assert taken == 1
    assert changes is not None


async def test_a_late_declared_never_replaces_the_permit_and_a_later_form_shows_it(
    client: httpx.AsyncClient, trade: Trade, bridge: dict[str, str]
) -> None:
    # The relay retried the EDC result and delivered it after the permit notice.
    permit = envelope(trade, status_item("permitted", PERMIT_AT, permit_no=DECLARATION_NO))
    late = envelope(trade, status_item("declared", DECLARED_AT, examination="1"))
    assert (await client.post("/internal/events", json=permit, headers=bridge)).status_code == 201
    answer = await client.post("/internal/events", json=late, headers=bridge)
    assert answer.status_code == 201
    assert answer.json() == {"recorded": True, "entries": 1, "changed": 0}
    # The form is created after the permit: the trade's status shows on it all the same, and the
    # examination category the late result carried is not taken over an entry that is later.
    packing_list = await created_form(client, trade, trade.shipper, "UL120", {})
    [status] = packing_list["naccs_status"]
    assert (status["state"], status["permit_no"], status["examination"]) == (
        "permitted",
        DECLARATION_NO,
        None,
    )


async def test_users_and_other_tokens_cannot_write_the_status(
    client: httpx.AsyncClient, trade: Trade, token_issuer: TestIssuer
) -> None:
    si = await created_form(client, trade, trade.shipper, "UL040", complete_si())
    event = envelope(trade, status_item("permitted", PERMIT_AT, **PERMIT))
    # A user of the trade, and a service token without internal:call, are refused.
    as_user = await client.post("/internal/events", json=event, headers=trade.shipper.headers)
    assert as_user.status_code == 403
    assert as_user.headers["content-type"].startswith("application/problem+json")
    reader = token_issuer.auth(subject="svc-x", kind="service", scopes=["forms:read"])
    assert (await client.post("/internal/events", json=event, headers=reader)).status_code == 403
    # Another service may publish events here, but not the bridge's customs status in its name.
    trades = token_issuer.auth(subject="svc-trades", kind="service", scopes=["internal:call"])
    forged = await client.post("/internal/events", json=event, headers=trades)
    assert forged.status_code == 403, forged.text
    assert "svc-naccs_bridge" in forged.json()["detail"]
    # Nor can the status be written through the form: it is no field of any form.
    smuggled = await client.put(
        f"/api/v1/forms/documents/{si['id']}",
        json={"values": {**complete_si(), "naccs_status": [event["data"]["customs_status"][0]]}},
        headers={**trade.shipper.headers, "If-Match": si["etag"]},
    )
    assert smuggled.status_code == 422, smuggled.text
    assert any("naccs_status" in str(e.get("field", "")) for e in smuggled.json()["errors"])
    beside = await client.put(
        f"/api/v1/forms/documents/{si['id']}",
        json={"values": complete_si(), "naccs_status": []},
        headers={**trade.shipper.headers, "If-Match": si["etag"]},
    )
    assert beside.status_code == 422
    assert (await read(client, si["id"], trade.shipper.headers)).json()["naccs_status"] == []


async def test_a_bad_item_refuses_the_whole_event_naming_the_field(
    client: httpx.AsyncClient, trade: Trade, bridge: dict[str, str]
) -> None:
    si = await created_form(client, trade, trade.shipper, "UL040", complete_si())
    good = status_item("declared", DECLARED_AT)
    wrong_state = {**status_item("declared", DECLARED_AT), "procedure": "container"}
    event = envelope(trade, good, wrong_state)
    refused = await client.post("/internal/events", json=event, headers=bridge)
    assert refused.status_code == 422, refused.text
    fields = [e.get("field") or ".".join(map(str, e["loc"])) for e in refused.json()["errors"]]
    assert any("customs_status.1.state" in f for f in fields), refused.json()
    unknown = envelope(trade, {**good, "state": "approved"})
    refused_too = await client.post("/internal/events", json=unknown, headers=bridge)
    assert refused_too.status_code == 422
    assert (await read(client, si["id"], trade.shipper.headers)).json()["naccs_status"] == []
    # The same event, corrected and redelivered, is then taken: nothing was half written before.
    fixed = {**event, "data": {"customs_status": [good]}}
    assert (await client.post("/internal/events", json=fixed, headers=bridge)).status_code == 201


async def test_events_without_customs_status_or_from_elsewhere_change_nothing(
    client: httpx.AsyncClient, trade: Trade, bridge: dict[str, str]
) -> None:
    si = await created_form(client, trade, trade.shipper, "UL040", complete_si())
    result = envelope(trade, type="naccs.result")
    result["data"] = {"code": "ECR", "outcome": "rejected", "customs_status": []}
    claimed = envelope(trade, status_item("permitted", PERMIT_AT), source="notifications")
    for event in (result, claimed):
        answer = await client.post("/internal/events", json=event, headers=bridge)
        assert answer.status_code == 200, answer.text
        assert answer.json()["recorded"] is False
    assert (await read(client, si["id"], trade.shipper.headers)).json()["naccs_status"] == []


async def test_a_non_participant_sees_no_form_and_no_status(
    client: httpx.AsyncClient, trade: Trade, bridge: dict[str, str]
) -> None:
    si = await created_form(client, trade, trade.shipper, "UL040", complete_si())
    await client.post(
        "/internal/events",
        json=envelope(trade, status_item("permitted", PERMIT_AT, **PERMIT)),
        headers=bridge,
    )
    outsider = await client.get(
        f"/api/v1/forms/documents/{si['id']}", headers=trade.outsider.headers
    )
    assert outsider.status_code == 404
