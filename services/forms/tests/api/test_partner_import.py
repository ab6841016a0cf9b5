"""A partner's S/I push, relayed by the notifications service, into the trade's UL040."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from shared.testing.tokens import TestIssuer

from .conftest import Trade, outbox_topics


def push(trade: Trade, **overrides: Any) -> dict[str, Any]:
    """What notifications stores for ``POST /tradewaltz/shipping-instructions``."""
    data: dict[str, Any] = {
        "message_id": "tw-0001",
        "trade_id": trade.id,
        "booking_number": "TYO0012345",
        "shipper": {"name": "Minato Trading K.K.", "address": "1-1 Kaigan\nMinato-ku, Tokyo"},
        "consignee": {"name": "ACME GmbH", "address": None, "corporate_number": None},
        "notify_party": None,
        "port_of_loading": "JPTYO",
        "port_of_discharge": "DEHAM",
        "vessel_name": "ONE HARMONY",
        "voyage": "012E",
        "commodity": "Shoes - black",
        "hs_code": "640510",
        "containers": [
            {"number": "MSCU6634879", "size_type": "45G1", "seal_number": "SL1",
             "gross_weight_kg": 12000.0}
        ],
    }  # fmt: skip
    data.update(overrides)
    return data


def service(issuer: TestIssuer, *scopes: str) -> dict[str, str]:
    return issuer.auth(subject="svc-notifications", kind="service", scopes=list(scopes))


async def test_a_push_creates_the_si_for_the_pushing_org_then_updates_it(
    client: httpx.AsyncClient, trade: Trade, token_issuer: TestIssuer, db_session: AsyncSession
) -> None:
    url = f"/internal/trades/{trade.id}/forms/UL040/imports"
    headers = {**service(token_issuer, "forms:write"), "Idempotency-Key": "inbound-1"}
    body = {"on_behalf_of_org": trade.shipper.id, "data": push(trade)}
    created = await client.post(url, json=body, headers=headers)
    assert created.status_code == 201, created.text
    answer = created.json()
    assert answer["created"] is True
    assert answer["version"] == 1

    replay = await client.post(url, json=body, headers=headers)
    assert replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"

    form = await client.get(
        f"/api/v1/forms/documents/{answer['form_id']}", headers=trade.forwarder.headers
    )
    values = form.json()["values"]
    assert form.json()["created_by_org_id"] == trade.shipper.id
    assert values["shipper"]["addressLines"] == ["1-1 Kaigan", "Minato-ku, Tokyo"]
    assert values["containers"][0] == {
        "containerNo": "MSCU6634879",
        "sizeTypeCode": "45G1",
        "sealNumbers": ["SL1"],
        "cargoWeight": 12000,
        "cargoWeightUnitCode": "KGM",
    }
    assert form.json()["provenance"]["commodity"]["message_id"] == "inbound-1"

    second = await client.post(
        url,
        json={"on_behalf_of_org": trade.shipper.id, "data": push(trade, voyage="013E")},
        headers={**service(token_issuer, "forms:write"), "Idempotency-Key": "inbound-2"},
    )
    assert second.status_code == 200
    assert second.json() == {"form_id": answer["form_id"], "version": 2, "created": False}
    assert (await outbox_topics(db_session, trade.id)).count("form.updated") == 1


async def test_only_forms_write_services_for_participants_with_valid_data(
    client: httpx.AsyncClient, trade: Trade, token_issuer: TestIssuer
) -> None:
    url = f"/internal/trades/{trade.id}/forms/UL040/imports"
    body = {"on_behalf_of_org": trade.shipper.id, "data": push(trade)}
    assert (await client.post(url, json=body, headers=trade.shipper.headers)).status_code == 403
    read_only = service(token_issuer, "forms:read")
    assert (await client.post(url, json=body, headers=read_only)).status_code == 403

    writer = service(token_issuer, "forms:write")
    outsider = {"on_behalf_of_org": trade.outsider.id, "data": push(trade)}
    assert (await client.post(url, json=outsider, headers=writer)).status_code == 404

    bad = {"on_behalf_of_org": trade.shipper.id, "data": push(trade, hs_code="64")}
    refused = await client.post(url, json=bad, headers=writer)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "values.commodity[0].hsCode"
    empty = {"on_behalf_of_org": trade.shipper.id, "data": {"message_id": "x"}}
    assert (await client.post(url, json=empty, headers=writer)).status_code == 422
