import copy
import json
from pathlib import Path
from typing import Any

import pytest

from forms.domain.dcsa import (
    ORIGINAL_KEY,
    build_shipping_instructions,
    export_booking,
    export_shipping_instructions,
    import_booking,
    import_shipping_instructions,
)
from forms.domain.paths import expand
from forms.domain.validation import normalized_values, validate_form


def _fixtures_dir() -> Path:
    # CI clones the repository with the read-only `shared/` reference folder beside it.
    for parent in Path(__file__).resolve().parents:
        candidate = parent.parent / "shared" / "interop" / "dcsa"
        if candidate.is_dir():
            return candidate
    raise RuntimeError("DCSA fixtures not found: expected <repo>/../shared/interop/dcsa")


# Module level because the fixture files parametrize the tests at collection time.
FIXTURES = _fixtures_dir()
_BOOKING_FILES = ("create-booking", "update-booking", "get-booking", "notification_")
_SI_FILES = ("create-si_", "get-si_", "notification-si_")


def _documents(folder: str, prefixes: tuple[str, ...], embedded: tuple[str, ...]) -> list[Any]:
    """Every booking/SI document in the fixtures, including those inside full notifications."""
    cases = []
    for path in sorted((FIXTURES / folder).glob("*.json")):
        if not any(prefix in path.name for prefix in prefixes) or "response-202" in path.name:
            continue
        payload = json.loads(path.read_text(encoding="utf-8"))
        if "specversion" in payload:
            for key in embedded:
                if key in payload.get("data", {}):
                    cases.append(pytest.param(payload["data"][key], id=f"{path.stem}:{key}"))
        else:
            cases.append(pytest.param(payload, id=path.stem))
    return cases


BOOKINGS = _documents("booking", _BOOKING_FILES, ("booking", "amendedBooking"))
SHIPPING_INSTRUCTIONS = _documents(
    "si", _SI_FILES, ("shippingInstructions", "updatedShippingInstructions")
)


def test_fixture_discovery_finds_every_booking_and_si() -> None:
    assert len(BOOKINGS) >= 8
    assert len(SHIPPING_INSTRUCTIONS) >= 5


@pytest.mark.parametrize("payload", BOOKINGS)
def test_booking_round_trips_without_attribute_loss(payload: dict[str, Any]) -> None:
    original = copy.deepcopy(payload)
    form = import_booking(payload)
    assert export_booking(form) == original
    assert payload == original  # import does not mutate the partner's document


@pytest.mark.parametrize("payload", SHIPPING_INSTRUCTIONS)
def test_si_round_trips_without_attribute_loss(payload: dict[str, Any]) -> None:
    original = copy.deepcopy(payload)
    form = import_shipping_instructions(payload)
    assert export_shipping_instructions(form) == original


@pytest.mark.parametrize("payload", BOOKINGS)
def test_booking_round_trips_after_being_stored_normalised(payload: dict[str, Any]) -> None:
    # Storage keeps the schema's canonical spelling (e.g. the DG example's proper shipping name
    # loses its trailing newline); that must not read as an edit on export.
    stored = normalized_values("MX010", import_booking(payload))
    assert export_booking(stored) == payload


@pytest.mark.parametrize("payload", SHIPPING_INSTRUCTIONS)
def test_si_round_trips_after_being_stored_normalised(payload: dict[str, Any]) -> None:
    stored = normalized_values("UL040", import_shipping_instructions(payload))
    assert export_shipping_instructions(stored) == payload


@pytest.mark.parametrize("payload", BOOKINGS)
def test_imported_booking_is_a_savable_draft(payload: dict[str, Any]) -> None:
    report = validate_form("MX010", import_booking(payload))
    assert report.invalid == ()


def test_si_import_maps_what_we_understand() -> None:
    payload = json.loads((FIXTURES / "si" / "ebl303_create-si_regular.json").read_text())
    form = import_shipping_instructions(payload)
    assert form["shipper"]["name"] == "DCSA CTK"
    assert form["bookingNo"] == "CBR_123_REGULAR"
    assert form["billOfLading"]["documentType"] == "BOL"
    assert form["billOfLading"]["isToOrder"] is True
    assert form["commodity"][0] | {} == {
        "lineNo": 1,
        "description": "Shoes - black",
        "hsCode": "640510",
        "packages": 400,
        "packageUnitCode": "4G",
        "grossWeight": 12000,
        "grossWeightUnitCode": "KGM",
        "containerNo": "NARU3472484",
    }
    assert form["containers"] == [
        {"containerNo": "NARU3472484", "isShipperOwned": False, "sealNumbers": ["DCSA-CTK-1234"]}
    ]
    assert validate_form("UL040", form).invalid == ()


def test_si_import_keeps_invalid_partner_data_and_validation_names_it() -> None:
    # The DCSA DG example uses HLXU1234567; its ISO 6346 check digit is 1, not 7.
    payload = json.loads((FIXTURES / "si" / "ebl303_get-si_dg.json").read_text())
    form = import_shipping_instructions(payload)
    assert form["containers"][0]["containerNo"] == "HLXU1234567"
    assert form["containers"][0]["sizeTypeCode"] == "22G1"
    assert form["containers"][0]["tareWeight"] == 2370
    invalid = {issue.path for issue in validate_form("UL040", form).invalid}
    assert "containers[0].containerNo" in invalid


