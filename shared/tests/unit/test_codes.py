from datetime import date
from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from shared.codes import (
    BUNDLED_LOCODES,
    ContainerNumber,
    CorporateNumber,
    LocodeRegistry,
    TradeDate,
    check_container_number,
    check_corporate_number,
    check_country_code,
    check_currency,
    check_date,
    check_hs_code,
    check_hs_or_national_code,
    check_imdg_class,
    check_imo_number,
    check_jp_statistical_code,
    check_locode,
    check_locode_format,
    check_naccs_trader_code,
    check_package_code,
    check_packing_group,
    check_scac,
    check_size_type,
    check_un_number,
    check_unit_code,
    convert_mass,
    corporate_number_check_digit,
    iso6346_check_digit,
    minor_units,
    parse_size_type,
)


class TestContainerNumber:
    @pytest.mark.parametrize("number", ["CSQU3054383", "NARU3472484", "MSCU6634879"])
    def test_accepts_numbers_with_correct_check_digit(self, number: str) -> None:
        assert check_container_number(number).is_valid

    def test_msc_example_from_brief_has_wrong_check_digit(self) -> None:
        # MSCU663487 weighs 7016 = 637*11 + 9, so the check digit must be 9, not 1.
        result = check_container_number("MSCU6634871")
        assert result.error is not None
        assert result.error.code == "container_number_check_digit"
        assert "expected 9" in result.error.message_en
        assert "9" in result.error.message_ja

    def test_check_digit_of_iso_example(self) -> None:
        assert iso6346_check_digit("CSQU305438") == 3

    def test_normalises_spaces_hyphens_and_case(self) -> None:
        assert check_container_number("csqu 305438-3").normalized == "CSQU3054383"

    @pytest.mark.parametrize("bad", ["CSQ3054383", "CSQX3054383", "CSQU305438", "1SQU3054383"])
    def test_rejects_malformed_numbers(self, bad: str) -> None:
        result = check_container_number(bad)
        assert result.error is not None
        assert result.error.code == "container_number_format"


class TestSizeType:
    @pytest.mark.parametrize("code", ["22G1", "42G1", "45G1", "45R1", "22T6", "L5G1", "22GP"])
    def test_accepts_common_codes(self, code: str) -> None:
        assert check_size_type(code).is_valid

    @pytest.mark.parametrize("bad", ["2XG1", "22X1", "4G1", "22G", "Z2G1"])
    def test_rejects_unknown_codes(self, bad: str) -> None:
        assert not check_size_type(bad).is_valid

    def test_high_cube_forty_counts_two_teu(self) -> None:
        parsed = parse_size_type("45G1")
        assert parsed is not None
        assert parsed.teu == 2
        assert parsed.height == "9'6\""


class TestCorporateNumber:
    @pytest.mark.parametrize(
        "number",
        [
            "7000012050002",  # 国税庁 (National Tax Agency)
            "1180301018771",  # トヨタ自動車株式会社
        ],
    )
    def test_accepts_real_corporate_numbers(self, number: str) -> None:
        assert check_corporate_number(number).is_valid

    def test_check_digit_formula(self) -> None:
        # 000012050002: digits from the right 2,0,0,0,5,0,2,1 -> 2+5+2+1*2 = 11; 9 - 11 % 9 = 7
        assert corporate_number_check_digit("000012050002") == 7

    def test_wrong_check_digit_names_expected_digit(self) -> None:
        result = check_corporate_number("8000012050002")
        assert result.error is not None
        assert "expected 7" in result.error.message_en
        assert "法人番号" in result.error.message_ja

    def test_naccs_trader_code_is_corporate_number_plus_branch(self) -> None:
        assert check_naccs_trader_code("70000120500020000").is_valid
        assert not check_naccs_trader_code("80000120500020000").is_valid
        assert not check_naccs_trader_code("7000012050002").is_valid


class TestLocode:
    def test_known_japanese_port_has_names(self) -> None:
        tokyo = BUNDLED_LOCODES.get("JPTYO")
        assert tokyo is not None
        assert (tokyo.name, tokyo.name_ja, tokyo.country) == ("Tokyo", "東京", "JP")

    @pytest.mark.parametrize("code", ["JPTYO", "JPYOK", "KRPUS", "DEBRV", "USORF", "jp tyo"])
    def test_accepts_known_codes(self, code: str) -> None:
        assert check_locode(code).is_valid

    def test_unlisted_place_code_is_accepted(self) -> None:
        assert check_locode("JPZZZ").is_valid

    def test_unknown_but_well_formed_code_suggests_zzz(self) -> None:
        result = check_locode("JPQQQ")
        assert result.error is not None
        assert "JPZZZ" in result.error.message_en
        assert check_locode_format("JPQQQ").is_valid

    @pytest.mark.parametrize("bad", ["XXTYO", "JPTY", "JPTY0", "JPT1O"])
    def test_rejects_bad_format(self, bad: str) -> None:
        assert check_locode_format(bad).error is not None

    def test_full_list_can_be_dropped_in(self) -> None:
        registry = LocodeRegistry.from_rows([("JP", "QQQ", "Somewhere")])
        assert check_locode("JPQQQ", registry).is_valid
        assert not check_locode("JPTYO", registry).is_valid


