"""NACCS results written back into the trade's Cyber Port forms, through real processes: the shipper's
S/I in the forms service, the forwarder's ECR → EDA → EDC through the bridge and the NACCS stand-in,
customs time passed at the stand-in, the permit notice picked up by the bridge's poller, and its outbox relay writing the customs status
into forms, where the shipper reads it on the S/I through the gateway."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from shared.devstack.stack import NACCS_STANDIN, Stack
from tests.e2e.journey import linked_to_naccs, sent
from tests.e2e.test_naccs_e2e import (
    BONDED_AREAS_CSV,
    BUNDLE,
    COMPANIES_CSV,
    EDA_ENTRIES,
    PRODUCTS_CSV,
    VESSELS_CSV,
    a_forwarder_admin,
)

SHIPPING_INSTRUCTIONS: dict[str, Any] = {
    "shipper": {"name": "MINATO DENKI CO., LTD."},
    "consignee": {"name": "Pacific Motion Supply Inc."},
    "bookingNo": "ONEYTYOE12345600",
    "marksAndNumbers": "PMS LOS ANGELES",
}


def test_the_permit_shows_on_the_shippers_si(
    gateway: httpx.Client, stack: Stack, sign: Callable[..., str]
) -> None:
    forwarder = a_forwarder_admin(gateway, stack)
    linked_to_naccs(
        gateway,
        forwarder,
        "MNTWB",
        {
            "companies": COMPANIES_CSV,
            "products": PRODUCTS_CSV,
            "bonded_areas": BONDED_AREAS_CSV,
            "vessels": VESSELS_CSV,
        },
    )
    trade = gateway.post(
        "/api/v1/trades",
        json={"direction": "export", "owner_role": "forwarder", "owner_display_name": "Minato FW"},
        headers={**forwarder, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert trade.status_code == 201, trade.text
    trade_id = trade.json()["id"]

    shipper_org = str(uuid.uuid4())
    shipper = {"Authorization": f"Bearer {sign(org=shipper_org, forms={'UL040': 'readwrite'})}"}
    invited = gateway.post(
        f"/api/v1/trades/{trade_id}/participants",
        json={"org_id": shipper_org, "display_name": "Minato Denki", "role": "shipper"},
        headers={**forwarder, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert invited.status_code == 201, invited.text
    accepted = gateway.post(f"/api/v1/trades/{trade_id}/participants/me/accept", headers=shipper)
    assert accepted.status_code == 200, accepted.text
    created = gateway.post(
        f"/api/v1/forms/trades/{trade_id}/documents",
        json={"form_type": "UL040", "values": SHIPPING_INSTRUCTIONS},
        headers={**shipper, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert created.status_code == 201, created.text
    si = created.json()
    assert si["naccs_status"] == []

    control_no = sent(gateway, forwarder, trade_id, "ECR", {"bundle": BUNDLE})["reference_no"]
    eda = {"bundle": BUNDLE, "entries": EDA_ENTRIES}
    declaration_no = sent(gateway, forwarder, trade_id, "EDA", eda)["reference_no"]
    assert sent(gateway, forwarder, trade_id, "EDC", {"bundle": BUNDLE})["reference_no"] == (
        declaration_no
    )
    # Customs examines (up to 3 x the stand-in's 60 s): let that time pass at the stand-in at once.
    standin = stack.processes[NACCS_STANDIN.name].url
    assert httpx.post(f"{standin}/admin/clock", params={"advance_s": 180}).status_code == 200
    # The bridge fetches the permit notice by itself and its relay writes it into forms.
    deadline = time.monotonic() + 20
    while True:
        read = gateway.get(f"/api/v1/forms/documents/{si['id']}", headers=shipper)
        assert read.status_code == 200, read.text
        shown = {s["procedure"]: s for s in read.json()["naccs_status"]}
        if shown.get("export_declaration", {}).get("state") == "permitted":
            break
        assert time.monotonic() < deadline, shown
        time.sleep(0.2)

    permit = shown["export_declaration"]
    assert (permit["number"], permit["permit_no"], permit["state_ja"]) == (
        declaration_no,
        declaration_no,
        "許可",
    )
    assert permit["permitted_on"] is not None
    assert permit["source"]["telegram"] == "permit_notice"
    assert (shown["export_cargo"]["number"], shown["export_cargo"]["state"]) == (
        control_no,
        "registered",
    )
    # The S/I itself is as the shipper wrote it; the permit changed its ETag, not its version.
    assert read.json()["values"]["marksAndNumbers"] == "PMS LOS ANGELES"
    assert read.json()["version"] == si["version"]
    assert read.headers["ETag"] != si["etag"]
