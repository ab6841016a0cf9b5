from typing import Any

import pytest

from forms.domain.derivation import NoDerivationRoute, Provenance, derivable_from, derive
from forms.domain.validation import validate_form


def _booking_confirmation() -> dict[str, Any]:
    return {
        "bookingNo": "TYOA12345600",
        "scacCode": "ONEY",
        "vessel": {"name": "ONE HARMONY", "callSign": "3FZX9"},
        "voyageNumber": "012W",
        "portOfLoading": {"code": "JPTYO", "name": "Tokyo"},
        "portOfDischarge": {"code": "DEHAM", "name": "Hamburg"},
        "estimatedDepartureDate": "2026-12-01",
        "containerRequests": [{"sizeTypeCode": "45G1", "quantity": 1}],
        "returnFacility": {"name": "Ohi Terminal", "bondedAreaCode": "1AW01"},
        "freightPaymentTerm": "PRE",
    }


def _booking_request() -> dict[str, Any]:
    return {
        "bookingNo": "SHOULD-NOT-WIN",
        "shipper": {"name": "Minato Trading Co., Ltd."},
        "consignee": {"name": "ACME GmbH"},
        "commodity": [{"description": "Shoes", "hsCode": "640510"}],
    }


def _si() -> dict[str, Any]:
    return {
        "shipper": {"name": "Minato Trading Co., Ltd."},
        "forwarder": {"name": "Kaiun Forwarding K.K."},
        "bookingNo": "TYOA12345600",
        "scacCode": "ONEY",
        "vessel": {"name": "ONE HARMONY"},
        "voyageNumber": "012W",
        "portOfLoading": {"code": "JPTYO"},
        "portOfDischarge": {"code": "DEHAM"},
        "invoiceNo": "INV-9",
        "marksAndNumbers": "ACME",
        "commodity": [
            {"description": "Shoes", "packages": 300, "packageUnitCode": "CT",
             "grossWeight": 6, "grossWeightUnitCode": "TNE"},
            {"description": "Boots", "packages": 100, "packageUnitCode": "CT",
             "grossWeight": 2500, "grossWeightUnitCode": "KGM"},
        ],
        "containers": [
            {"containerNo": "CSQU3054383", "sizeTypeCode": "45G1", "sealNumbers": ["S1"]},
            {"containerNo": "NARU3472484", "sizeTypeCode": "45G1", "sealNumbers": ["S2"]},
        ],
        "dangerousGoods": [{"unNumber": "UN3082", "imdgClass": "9", "containerNo": "NARU3472484"}],
    }  # fmt: skip


def test_booking_prefills_si_with_provenance_and_confirmation_wins() -> None:
    prefill = derive("UL040", {"UL050": _booking_confirmation(), "MX010": _booking_request()})
    values = prefill.values
    assert values["bookingNo"] == "TYOA12345600"
    assert prefill.provenance["bookingNo"] == Provenance("UL050", "bookingNo")
    assert values["shipper"] == {"name": "Minato Trading Co., Ltd."}
    assert prefill.provenance["shipper.name"] == Provenance("MX010", "shipper.name")
    assert values["billOfLading"] == {"freightPaymentTerm": "PRE"}
    assert prefill.provenance["billOfLading.freightPaymentTerm"].source_path == "freightPaymentTerm"
    # UL040 has no returnFacility: fields the target lacks are never copied
    assert "returnFacility" not in values
    assert validate_form("UL040", values).can_save_draft


def test_si_prefills_container_receiving_slip() -> None:
    prefill = derive("UL090", {"UL040": _si(), "UL050": _booking_confirmation()})
    assert [c["containerNo"] for c in prefill.values["containers"]] == [
        "CSQU3054383",
        "NARU3472484",
    ]
    assert prefill.provenance["containers[1].sealNumbers"] == Provenance(
        "UL040", "containers[1].sealNumbers"
    )
    assert prefill.values["terminal"] == {"name": "Ohi Terminal", "bondedAreaCode": "1AW01"}
    assert prefill.provenance["terminal.name"] == Provenance("UL050", "returnFacility.name")
    assert "commodity" not in prefill.values  # UL090 does not carry goods lines
    assert validate_form("UL090", prefill.values).can_save_draft


def test_si_prefills_dg_list_with_shipper_as_declarant() -> None:
    prefill = derive("MX060", {"UL040": _si()})
    assert prefill.values["declarant"] == {"name": "Minato Trading Co., Ltd."}
    assert prefill.values["dangerousGoods"][0]["unNumber"] == "UN3082"
    assert prefill.provenance["declarant.name"] == Provenance("UL040", "shipper.name")


def test_si_prefills_packing_list_and_computes_totals() -> None:
    prefill = derive("UL120", {"UL040": _si()})
    values = prefill.values
    assert values["totalPackages"] == 400
    assert values["totalPackagesUnitCode"] == "CT"
    # 6 TNE + 2500 KGM are summed in KGM
    assert values["commodityTotalGrossWeight"] == 8500
    assert values["commodityTotalGrossWeightUnitCode"] == "KGM"
    assert values["containerCount"] == 2
    assert prefill.provenance["commodityTotalGrossWeight"].rule == "computed"
    assert validate_form("UL120", values).can_save_draft


def test_invoice_lines_fill_packing_list_without_prices() -> None:
    invoice = {"invoiceNo": "INV-9", "commodity": [{"description": "Shoes", "unitPrice": 12}]}
    prefill = derive("UL120", {"UL100": invoice})
    assert prefill.values["commodity"] == [{"description": "Shoes"}]
    assert validate_form("UL120", prefill.values).can_save_draft


def test_mixed_weight_units_leave_total_empty_with_a_note() -> None:
    si = _si()
    si["commodity"][1]["grossWeightUnitCode"] = "LBR"
    prefill = derive("UL120", {"UL040": si})
    assert "commodityTotalGrossWeight" not in prefill.values
    assert prefill.notes[0].path == "commodityTotalGrossWeight"
    assert "LBR" in prefill.notes[0].message_en


def test_arrival_notice_prefills_delivery_order() -> None:
    arrival = {
        "billOfLading": {"blNo": "ONEYHAMA00001"},
        "consignee": {"name": "Minato Imports K.K."},
        "vessel": {"name": "ONE HARMONY"},
        "storageFacility": {"name": "Honmoku BC", "bondedAreaCode": "2DW05"},
        "containers": [{"containerNo": "CSQU3054383"}],
    }
    prefill = derive("MX200", {"UL290": arrival})
    assert prefill.values["releaseTo"] == {"name": "Minato Imports K.K."}
    assert prefill.values["billOfLading"]["blNo"] == "ONEYHAMA00001"
    assert prefill.provenance["storageFacility.bondedAreaCode"].source_form_code == "UL290"
    assert prefill.values["containerCount"] == 1


def test_unknown_route_is_refused() -> None:
    assert derivable_from("UL090") == ("UL040", "UL050")
    with pytest.raises(NoDerivationRoute):
        derive("UL150", {})