class TestOtherCodes:
    def test_country_codes(self) -> None:
        assert check_country_code("jp").normalized == "JP"
        assert not check_country_code("XX").is_valid
        assert not check_country_code("JPN").is_valid

    def test_hs_codes(self) -> None:
        assert check_hs_code("6405.10").normalized == "640510"
        assert not check_hs_code("64051").is_valid
        assert not check_hs_code("770000").is_valid  # chapter 77 is reserved
        assert check_jp_statistical_code("6405.10-000").normalized == "640510000"
        assert not check_jp_statistical_code("640510").is_valid

    def test_national_codes_may_use_chapters_98_and_99(self) -> None:
        assert check_hs_or_national_code("9801001012").is_valid
        assert not check_hs_code("980100").is_valid
        assert not check_hs_or_national_code("7700000000").is_valid

    def test_imo_numbers(self) -> None:
        assert check_imo_number("IMO 9298686").normalized == "9298686"  # MAERSK IOWA
        result = check_imo_number("9298687")
        assert result.error is not None
        assert "expected 6" in result.error.message_en
        assert not check_imo_number("929868").is_valid

    def test_un_numbers_normalise_to_un_prefix(self) -> None:
        assert check_un_number("3082").normalized == "UN3082"
        assert check_un_number("UN 1203").normalized == "UN1203"
        assert not check_un_number("UN308").is_valid
        assert not check_un_number("UN0000").is_valid

    @pytest.mark.parametrize("imdg", ["3", "2.1", "6.1", "9", "1.4S", "5.2"])
    def test_imdg_classes(self, imdg: str) -> None:
        assert check_imdg_class(imdg).is_valid

    @pytest.mark.parametrize("bad", ["10", "2.4", "6.3", "1.4X", "4"])
    def test_imdg_rejects_non_classes(self, bad: str) -> None:
        assert not check_imdg_class(bad).is_valid

    def test_packing_groups_accept_roman_and_digits(self) -> None:
        assert check_packing_group("3").normalized == "III"
        assert check_packing_group("ii").normalized == "II"
        assert not check_packing_group("IV").is_valid

    def test_units_and_packages(self) -> None:
        for unit in ["KGM", "TNE", "MTQ", "LTR", "PCE"]:
            assert check_unit_code(unit).is_valid
        for package in ["CT", "PK", "BX", "PL", "DR", "PX", "4G"]:
            assert check_package_code(package).is_valid
        assert not check_unit_code("KG").is_valid
        assert not check_package_code("CTN").is_valid

    def test_mass_conversion_tonnes_to_kilograms(self) -> None:
        assert convert_mass(Decimal("1.5"), "TNE", "KGM") == Decimal("1500")

    def test_scac_and_currency(self) -> None:
        assert check_scac("oney").normalized == "ONEY"
        assert not check_scac("ONE").is_valid
        assert not check_scac("ONE1").is_valid
        assert check_currency("jpy").normalized == "JPY"
        assert not check_currency("YEN").is_valid
        assert minor_units("JPY") == 0
        assert minor_units("USD") == 2
        assert minor_units("KWD") == 3

    def test_dates_in_three_shapes(self) -> None:
        assert check_date("20260401").normalized == "2026-04-01"
        assert check_date("2026/4/1").normalized == "2026-04-01"
        assert not check_date("2026-02-30").is_valid


class _Doc(BaseModel):
    container: ContainerNumber
    corporate: CorporateNumber | None = None
    shipped: TradeDate | None = None


class TestPydanticTypes:
    def test_type_stores_normalised_value(self) -> None:
        doc = _Doc(container="csqu-305438-3", shipped="20260401")  # type: ignore[arg-type]
        assert doc.container == "CSQU3054383"
        assert doc.shipped == date(2026, 4, 1)

    def test_error_names_the_field_and_carries_japanese(self) -> None:
        with pytest.raises(ValidationError) as caught:
            _Doc(container="MSCU6634871", corporate="8000012050002")
        errors = {error["loc"]: error for error in caught.value.errors()}
        assert errors[("container",)]["type"] == "container_number_check_digit"
        assert "チェックデジット" in errors[("container",)]["ctx"]["message_ja"]
        assert errors[("corporate",)]["type"] == "corporate_number_check_digit"
