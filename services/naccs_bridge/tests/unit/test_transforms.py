"""The named transforms T1-T8 and rules the field maps combine."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from naccs_bridge.domain.bundle import TradeBundle
from naccs_bridge.domain.loading import read_toml
from naccs_bridge.domain.transforms import (
    RULES,
    TRANSFORMS,
    Context,
    PrefillConfig,
    TransformFailed,
    importer_exporter_code,
    split_japanese_address,
    split_latin_address,
)
from shared.codes.countries import COUNTRIES
from shared.codes.locode import check_locode_format
from shared.codes.units import MASS_UNITS_IN_KGM, PACKAGE_CODES, VOLUME_UNITS_IN_MTQ

CONFIG = PrefillConfig(today=date(2026, 11, 22))


def run(name: str, value: Any, bundle: TradeBundle | None = None, **args: str | int) -> str:
    return TRANSFORMS[name](
        value, Context(bundle=bundle or TradeBundle(), config=CONFIG), args
    ).value


@pytest.mark.parametrize(
    ("text", "locode"),
    [
        ("TOKYO", "JPTYO"),  # a port name that is also LOCODE-shaped: the name wins
        ("Tokyo, Japan", "JPTYO"),
        ("jpyok", "JPYOK"),
        ("Ho Chi Minh City, Vietnam", "VNSGN"),
        ("Haiphong", "VNHPH"),
        ("USXYZ", "USXYZ"),  # LOCODE-shaped in a known country: kept
        ("Nowhere Harbour, Vietnam", "VNZZZ"),  # unlisted port: country + ZZZ (ACL rule ✅)
    ],
)
def test_locode(text: str, locode: str) -> None:
    assert run("locode", text) == locode


def test_unknown_port_without_a_country_fails_with_advice() -> None:
    with pytest.raises(TransformFailed, match="enter its UN/LOCODE"):
        run("locode", "Atlantis")


@pytest.mark.parametrize(
    ("kind", "text", "code"),
    [("package", "Cartons", "CT"), ("package", "PLTS", "PX"), ("weight", "kgs", "KGM"),
     ("weight", "M/T", "TNE"), ("volume", "CBM", "MTQ"), ("volume", "m³", "MTQ")],
)  # fmt: skip
def test_unit_codes(kind: str, text: str, code: str) -> None:
    assert run(f"{kind}_unit" if kind != "package" else "package_code", text) == code


def test_importer_exporter_code_is_the_checked_corporate_number_and_branch() -> None:
    assert (
        importer_exporter_code("1180301018771", None) == "11803010187710000"
    )  # a published 法人番号
    assert importer_exporter_code("1180-3010-18771", "12") == "11803010187710012"
    with pytest.raises(TransformFailed, match="check digit"):
        importer_exporter_code("1180301018772", None)
    with pytest.raises(TransformFailed, match="longer than 4 digits"):
        importer_exporter_code("1180301018771", "12345")


def test_a_trader_code_on_the_form_is_checked() -> None:
    party = {"name": "X", "naccsTraderCode": "1180301018771-0001"}
    assert run("company", party, field="code") == "11803010187710001"
    with pytest.raises(TransformFailed, match="check digit"):
        run("company", {**party, "naccsTraderCode": "11803010187720001"}, field="code")


def test_unit_and_port_tables_agree_with_the_project_code_lists() -> None:
    units = read_toml("units.toml")
    assert set(units["package"]) <= set(PACKAGE_CODES)
    assert set(units["weight"]) <= set(MASS_UNITS_IN_KGM)
    assert set(units["volume"]) <= set(VOLUME_UNITS_IN_MTQ)
    ports = read_toml("ports.toml")
    assert all(check_locode_format(p["locode"]).is_valid for p in ports["ports"])
    assert {c["code"] for c in ports["countries"]} <= set(COUNTRIES)


@pytest.mark.parametrize(
    ("address", "parts"),
    [
        (
            "東京都港区芝浦3-4-1 グランパークタワー12階",
            ("東京都", "港区", "芝浦3-4-1", "グランパークタワー12階"),
        ),
        ("〒231-0023 神奈川県横浜市中区山下町2-6", ("神奈川県", "横浜市中区", "山下町2-6", "")),
        ("北海道札幌市中央区北1条西2丁目", ("北海道", "札幌市中央区", "北1条西2丁目", "")),
        ("京都府京都市下京区烏丸通七条下る", ("京都府", "京都市下京区", "烏丸通七条下る", "")),
    ],
)
def test_japanese_address_split(address: str, parts: tuple[str, str, str, str]) -> None:
    assert split_japanese_address(address) == parts


@pytest.mark.parametrize(
    ("address", "parts"),
    [
        ("1200 Harbor Blvd, Suite 300, Long Beach, CA, United States", ("1200 Harbor Blvd", "Suite 300", "Long Beach", "CA")),
        ("Lot C5, Street 12, District 7, Ho Chi Minh City, Vietnam", ("Lot C5", "Street 12 District 7", "Ho Chi Minh City", "")),
        ("Billstrasse 120, Hamburg", ("Billstrasse 120", "", "Hamburg", "")),
    ],
)  # fmt: skip
def test_latin_address_split(address: str, parts: tuple[str, str, str, str]) -> None:
    assert split_latin_address(address) == parts


def test_full_width_latin_is_converted_to_half_width() -> None:
    assert run("upper", "ＡＢＣ　１２３ｱｲ") == "ABC 123アイ"


@pytest.mark.parametrize(
    ("movement", "same_shipper", "containers", "count"),
    [("FCL", False, 2, "2"), ("LCL", False, 1, "901"), ("LCL", True, 3, "703")],
)
def test_container_count_rule(
    movement: str, same_shipper: bool, containers: int, count: str
) -> None:
    bundle = TradeBundle.model_validate(
        {
            "BK": {"cargoMovementType": movement, "sameShipperConsolidation": same_shipper},
            "shared": {"containers": [{"containerNo": f"C{i}"} for i in range(containers)]},
        }
    )
    assert RULES["container_count"](Context(bundle=bundle, config=CONFIG)) == count


def test_more_than_200_containers_is_refused() -> None:
    bundle = TradeBundle.model_validate({"BK": {"containerRequests": [{"quantity": 201}]}})
    with pytest.raises(TransformFailed, match="201 containers exceed the 200"):
        RULES["container_count"](Context(bundle=bundle, config=CONFIG))


def test_amounts_dates_and_digits() -> None:
    assert run("amount", Decimal("1234.99")) == "1234"  # no currency given: JPY, floored
    assert run("date", "2026-12-01") == "20261201"
    assert run("digits", "03-5555-0101") == "0355550101"
    assert run("quantity", Decimal("8450.500"), places=3) == "8450.5"
    with pytest.raises(TransformFailed, match="not a date"):
        run("date", "next Tuesday")


def test_fob_is_left_to_a_person_for_cif_without_freight() -> None:
    bundle = TradeBundle.model_validate(
        {"IV": {"incoterms": "CIF", "currencyCode": "USD", "totalAmount": "1000"}}
    )
    assert RULES["fob_amount"](Context(bundle=bundle, config=CONFIG)) is None


def test_to_order_consignee_is_replaced_by_the_notify_party() -> None:
    bundle = TradeBundle.model_validate(
        {"SI": {"consignee": {"name": "TO ORDER"}, "notifyParty": {"name": "ACME TRADING LLC"}}}
    )
    assert RULES["consignee"](Context(bundle=bundle, config=CONFIG))["name"] == "ACME TRADING LLC"


def test_places_and_vessels_come_as_form_objects_too() -> None:
    assert run("locode", {"code": "JPUKB", "name": "Kobe"}) == "JPUKB"
    assert run("locode", {"name": "Kobe"}) == "JPUKB"
    assert run("port_name", {"code": "JPUKB"}) == "KOBE"
    assert (
        run("call_sign", {"name": "X", "callSign": "jxyz7"}) == "JXYZ7"
    )  # the carrier's call sign
    with pytest.raises(TransformFailed, match="not in the vessel master"):
        run("call_sign", {"name": "UNKNOWN MARU"})


def test_goods_summary_joins_distinct_line_descriptions() -> None:
    lines = [
        {"description": "Oak chair"},
        {"description": "Oak table"},
        {"description": "Oak chair"},
    ]
    assert run("goods_summary", lines) == "Oak chair; Oak table"


def test_map_value_names_the_known_codes() -> None:
    assert run("map_value", "empty", EMPTY="4", LADEN="5") == "4"
    with pytest.raises(TransformFailed, match="known: EMPTY, LADEN"):
        run("map_value", "HALF", EMPTY="4", LADEN="5")
