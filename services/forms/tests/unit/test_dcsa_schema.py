import copy
import json
from pathlib import Path
from typing import Any

import pytest

from forms.domain.dcsa import export_shipping_instructions, import_shipping_instructions
from forms.domain.dcsa_schema import shipping_instructions_violations


@pytest.fixture
def create_si_example(dcsa_fixtures: Path) -> dict[str, Any]:
    return json.loads((dcsa_fixtures / "si" / "ebl303_create-si_regular.json").read_text())


def test_dcsa_create_si_example_validates_against_the_vendored_schema(
    create_si_example: dict[str, Any],
) -> None:
    assert shipping_instructions_violations(create_si_example) == []


def test_schema_rejects_what_dcsa_rejects(create_si_example: dict[str, Any]) -> None:
    payload = create_si_example
    del payload["isElectronic"]
    payload["consignmentItems"][0]["HSCodes"] = ["6405"]
    payload["utilizedTransportEquipments"][0]["seals"] = []
    paths = {violation.json_path for violation in shipping_instructions_violations(payload)}
    assert paths == {
        "$",
        "$.consignmentItems[0].HSCodes[0]",
        "$.utilizedTransportEquipments[0].seals",
    }


def test_si_exported_from_a_hand_built_form_validates(hand_built_si: dict[str, Any]) -> None:
    assert shipping_instructions_violations(export_shipping_instructions(hand_built_si)) == []


def test_hand_built_form_in_tonnes_and_long_description_still_validates(
    hand_built_si: dict[str, Any],
) -> None:
    form = hand_built_si
    line = form["commodity"][0]
    line["grossWeight"], line["grossWeightUnitCode"] = 12.5, "TNE"
    line["description"] = "Leather shoes for men, black, rubber soles, assorted sizes 39-46"
    exported = export_shipping_instructions(form)
    item = exported["consignmentItems"][0]
    assert item["cargoItems"][0]["cargoGrossWeight"] == {"value": 12500, "unit": "KGM"}
    assert all(len(text) <= 35 for text in item["descriptionOfGoods"])
    assert " ".join(item["descriptionOfGoods"]) == line["description"]
    assert shipping_instructions_violations(exported) == []


def test_incomplete_form_exports_an_si_the_schema_rejects_with_paths(
    hand_built_si: dict[str, Any],
) -> None:
    form = hand_built_si
    del form["bookingNo"]
    form["containers"][0]["sealNumbers"] = []
    paths = {
        v.json_path for v in shipping_instructions_violations(export_shipping_instructions(form))
    }
    assert "$.consignmentItems[0]" in paths  # carrierBookingReference missing
    assert "$.utilizedTransportEquipments[0]" in paths  # seals missing


def test_edited_import_still_validates(create_si_example: dict[str, Any]) -> None:
    form = import_shipping_instructions(create_si_example)
    edited = copy.deepcopy(form)
    edited["shipper"]["name"] = "Minato Trading Co., Ltd."
    edited["commodity"][0]["packages"] = 420
    assert shipping_instructions_violations(export_shipping_instructions(edited)) == []
