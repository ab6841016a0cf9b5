"""The import journey through real processes, from the forms the participants fill to the import permit.

The carrier issues the arrival notice (A/N) and the delivery order (D/O), the importer (consignee) the
invoice and packing list, all through the gateway's forms API. The customs broker (a real user with a
linked NACCS 利用者ID) prepares IDA with no data in the request: the bridge reads the trade's forms from
the forms service, the broker enters what only a broker decides, sends, the NACCS stand-in (a separate
process reading the bytes) gives the 申告番号, IDC declares it, and the 輸入許可通知 arrives later as an
output message: on the NACCS forms, on the trade's timeline and status, and in the event log.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from shared.codes import corporate_number_check_digit
from shared.devstack.stack import NACCS_STANDIN, Stack
from tests.e2e.journey import (
    filled,
    item,
    joined,
    linked_to_naccs,
    wait_for_send,
    with_form_rights,
)
from tests.e2e.test_naccs_e2e import an_org_admin

IMPORTER_BASE = "020001077777"
IMPORTER_CORPORATE_NUMBER = f"{corporate_number_check_digit(IMPORTER_BASE)}{IMPORTER_BASE}"
# The broker's customs master: the importer with its payment profile, the storage CY, the vessel.
COMPANIES_CSV = (
    "company_id,name_en,corporate_number,postal_code,address1,address2,address3,phone,"
    "payment_method,bank_account_no\n"
    f'minato-kagu,"MINATO KAGU K.K.",{IMPORTER_CORPORATE_NUMBER},2310023,KANAGAWA KEN,'
    "YOKOHAMA SHI,1-1 YAMASHITA CHO,045-555-0100,A,12345678901234\n"
)
BONDED_AREAS_CSV = (
    "code,name,customs_office,customs_department\n2DW11,HONMOKU D4 CONTAINER TERMINAL,2D,11\n"
)
VESSELS_CSV = "name,call_sign,nationality\nONE HARMONY,9V7654,SG\n"
# What only the customs broker decides: 申告種別, invoice and price kinds, the freight/insurance/
# valuation regime, the tariff code (品目コード) with its statistical quantity, the internal tax.
BROKER_ENTRIES = {
    "declaration_type1": "C",
    "invoice_identification": "B",
    "price_class": "A",
    "freight_class": "A",
    "insurance_class": "A",
    "valuation_class": "1",
    "lines.0.hs_code": "940169000",
    "lines.0.quantity1": "300",
    "lines.0.quantity1_unit": "NO",
    "lines.0.excise_kind1": "F1",
}
BL_NO = "ONEYSGNE42424200"
CONTAINER_NO = "ONEU1234566"

ARRIVAL_NOTICE: dict[str, Any] = {
    "billOfLading": {"blNo": BL_NO},
    "shipper": {
        "name": "SAIGON WOOD FURNITURE CO., LTD.",
        "addressLines": ["12 Nguyen Hue Street", "District 1"],
        "city": "Ho Chi Minh City",
        "postalCode": "700000",
        "countryCode": "VN",
    },
    "consignee": {
        "name": "MINATO KAGU K.K.",
        "corporateNumber": IMPORTER_CORPORATE_NUMBER,
        "addressLines": ["1-1 Yamashita-cho", "Naka-ku"],
        "city": "Yokohama",
        "countryCode": "JP",
    },
    "vessel": {"name": "ONE HARMONY"},
    "voyageNumber": "026N",
    "portOfLoading": {"code": "VNSGN"},
    "portOfDischarge": {"code": "JPYOK"},
    "estimatedArrivalDate": "2026-12-08",
    "commodity": [
        {
            "description": "Wooden dining chairs",
            "packages": 300,
            "packageUnitCode": "CT",
            "grossWeight": 2100,
            "grossWeightUnitCode": "KGM",
        }
    ],
    "marksAndNumbers": "MK YOKOHAMA 1-300",
    "totalPackages": 300,
    "totalPackagesUnitCode": "CT",
    "commodityTotalGrossWeight": 2100,
    "commodityTotalGrossWeightUnitCode": "KGM",
    "containers": [{"containerNo": CONTAINER_NO, "sizeTypeCode": "45G1"}],
    "storageFacility": {"name": "HONMOKU D4 CONTAINER TERMINAL", "bondedAreaCode": "2DW11"},
    "charges": [{"description": "Ocean freight", "amount": 1850, "currencyCode": "USD"}],
    "freeTimeExpiryDate": "2026-12-15",
}
DELIVERY_ORDER: dict[str, Any] = {
    "deliveryOrderNo": "DO-YOK-0042",
    "releaseTo": {"name": "MINATO KAGU K.K."},
    "storageFacility": {"name": "HONMOKU D4 CONTAINER TERMINAL", "bondedAreaCode": "2DW11"},
    "validUntil": "2026-12-15",
}
INVOICE: dict[str, Any] = {
    "invoiceNo": "SWF-2026-0815",
    "invoiceDate": "2026-11-20",
    "incoterms": "CIF",
    "currencyCode": "JPY",
    "totalAmount": 2400000,
    "freightAmount": 270000,
    "insuranceAmount": 24000,
    "commodity": [
        {
            "description": "Wooden dining chairs",
            "countryOfOriginCode": "VN",
            "quantity": 300,
            "quantityUnitCode": "PCE",
            "unitPrice": 8000,
            "amount": 2400000,
            "currencyCode": "JPY",
        }
    ],
}
PACKING_LIST: dict[str, Any] = {
    "packingListNo": "SWF-PL-0815",
    "invoiceNo": "SWF-2026-0815",
    "commodity": [
        {
            "description": "Wooden dining chairs",
            "packages": 300,
            "packageUnitCode": "CT",
            "grossWeight": 2100,
            "grossWeightUnitCode": "KGM",
            "netWeight": 1950,
            "netWeightUnitCode": "KGM",
        }
    ],
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def wait_for(predicate: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def moved_to(gateway: httpx.Client, who: dict[str, str], trade_id: str, status: str) -> None:
    etag = gateway.get(f"/api/v1/trades/{trade_id}", headers=who).headers["ETag"]
    moved = gateway.post(
        f"/api/v1/trades/{trade_id}/status",
        json={"status": status},
        headers={**who, "If-Match": etag},
    )
    assert moved.status_code == 200, moved.text


def test_import_from_the_arrival_notice_to_the_import_permit(
    gateway: httpx.Client, stack: Stack, sign: Callable[..., str]
) -> None:
    # The broker: a real user of a customs-broker organisation, who reads the A/N, invoice and
    # packing list (rights its admin grants, in the token from the next refresh).
    broker_tokens = an_org_admin(gateway, stack, "customs_broker")
    broker = with_form_rights(
        gateway, broker_tokens, {"UL290": "read", "UL100": "read", "UL120": "read"}
    )
    me = linked_to_naccs(
        gateway,
        broker,
        "MNTCB",
        {"companies": COMPANIES_CSV, "bonded_areas": BONDED_AREAS_CSV, "vessels": VESSELS_CSV},
    )
    broker_org = me["org_id"]

    importer_org, carrier_org = str(uuid.uuid4()), str(uuid.uuid4())
    importer = bearer(
        sign(
            org=importer_org,
            btypes=["shipper"],
            forms={"UL100": "readwrite", "UL120": "readwrite", "UL290": "read", "MX200": "read"},
        )
    )
    carrier = bearer(
        sign(
            org=carrier_org, btypes=["carrier"], forms={"UL290": "readwrite", "MX200": "readwrite"}
        )
    )
    trade = gateway.post(
        "/api/v1/trades",
        json={
            "direction": "import",
            "owner_role": "consignee",
            "owner_display_name": "Minato Kagu",
            "bl_no": BL_NO,
        },
        headers={**importer, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert trade.status_code == 201, trade.text
    trade_id = trade.json()["id"]
    joined(gateway, importer, trade_id, carrier, carrier_org, "carrier")
    joined(gateway, importer, trade_id, broker, broker_org, "customs_broker")

    filled(gateway, carrier, trade_id, "UL290", ARRIVAL_NOTICE)
    filled(gateway, carrier, trade_id, "MX200", DELIVERY_ORDER)
    filled(gateway, importer, trade_id, "UL100", INVOICE)
    filled(gateway, importer, trade_id, "UL120", PACKING_LIST)

    # The carrier tells the trade the cargo has arrived (an import permit clears an arrived trade).
    for status in ("shipped", "arrived"):
        moved_to(gateway, carrier, trade_id, status)

    # The broker prepares IDA with nothing in the request: the bridge reads the trade's forms.
    prepared = gateway.put(f"/api/v1/naccs/trades/{trade_id}/forms/IDA", json={}, headers=broker)
    assert prepared.status_code == 201, prepared.text
    ida = prepared.json()
    for key, index, value, source, master in (
        ("storage_code", None, "2DW11", "form:AN.storageFacility.bondedAreaCode", None),
        ("customs_office", None, "2D", "form:AN.storageFacility.bondedAreaCode",
         "master:bondedAreas[2DW11]"),
        ("importer_code", None, f"{IMPORTER_CORPORATE_NUMBER}0000", "rule:importer",
         "master:companies[minato-kagu]"),
        ("payment_method", None, "A", "rule:importer", "master:companies[minato-kagu]"),
        ("exporter_name", None, "SAIGON WOOD FURNITURE CO., LTD.", "rule:import_exporter", None),
        ("exporter_country", None, "VN", "rule:import_exporter", None),
        ("bl_no", 0, BL_NO, "rule:bl_numbers.0.blNo", None),
        ("vessel_code", None, "9V7654", "form:AN.vessel", "master:vessels[9V7654]"),
        ("arrival_date", None, "20261208", "form:AN.estimatedArrivalDate", None),
        ("discharge_port", None, "JPYOK", "form:AN.portOfDischarge", None),
        ("packages", None, "300", "form:AN.totalPackages", None),
        ("container_count", None, "1", "rule:container_count", None),
        ("invoice_no", None, "SWF-2026-0815", "form:IV.invoiceNo", None),
        ("invoice_terms", None, "CIF", "form:IV.incoterms", None),
        ("invoice_amount", None, "2400000", "form:IV.totalAmount", None),
        ("description", 0, "WOODEN DINING CHAIRS", "form:IV.commodity.0.description", None),
        ("origin_country", 0, "VN", "form:IV.commodity.0.countryOfOriginCode", None),
        ("declarant_code", None, "MNTCB", "config:declarant_user_code", None),
        # The trade's number, from the trades service (the forms hold none): 社内整理用番号.
        ("in_house_no", None, trade.json()["trade_no"], "shared:shared.tradeNo", None),
    ):  # fmt: skip
        found = item(ida, key, index)
        assert (found["value"], found["source"]) == (value, source), (key, found)
        if master:
            assert found["master"] == master, (key, found)
    # What is left is what only a customs broker decides: the declaration and valuation regime,
    # the tariff classification and its statistical quantity, the internal taxes.
    assert ida["ready_to_send"] is False
    assert set(ida["pending_for_person"]) == set(BROKER_ENTRIES)
    autofill = ida["autofill"]
    assert autofill["remaining_for_person"] == ida["pending_for_person"]
    assert autofill["auto_filled"] == autofill["normally_filled"] - len(BROKER_ENTRIES)
    assert autofill["ratio"] == round(autofill["auto_filled"] / autofill["normally_filled"], 4)
    assert autofill["ratio"] > 0.8, autofill

    entered = gateway.patch(
        f"/api/v1/naccs/trades/{trade_id}/forms/IDA/entries",
        json={"entries": BROKER_ENTRIES},
        headers=broker,
    )
    assert entered.status_code == 200, entered.text
    assert entered.json()["ready_to_send"] is True, entered.json()["pending_for_person"]
    assert item(entered.json(), "hs_code", 0)["source_kind"] == "entered"

    sent = gateway.post(f"/api/v1/naccs/trades/{trade_id}/forms/IDA/sends", headers=broker)
    assert sent.status_code == 202, sent.text
    assert sent.json()["naccs_user_id"] == "MNTCB001"
    registered = wait_for_send(gateway, broker, sent.json()["id"])
    assert registered["result"]["accepted"] is True, registered
    declaration_no = registered["result"]["reference_no"]
    assert re.fullmatch(r"[0-9]{11}", declaration_no), declaration_no  # 申告番号

    idc = gateway.put(f"/api/v1/naccs/trades/{trade_id}/forms/IDC", json={}, headers=broker)
    assert idc.status_code == 201, idc.text
    assert item(idc.json(), "declaration_no")["value"] == declaration_no
    assert idc.json()["ready_to_send"] is True, idc.json()["pending_for_person"]
    idc_send = gateway.post(f"/api/v1/naccs/trades/{trade_id}/forms/IDC/sends", headers=broker)
    declared = wait_for_send(gateway, broker, idc_send.json()["id"])
    assert declared["result"]["accepted"] is True, declared

    # Customs examines (審査区分 1-3, each a permit delay); the stand-in lets that time pass at once,
    # and the bridge picks the 輸入許可通知 up from NACCS's outbox by itself, some time later.
    forms = gateway.get(f"/api/v1/naccs/trades/{trade_id}/forms", headers=importer).json()
    assert {f["code"]: f["status"] for f in forms} == {"IDA": "accepted", "IDC": "accepted"}
    standin = stack.processes[NACCS_STANDIN.name].url
    assert httpx.post(f"{standin}/admin/clock", params={"advance_s": 3 * 60}).status_code == 200

    def permitted() -> dict[str, str] | None:
        forms = gateway.get(f"/api/v1/naccs/trades/{trade_id}/forms", headers=importer).json()
        statuses = {f["code"]: f["status"] for f in forms}
        return statuses if statuses.get("IDA") == "permitted" else None

    statuses = wait_for(permitted, 20, "the import permit on the NACCS forms")
    assert statuses == {"IDA": "permitted", "IDC": "permitted"}
    [permit] = gateway.get(
        f"/api/v1/naccs/trades/{trade_id}/output-messages", headers=importer
    ).json()
    assert (permit["output_info_code"], permit["subject"]) == ("SAD0030", declaration_no)
    assert BL_NO in permit["decoded"]["lines"]

    # The permit is on the trade: its timeline, its status (arrived -> cleared), the delivery task
    # (no forwarder in this trade, so the owner gets it), and the platform's event log.
    def on_timeline() -> list[dict[str, Any]]:
        timeline = gateway.get(
            f"/api/v1/trades/{trade_id}/timeline", params={"kind": "naccs.permit"}, headers=carrier
        )
        items: list[dict[str, Any]] = timeline.json()["items"]
        return items

    [entry] = wait_for(on_timeline, 20, "the permit on the trade's timeline")
    assert entry["source"] == "naccs_bridge"
    assert declaration_no in entry["summary"]
    assert gateway.get(f"/api/v1/trades/{trade_id}", headers=importer).json()["status"] == "cleared"
    tasks = gateway.get(f"/api/v1/trades/{trade_id}/tasks", headers=importer).json()
    assert any("delivery" in task["title"] for task in tasks), tasks

    def logged() -> list[dict[str, Any]]:
        events = gateway.get(
            "/api/v1/notifications/events",
            params={"trade_id": trade_id, "type": "naccs.permit"},
            headers=importer,
        )
        found: list[dict[str, Any]] = events.json().get("items", [])
        return found

    [event] = wait_for(logged, 20, "naccs.permit in the notifications event log")
    assert event["data"]["direction"] == "import"
    assert event["data"]["declaration_no"] == declaration_no

    # What each participant sees of the forms: its own and those its rights cover.
    def form_types(who: dict[str, str]) -> set[str]:
        listed = gateway.get(f"/api/v1/forms/trades/{trade_id}/documents", headers=who)
        assert listed.status_code == 200, listed.text
        return {d["form_type"] for d in listed.json()["items"]}

    assert form_types(importer) == {"UL290", "MX200", "UL100", "UL120"}
    assert form_types(carrier) == {"UL290", "MX200"}  # no right on the importer's invoice
    assert form_types(broker) == {"UL290", "UL100", "UL120"}  # what the broker declares from

    # Someone outside the trade sees none of it, wherever they ask.
    stranger = bearer(sign(org=str(uuid.uuid4()), forms={"UL290": "read", "UL100": "read"}))
    for path in (
        f"/api/v1/trades/{trade_id}",
        f"/api/v1/trades/{trade_id}/timeline",
        f"/api/v1/forms/trades/{trade_id}/documents",
        f"/api/v1/naccs/trades/{trade_id}/forms",
        f"/api/v1/naccs/trades/{trade_id}/forms/IDA",
        f"/api/v1/naccs/trades/{trade_id}/output-messages",
    ):
        response = gateway.get(path, headers=stranger)
        assert response.status_code == 404, (path, response.status_code, response.text)
