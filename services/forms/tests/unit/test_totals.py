from decimal import Decimal

from forms.domain.totals import compute_totals, container_count, sum_weights


def test_weights_in_kgm_and_tne_are_converted_to_kgm() -> None:
    lines = [
        {"grossWeight": 1.5, "grossWeightUnitCode": "TNE"},
        {"grossWeight": 500, "grossWeightUnitCode": "KGM"},
    ]
    total = sum_weights(lines, "grossWeight", "grossWeightUnitCode")
    assert (total.value, total.unit) == (Decimal("2000.0"), "KGM")


def test_weights_in_one_unit_keep_it() -> None:
    lines = [
        {"grossWeight": 1, "grossWeightUnitCode": "LBR"},
        {"grossWeight": 2, "grossWeightUnitCode": "LBR"},
    ]
    assert sum_weights(lines, "grossWeight", "grossWeightUnitCode").value == 3


def test_mixed_incompatible_weight_units_are_not_summed_and_say_why() -> None:
    lines = [
        {"grossWeight": 1000, "grossWeightUnitCode": "KGM"},
        {"grossWeight": 200, "grossWeightUnitCode": "LBR"},
    ]
    total = sum_weights(lines, "grossWeight", "grossWeightUnitCode")
    assert total.value is None
    assert total.reason_en is not None
    assert "KGM, LBR" in total.reason_en
    assert total.reason_ja is not None
    assert "重量単位" in total.reason_ja


def test_weight_without_unit_blocks_the_sum() -> None:
    total = sum_weights([{"grossWeight": 10}], "grossWeight", "grossWeightUnitCode")
    assert total.value is None


def test_packages_sum_and_keep_unit_only_when_common() -> None:
    same = compute_totals(
        {
            "commodity": [
                {"packages": 10, "packageUnitCode": "CT"},
                {"packages": 5, "packageUnitCode": "CT"},
            ]
        }
    )
    assert (same["totalPackages"], same["totalPackagesUnitCode"]) == (15, "CT")
    mixed = compute_totals(
        {
            "commodity": [
                {"packages": 10, "packageUnitCode": "CT"},
                {"packages": 2, "packageUnitCode": "PX"},
            ]
        }
    )
    assert mixed["totalPackages"] == 12
    assert "totalPackagesUnitCode" not in mixed


def test_container_count_counts_distinct_numbers_and_unnumbered_entries() -> None:
    containers = [
        {"containerNo": "CSQU3054383"},
        {"containerNo": "CSQU3054383"},
        {"containerNo": "NARU3472484"},
        {"sizeTypeCode": "22G1"},
        {},
    ]
    assert container_count(containers) == 3
    assert container_count(None) == 0
