"""The prefill engine on realistic trades: auto-fill ratios, provenance, what a person must still enter, and
per-item validation errors."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from naccs_bridge.domain.bundle import CarryInPlace, Charge, MasterData, TradeBundle
from naccs_bridge.domain.loading import load_field_map
from naccs_bridge.domain.prefill import AutofillReport, NaccsForm, autofill_report, prefill
from naccs_bridge.domain.specs import SourceKind
from naccs_bridge.domain.telegram import ChannelSettings, check_values
from naccs_bridge.domain.transforms import PrefillConfig


def fill(code: str, bundle: TradeBundle, config: PrefillConfig) -> tuple[NaccsForm, AutofillReport]:
    form = prefill(load_field_map(code), bundle, config)
    return form, autofill_report(form)


def si_and_booking_only(bundle: TradeBundle) -> TradeBundle:
    return bundle.model_copy(update={"iv": None, "pl": None})


# ------------------------------------------------------------------------------------------ ratios


def test_ecr_from_si_and_booking_fills_every_normal_item_of_a_complete_trade(
    export_fcl: TradeBundle, config: PrefillConfig
) -> None:
    form, report = fill("ECR", si_and_booking_only(export_fcl), config)
    assert (report.auto_filled, report.normally_filled) == (24, 24)
    assert report.ratio >= 0.85
    assert report.remaining_for_person == ()
    assert form.ready_to_send


def test_ecr_leaves_only_the_carry_in_date_when_the_si_has_none(
    export_lcl: TradeBundle, config: PrefillConfig
) -> None:
    form, report = fill("ECR", si_and_booking_only(export_lcl), config)
    assert (report.auto_filled, report.normally_filled) == (23, 24)
    assert report.ratio == pytest.approx(0.958, abs=0.001)
    assert report.remaining_for_person == ("carry_in.0.carry_in_date",)
    assert [i.entry_key for i in form.pending_for_person] == ["carry_in.0.carry_in_date"]
    # the CFS named in the booking became the 搬入予定先, with the S/I's totals
    assert form.get("carry_in_code", 0).value == "3DK05"
    assert form.get("carry_in_name", 0).value == "KOBE PORT ISLAND CFS"
    assert (form.get("carry_in_packages", 0).value, form.get("carry_in_weight", 0).value) == (
        "40",
        "1020",
    )


def test_eda_fills_all_but_the_declaration_type(
    export_fcl: TradeBundle, config: PrefillConfig
) -> None:
    form, report = fill("EDA", export_fcl, config)
    assert (report.auto_filled, report.normally_filled) == (53, 54)
    assert report.ratio >= 0.75
    assert report.remaining_for_person == ("declaration_type",)
    assert not form.ready_to_send


def test_eda_asks_for_the_classification_of_a_new_product(
    export_lcl: TradeBundle, config: PrefillConfig
) -> None:
    form, report = fill("EDA", export_lcl, config)
    assert (report.auto_filled, report.normally_filled) == (49, 54)
    assert report.ratio == pytest.approx(0.907, abs=0.001)
    assert report.remaining_for_person == (
        "declaration_type",
        "lines.1.hs_code",
        "lines.1.quantity1",
        "lines.1.quantity1_unit",
        "lines.1.export_trade_control_code",
    )
    reasons = {i.item_key: i.message for i in form.issues if i.index == 1}
    assert "'PP-CLR9' is not in master data products" in reasons["hs_code"]
    # CIF EUR 9,360 with freight 640 and insurance 20: FOB = 8,700 EUR
    assert (form.get("fob_currency").value, form.get("fob_amount").value) == ("EUR", "8700")
    assert form.get("container_count").value == "901"  # LCL with other shippers (T6)


def test_ida_leaves_the_valuation_tax_and_freight_decisions(
    import_fcl: TradeBundle, config: PrefillConfig
) -> None:
    _form, report = fill("IDA", import_fcl, config)
    assert (report.auto_filled, report.normally_filled) == (53, 61)
    assert report.ratio >= 0.65
    assert report.remaining_for_person == (
        "declaration_type1",
        "freight_class",
        "freight_currency",  # freight prepaid: the A/N shows no amount
        "freight_amount",
        "insurance_class",
        "valuation_class",
        "lines.0.excise_kind1",
        "lines.1.excise_kind1",
    )


def test_without_master_data_the_codes_and_call_signs_fall_to_a_person(
    export_fcl: TradeBundle, config: PrefillConfig
) -> None:
    """What the company, vessel, product and bonded-area masters are worth: the same trade without them."""
    cold = export_fcl.model_copy(update={"master": MasterData()})
    _, ecr = fill("ECR", si_and_booking_only(cold), config)
    # no vessel or company master; the S/I names the exporter in kanji only
    assert ecr.remaining_for_person == ("vessel_code", "exporter_code", "exporter_name")
    _, eda = fill("EDA", cold, config)
    assert eda.ratio < 0.75
    assert {
        "exporter_code",
        "exporter_name",  # the S/I gives it in kanji only: NACCS refuses it
        "customs_office",  # no bonded-area master to derive the office from
        "vessel_code",
        "lines.0.hs_code",  # no product master: first classification
    } <= set(eda.remaining_for_person)


# ------------------------------------------------------------------------------------------ provenance and values


def test_each_value_says_where_it_came_from(export_fcl: TradeBundle, config: PrefillConfig) -> None:
    form, _ = fill("EDA", export_fcl, config)
    exporter = form.get("exporter_code")
    assert exporter.value == "40104010345670000"  # 法人番号 4010401034567 + 枝番 0000 (T5)
    assert exporter.provenance is not None
    assert (exporter.provenance.source, exporter.provenance.master) == (
        "rule:exporter",
        "master:companies[minato-denki]",
    )
    vessel = form.get("vessel_code")
    assert vessel.provenance is not None
    assert (vessel.value, vessel.provenance.kind, vessel.provenance.source) == (
        "9V7654",
        SourceKind.MASTER,
        "form:BK.vessel",
    )
    hs = form.get("hs_code", 1)
    assert hs.provenance is not None
    assert (hs.value, hs.provenance.source, hs.provenance.transform) == (
        "850152000",
        "form:IV.commodity.1.productCode",
        "master_lookup > hs9",
    )
    assert form.get("quantity1", 0).value == "80"  # product unit NO: the piece count
    assert form.get("quantity2", 0).value == "3360"  # unit KG: the net weight
    assert (
        form.get("marks").value == "PMS LOS ANGELES C/NO. 1-120 MADE IN JAPAN"
    )  # lines joined (T3)
    assert form.get("value_class").value == "L"  # USD 182,400 × 152.35 > 200,000 JPY
    assert form.get("planned_date").value == "20261122"  # the injected clock


def test_a_person_s_entries_complete_the_form_and_are_not_counted_as_automatic(
    export_fcl: TradeBundle, config: PrefillConfig
) -> None:
    bundle = export_fcl.model_copy(update={"entries": {"declaration_type": "E"}})
    form, report = fill("EDA", bundle, config)
    declaration_type = form.get("declaration_type")
    assert declaration_type.value == "E"
    assert declaration_type.provenance is not None
    assert declaration_type.provenance.kind == "entered"
    assert form.ready_to_send
    assert report.auto_filled == 53  # unchanged: the person's entry is not auto-fill


def test_the_export_control_number_is_blank_on_a_new_ecr_and_sent_on_a_correction(
    export_fcl: TradeBundle, config: PrefillConfig
) -> None:
    new, _ = fill("ECR", export_fcl, config)
    assert (new.get("processing_kind").value, new.get("export_control_no").value) == ("9", "")
    correction, _ = fill("ECR", export_fcl.model_copy(update={"processing": "correct"}), config)
    assert (correction.get("processing_kind").value, correction.get("export_control_no").value) == (
        "5",
        "1ECR2611220001",
    )


# ------------------------------------------------------------------------------------------ validation per item


def test_japanese_text_in_a_half_width_item_is_an_error_on_that_item(
    export_fcl: TradeBundle, config: PrefillConfig
) -> None:
    """An exporter missing from the company master: its 住所 comes from the S/I in kanji, which NACCS refuses."""
    master = export_fcl.master.model_copy(update={"companies": []})
    si = export_fcl.si
    assert si is not None
    assert si.shipper is not None
    shipper = si.shipper.model_copy(update={"corporate_number": "4010401034567"})
    bundle = export_fcl.model_copy(
        update={"master": master, "si": si.model_copy(update={"shipper": shipper})}
    )
    form, _ = fill("EDA", bundle, config)
    assert form.get("exporter_code").value == "40104010345670000"  # from the S/I's 法人番号
    address = form.get("exporter_address1")
    assert (address.value, address.needs_person) == ("東京都", True)
    errors = {i.item_key: i for i in form.issues if i.severity == "error"}
    assert set(errors) == {
        "exporter_name",
        "exporter_address1",
        "exporter_address2",
        "exporter_address3",
        "exporter_address4",
    }
    assert errors["exporter_address1"].name_ja == "住所1(都道府県)"
    assert "'東' at position 0 is not allowed by NACCS" in errors["exporter_address1"].message


def test_an_unknown_port_is_reported_and_left_to_a_person(
    export_fcl: TradeBundle, config: PrefillConfig
) -> None:
    bk, si = export_fcl.bk, export_fcl.si
    assert bk is not None
    assert si is not None
    bundle = export_fcl.model_copy(
        update={
            "bk": bk.model_copy(update={"port_of_discharge": "Atlantis"}),
            "si": si.model_copy(update={"port_of_discharge": None}),
        }
    )
    form, report = fill("ECR", si_and_booking_only(bundle), config)
    assert report.remaining_for_person == ("discharge_port",)
    (issue,) = [i for i in form.issues if i.item_key == "discharge_port"]
    assert "port 'ATLANTIS' is not in the port table: enter its UN/LOCODE" in issue.message


def test_a_bad_corporate_number_is_caught_by_its_check_digit(
    export_fcl: TradeBundle, config: PrefillConfig
) -> None:
    companies = [
        c.model_copy(update={"corporate_number": "4010401034568"})
        for c in export_fcl.master.companies
    ]
    bundle = export_fcl.model_copy(
        update={"master": export_fcl.master.model_copy(update={"companies": companies})}
    )
    form, _ = fill("ECR", bundle, config)
    assert form.get("exporter_code").needs_person
    assert any(
        "has check digit 4, expected 3" in i.message
        for i in form.issues
        if i.item_key == "exporter_code"
    )


def test_too_many_carry_in_places_is_an_error(
    export_fcl: TradeBundle, config: PrefillConfig
) -> None:
    si = export_fcl.si
    assert si is not None
    places = [CarryInPlace(bonded_area_code="1AW61", packages=20)] * 6
    bundle = export_fcl.model_copy(update={"si": si.model_copy(update={"carry_in_places": places})})
    form, _ = fill("ECR", bundle, config)
    assert any(
        i.severity == "error" and "6 repeats of 搬入予定先, NACCS takes 5" in i.message
        for i in form.issues
    )
    assert len([i for i in form.items if i.key == "carry_in_code"]) == 5


def test_jpy_amounts_are_floored_and_other_currencies_keep_decimals(
    export_fcl: TradeBundle, config: PrefillConfig
) -> None:
    invoice = export_fcl.iv
    assert invoice is not None
    usd = export_fcl.model_copy(
        update={"iv": invoice.model_copy(update={"total_amount": Decimal("182400.75")})}
    )
    assert fill("EDA", usd, config)[0].get("invoice_amount").value == "182400.75"
    jpy = export_fcl.model_copy(
        update={
            "iv": invoice.model_copy(
                update={"currency_code": "JPY", "total_amount": Decimal("27788640.9")}
            )
        }
    )
    form, _ = fill("EDA", jpy, config)
    assert (form.get("invoice_amount").value, form.get("fob_amount").value) == (
        "27788640",
        "27788640",
    )


def test_every_full_map_prefills_without_crashing_on_every_fixture(
    export_fcl: TradeBundle, export_lcl: TradeBundle, import_fcl: TradeBundle, config: PrefillConfig
) -> None:
    """Maps are data: whatever a trade lacks becomes pending items or issues, never an exception."""
    for code in (
        "BKR",
        "VAN",
        "VAE",
        "CYA",
        "CYO",
        "OLC",
        "ACL01",
        "EDC",
        "IDC",
        "IEX",
        "IID",
        "ICG",
        "IAL",
        "IVS",
    ):
        for bundle in (export_fcl, export_lcl, import_fcl, TradeBundle()):
            form = prefill(load_field_map(code), bundle, config)
            assert form.code == code
            assert all(
                len(i.value.encode("shift_jis")) <= load_field_map(code).item(i.key).width
                for i in form.items
            )


def test_collect_freight_on_the_arrival_notice_fills_the_freight_items(
    import_fcl: TradeBundle, config: PrefillConfig
) -> None:
    an = import_fcl.an
    assert an is not None
    charges = [
        Charge(
            description="OCEAN FREIGHT",
            amount=Decimal("1850.00"),
            currency_code="USD",
            payment_term="COL",
        ),
        Charge(
            description="O/F BAF", amount=Decimal("210.50"), currency_code="USD", payment_term="COL"
        ),
        Charge(description="THC", amount=Decimal("45000"), currency_code="JPY", payment_term="COL"),
    ]
    bundle = import_fcl.model_copy(update={"an": an.model_copy(update={"charges": charges})})
    form, report = fill("IDA", bundle, config)
    assert (form.get("freight_currency").value, form.get("freight_amount").value) == (
        "USD",
        "2060.5",
    )
    assert "freight_amount" not in report.remaining_for_person


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.text(max_size=160),
    weight=st.decimals(
        min_value=0, max_value=10**12, places=3, allow_nan=False, allow_infinity=False
    ),
)
def test_whatever_the_forms_hold_the_form_is_sendable_or_the_item_is_flagged(
    export_fcl: TradeBundle, config: PrefillConfig, text: str, weight: Decimal
) -> None:
    """Form data is untrusted too: every value the engine does not flag must pass the codec's checks."""
    si, iv = export_fcl.si, export_fcl.iv
    assert si is not None
    assert si.consignee is not None
    assert iv is not None
    line = iv.commodity[0].model_copy(update={"description": text, "net_weight": weight})
    bundle = export_fcl.model_copy(
        update={
            "si": si.model_copy(
                update={
                    "marks_and_numbers": text,
                    "remarks": text,
                    "consignee": si.consignee.model_copy(update={"name": text}),
                    "commodity_total_gross_weight": weight,
                }
            ),
            "pl": None,
            "iv": iv.model_copy(update={"commodity": [line]}),
        }
    )
    for code in ("ECR", "EDA"):
        field_map = load_field_map(code)
        form = prefill(field_map, bundle, config)
        refused = {
            problem.item_key
            for problem in check_values(field_map, form.values(), ChannelSettings())
        }
        flagged = {item.key for item in form.items if item.needs_person}
        assert refused <= flagged