def test_booking_import_maps_route_vessel_equipment_and_dangerous_goods() -> None:
    payload = json.loads((FIXTURES / "booking" / "bkg204_create-booking_dg.json").read_text())
    form = import_booking(payload)
    assert form["portOfLoading"] == {"code": "DEBRV", "name": "Bremerhaven"}
    assert form["portOfDischarge"] == {"code": "USORF", "name": "Norfolk"}
    assert form["vessel"] == {"name": "MAERSK IOWA", "imoNumber": "9298686"}
    assert form["voyageNumber"] == "403W"
    assert form["containerRequests"] == [
        {
            "sizeTypeCode": "42G1",
            "quantity": 3,
            "isShipperOwned": False,
            "commodityLineNumbers": [1],
        }
    ]
    dangerous = form["dangerousGoods"][0]
    assert (dangerous["unNumber"], dangerous["imdgClass"], dangerous["packingGroup"]) == (
        "UN3082",
        "9",
        "III",
    )


def test_edit_after_import_is_exported_and_unmodelled_attributes_survive() -> None:
    payload = json.loads((FIXTURES / "si" / "ebl303_create-si_regular.json").read_text())
    form = import_shipping_instructions(payload)
    form["shipper"]["name"] = "Minato Trading Co., Ltd."
    form["containers"][0]["sealNumbers"] = ["JP-0001"]
    form["commodity"][0]["grossWeight"] = 11500
    exported = export_shipping_instructions(form)
    assert exported["documentParties"]["shipper"]["partyName"] == "Minato Trading Co., Ltd."
    assert exported["utilizedTransportEquipments"][0]["seals"] == [{"number": "JP-0001"}]
    cargo = exported["consignmentItems"][0]["cargoItems"][0]
    assert cargo["cargoGrossWeight"] == {"value": 11500, "unit": "KGM"}
    # attributes we do not model are still there, unchanged
    assert cargo["outerPackaging"]["description"] == "Fibreboard boxes"
    assert exported["consignmentItems"][0]["commoditySubReference"] == "RegSubRef001"
    assert exported["isElectronic"] is True


def test_booking_edit_after_import_is_exported() -> None:
    payload = json.loads((FIXTURES / "booking" / "bkg204_create-booking_reefer.json").read_text())
    form = import_booking(payload)
    form["voyageNumber"] = "999E"
    exported = export_booking(form)
    assert exported["carrierExportVoyageNumber"] == "999E"
    assert exported["requestedEquipments"] == payload["requestedEquipments"]  # reefer settings kept


def test_hand_built_si_exports_dcsa_fields(hand_built_si: dict[str, Any]) -> None:
    form = hand_built_si
    assert ORIGINAL_KEY not in form
    exported = export_shipping_instructions(form)
    assert exported == build_shipping_instructions(form)
    assert exported["transportDocumentTypeCode"] == "BOL"
    assert exported["documentParties"]["consignee"]["address"] == {
        "street": "Grosse Elbstrasse 1",
        "city": "Hamburg",
        "countryCode": "DE",
    }
    item = exported["consignmentItems"][0]
    assert item["carrierBookingReference"] == "TYOA12345600"
    assert item["shippingMarks"] == ["ACME", "HAMBURG", "C/NO. 1-400"]
    assert item["cargoItems"][0]["outerPackaging"] == {
        "numberOfPackages": 400,
        "packageCode": "CT",
        "description": "Carton",
    }
    assert exported["partyContactDetails"] == [
        {"name": "Sato Hanako", "email": "export@minato-trading.example.jp"}
    ]


_SI_MAPPED_PATHS = (
    "transportDocumentTypeCode",
    "freightPaymentTermCode",
    "isToOrder",
    "invoicePayableAt.UNLocationCode",
    "documentParties.shipper.partyName",
    "documentParties.consignee.partyName",
    "consignmentItems[*].carrierBookingReference",
    "consignmentItems[*].descriptionOfGoods",
    "consignmentItems[*].HSCodes",
    "consignmentItems[*].cargoItems[*].equipmentReference",
    "consignmentItems[*].cargoItems[*].cargoGrossWeight",
    "consignmentItems[*].cargoItems[*].outerPackaging.numberOfPackages",
    "utilizedTransportEquipments[*].seals",
)


@pytest.mark.parametrize("payload", SHIPPING_INSTRUCTIONS)
def test_our_fields_alone_rebuild_the_mapped_si_attributes(payload: dict[str, Any]) -> None:
    """Without the kept original, what we mapped must still come back identical."""
    form = import_shipping_instructions(payload)
    del form[ORIGINAL_KEY]
    rebuilt = build_shipping_instructions(form)
    for pattern in _SI_MAPPED_PATHS:
        original = dict(expand(payload, pattern))
        assert dict(expand(rebuilt, pattern)) == original, pattern


def test_removing_a_container_after_import_removes_it_from_the_export() -> None:
    payload = json.loads((FIXTURES / "si" / "ebl303_create-si_regular.json").read_text())
    second = copy.deepcopy(payload["utilizedTransportEquipments"][0])
    second["equipmentReference"] = "CSQU3054383"
    payload["utilizedTransportEquipments"].append(second)
    form = import_shipping_instructions(payload)
    assert [c["containerNo"] for c in form["containers"]] == ["NARU3472484", "CSQU3054383"]
    del form["containers"][1]
    exported = export_shipping_instructions(form)
    assert [e["equipmentReference"] for e in exported["utilizedTransportEquipments"]] == [
        "NARU3472484"
    ]
    assert exported["consignmentItems"] == payload["consignmentItems"]
