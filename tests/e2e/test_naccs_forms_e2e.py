"""ECR from the real forms: the carrier fills the booking confirmation and the shipper the S/I through the
gateway's forms API; the forwarder prepares the ECR with no data in the request, so the bridge reads the
trade's forms from the forms service, and the NACCS stand-in (a separate process) accepts what it sends."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from shared.devstack.stack import NACCS_STANDIN, Stack
from tests.e2e.journey import filled, item, joined, linked_to_naccs, wait_for_send
from tests.e2e.test_naccs_e2e import (
    BONDED_AREAS_CSV,
    COMPANIES_CSV,
    VESSELS_CSV,
    a_forwarder_admin,
)

BOOKING_CONFIRMATION: dict[str, Any] = {
    "bookingNo": "ONEYTYOE77777700",
    "scacCode": "ONEY",
    "vessel": {"name": "ONE HARMONY"},
    "voyageNumber": "025E",
    "portOfLoading": {"code": "JPTYO"},
    "portOfDischarge": {"code": "USLAX"},
    "estimatedDepartureDate": "2026-12-01",
    "returnFacility": {"name": "OHI CONTAINER TERMINAL", "bondedAreaCode": "1AW61"},
    "cargoMovementType": "FCL",
    "containerRequests": [{"sizeTypeCode": "45G1", "quantity": 1}],
}
SHIPPING_INSTRUCTIONS: dict[str, Any] = {
    "shipper": {
        "name": "MINATO DENKI CO., LTD.",
        "corporateNumber": "4010401034567",
        "addressLines": ["3-4-1 SHIBAURA", "MINATO KU"],
        "city": "TOKYO",
        "countryCode": "JP",
    },
    "consignee": {
        "name": "Pacific Motion Supply Inc.",
        "addressLines": ["1200 Harbor Blvd"],
        "city": "Long Beach",
        "postalCode": "90802",
        "countryCode": "US",
    },
    "finalDestination": {"code": "USLAX", "name": "Los Angeles"},
    "commodity": [
        {
            "description": "Industrial AC servo motors",
            "hsCode": "850152",
            "packages": 80,
            "packageUnitCode": "CT",
            "grossWeight": 3500,
            "grossWeightUnitCode": "KGM",
        }
    ],
    "totalPackages": 80,
    "totalPackagesUnitCode": "CT",
    "commodityTotalGrossWeight": 3500,
    "commodityTotalGrossWeightUnitCode": "KGM",
    "commodityTotalMeasurement": 20.5,
    "commodityTotalMeasurementUnitCode": "MTQ",
    "marksAndNumbers": "PMS LOS ANGELES",
    "incoterms": "FOB",
    "invoiceNo": "MD-2026-1199",
}


def test_ecr_is_prefilled_from_the_booking_and_si_the_participants_filled(
    gateway: httpx.Client, stack: Stack, sign: Callable[..., str]
) -> None:
    forwarder = a_forwarder_admin(gateway, stack)
    linked_to_naccs(
        gateway,
        forwarder,
        "MNTFF",
        {"companies": COMPANIES_CSV, "bonded_areas": BONDED_AREAS_CSV, "vessels": VESSELS_CSV},
    )

    trade = gateway.post(
        "/api/v1/trades",
        json={"direction": "export", "owner_role": "forwarder", "owner_display_name": "Minato FW"},
        headers={**forwarder, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert trade.status_code == 201, trade.text
    trade_id = trade.json()["id"]

    carrier_org, shipper_org = str(uuid.uuid4()), str(uuid.uuid4())
    carrier = {"Authorization": f"Bearer {sign(org=carrier_org, forms={'UL050': 'readwrite'})}"}
    shipper = {"Authorization": f"Bearer {sign(org=shipper_org, forms={'UL040': 'readwrite'})}"}
    joined(gateway, forwarder, trade_id, carrier, carrier_org, "carrier")
    joined(gateway, forwarder, trade_id, shipper, shipper_org, "shipper")

    filled(gateway, carrier, trade_id, "UL050", BOOKING_CONFIRMATION)
    si = filled(gateway, shipper, trade_id, "UL040", SHIPPING_INSTRUCTIONS)

    # No bundle in the request: the bridge reads the trade's forms from the forms service.
    prepared = gateway.put(f"/api/v1/naccs/trades/{trade_id}/forms/ECR", json={}, headers=forwarder)
    assert prepared.status_code == 201, prepared.text
    ecr = prepared.json()
    for key, index, value, source, master in (
        ("booking_no", None, "ONEYTYOE77777700", "form:BK.bookingNo", None),
        ("carrier_code", None, "ONEY", "form:BK.scacCode", None),
        ("vessel_code", None, "9V7654", "form:BK.vessel", "master:vessels[9V7654]"),
        ("loading_port", None, "JPTYO", "form:BK.portOfLoading", None),
        ("final_destination", None, "USLAX", "form:SI.finalDestination", None),
        ("exporter_code", None, "40104010345670000", "rule:exporter",
         "master:companies[minato-denki]"),
        ("goods_description", None, "INDUSTRIAL AC SERVO MOTORS", "form:SI.commodity", None),
        ("total_packages", None, "80", "form:SI.totalPackages", None),
        ("total_gross_weight", None, "3500", "form:SI.commodityTotalGrossWeight", None),
        ("marks", None, "PMS LOS ANGELES", "form:SI.marksAndNumbers", None),
        ("carry_in_code", 0, "1AW61", "rule:carry_in_from_booking.0.bondedAreaCode", None),
        ("carry_in_name", 0, "OHI CONTAINER TERMINAL", "rule:carry_in_from_booking.0.bondedAreaCode",
         "master:bondedAreas[1AW61]"),
    ):  # fmt: skip
        found = item(ecr, key, index)
        assert (found["value"], found["source"]) == (value, source), (key, found)
        if master:
            assert found["master"] == master, (key, found)
    # The one item no form carries: when the cargo goes into the bonded area, the forwarder's call.
    assert ecr["pending_for_person"] == ["carry_in.0.carry_in_date"]
    autofill = gateway.get(
        f"/api/v1/naccs/trades/{trade_id}/forms/ECR/autofill", headers=forwarder
    ).json()
    assert autofill["remaining_for_person"] == ["carry_in.0.carry_in_date"]
    assert autofill["auto_filled"] == autofill["normally_filled"] - 1
    assert autofill["ratio"] == round(autofill["auto_filled"] / autofill["normally_filled"], 4)
    assert autofill["by_source"]["form"] > autofill["by_source"].get("master", 0) > 0

    # The shipper corrects the S/I; refreshing the NACCS form reads the forms again.
    etag = gateway.get(f"/api/v1/forms/documents/{si['id']}", headers=shipper).headers["ETag"]
    corrected = gateway.put(
        f"/api/v1/forms/documents/{si['id']}",
        json={"values": {**SHIPPING_INSTRUCTIONS, "totalPackages": 82}},
        headers={**shipper, "If-Match": etag},
    )
    assert corrected.status_code == 200, corrected.text
    refreshed = gateway.put(
        f"/api/v1/naccs/trades/{trade_id}/forms/ECR",
        json={"entries": {"carry_in.0.carry_in_date": "20261127"}},
        headers=forwarder,
    )
    assert refreshed.status_code == 200, refreshed.text
    assert item(refreshed.json(), "total_packages")["value"] == "82"
    assert item(refreshed.json(), "carry_in_packages", 0)["value"] == "82"
    assert refreshed.json()["ready_to_send"] is True, refreshed.json()["pending_for_person"]

    stranger = {"Authorization": f"Bearer {sign(org=str(uuid.uuid4()), forms={'UL040': 'read'})}"}
    assert (
        gateway.get(f"/api/v1/naccs/trades/{trade_id}/forms/ECR", headers=stranger).status_code
        == 404
    )

    queued = gateway.post(f"/api/v1/naccs/trades/{trade_id}/forms/ECR/sends", headers=forwarder)
    assert queued.status_code == 202, queued.text
    result = wait_for_send(gateway, forwarder, queued.json()["id"])["result"]
    assert result["accepted"] is True, result
    assert re.fullmatch(r"[0-9]{4}E[0-9]{7}", result["reference_no"])  # 輸出管理番号
    standin = stack.processes[NACCS_STANDIN.name].url
    receipts = httpx.get(
        f"{standin}/receipts", params={"input_id_no": queued.json()["input_id_no"]}
    ).json()
    assert [(r["business_code"], r["result_codes"]) for r in receipts["receipts"]] == [
        ("ECR", "00000-0000-0000")
    ]
    ecr = gateway.get(f"/api/v1/naccs/trades/{trade_id}/forms/ECR", headers=forwarder).json()
    assert (ecr["status"], ecr["reference_no"]) == ("accepted", result["reference_no"])
