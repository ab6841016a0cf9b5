from typing import Any

from forms.domain.validation import validate_form


def _complete_si() -> dict[str, Any]:
    return {
        "shipper": {"name": "Minato Trading Co., Ltd.", "addressLines": ["1-1 Kaigan, Minato-ku"]},
        "consignee": {"name": "ACME GmbH"},
        "bookingNo": "BKG123",
        "billOfLading": {"documentType": "BOL", "freightPaymentTerm": "PRE"},
        "portOfLoading": {"code": "JPTYO"},
        "portOfDischarge": {"code": "DEHAM"},
        "commodity": [
            {
                "description": "Shoes - black",
                "hsCode": "640510",
                "packages": 400,
                "packageUnitCode": "4G",
                "grossWeight": 12000,
                "grossWeightUnitCode": "KGM",
            }
        ],
        "totalPackages": 400,
        "totalPackagesUnitCode": "4G",
        "commodityTotalGrossWeight": 12000,
        "commodityTotalGrossWeightUnitCode": "KGM",
        "marksAndNumbers": "ACME HAMBURG 1-400",
    }


def test_complete_si_can_be_sent() -> None:
    report = validate_form("UL040", _complete_si())
    assert report.issues == ()
    assert report.can_send


def test_empty_draft_can_be_saved_but_not_sent() -> None:
    report = validate_form("UL040", {})
    assert report.can_save_draft
    assert not report.can_send
    missing = {issue.path for issue in report.missing}
    assert {"shipper.name", "consignee.name", "bookingNo", "commodity"} <= missing


def test_missing_item_in_a_list_names_the_line_in_both_languages() -> None:
    document = _complete_si()
    del document["commodity"][0]["hsCode"]
    report = validate_form("UL040", document)
    assert [issue.path for issue in report.missing] == ["commodity[0].hsCode"]
    issue = report.missing[0]
    assert issue.message_en == "Commodity › HS code #1 is required before sending"
    assert issue.message_ja == "品目 › HSコード #1 は送信前に入力が必要です"


def test_wrong_codes_are_reported_with_their_path() -> None:
    document = _complete_si()
    document["containers"] = [{"containerNo": "MSCU6634871", "sizeTypeCode": "22X1"}]
    document["shipper"]["corporateNumber"] = "8000012050002"
    report = validate_form("UL040", document)
    assert not report.can_save_draft
    by_path = {issue.path: issue for issue in report.invalid}
    assert by_path["containers[0].containerNo"].code == "container_number_check_digit"
    assert "expected 9" in by_path["containers[0].containerNo"].message_en
    assert "チェックデジット" in by_path["containers[0].containerNo"].message_ja
    assert by_path["containers[0].sizeTypeCode"].code == "size_type_code"
    assert by_path["shipper.corporateNumber"].code == "corporate_number_check_digit"


def test_unknown_field_and_bad_choice_are_invalid() -> None:
    document = _complete_si() | {"shiper": {"name": "typo"}}
    document["billOfLading"] = {"documentType": "AWB", "freightPaymentTerm": "PRE"}
    report = validate_form("UL040", document)
    codes = {issue.path: issue.code for issue in report.invalid}
    assert codes["shiper"] == "extra_forbidden"
    assert codes["billOfLading.documentType"] == "literal_error"
    assert "この帳票にない項目" in next(i.message_ja for i in report.invalid if i.path == "shiper")


def test_weight_without_unit_is_invalid() -> None:
    document = _complete_si()
    del document["commodityTotalGrossWeightUnitCode"]
    report = validate_form("UL040", document)
    assert any(
        issue.path == "commodityTotalGrossWeightUnitCode" and issue.code == "unit_required"
        for issue in report.invalid
    )


def test_totals_that_disagree_with_lines_are_warned() -> None:
    document = _complete_si() | {"commodityTotalGrossWeight": 11000}
    report = validate_form("UL040", document)
    assert report.can_send  # a warning does not block sending
    warning = next(issue for issue in report.warnings if issue.code == "total_mismatch")
    assert warning.path == "commodityTotalGrossWeight"
    assert "12000" in warning.message_en


def test_unknown_locode_is_a_warning_not_an_error() -> None:
    document = _complete_si() | {"portOfDischarge": {"code": "DEQQQ"}}
    report = validate_form("UL040", document)
    assert [issue.code for issue in report.warnings] == ["locode_not_in_table"]
    assert report.can_send


def test_dg_list_requires_dangerous_goods_lines() -> None:
    report = validate_form("MX060", {"dangerousGoods": [{"unNumber": "UN3082", "imdgClass": "10"}]})
    invalid = {issue.path: issue.code for issue in report.invalid}
    assert invalid == {"dangerousGoods[0].imdgClass": "imdg_class"}
    missing = {issue.path for issue in report.missing}
    assert "dangerousGoods[0].properShippingName" in missing
    assert "dangerousGoods[0].unNumber" not in missing


def test_to_order_bl_needs_a_notify_party_instead_of_a_consignee() -> None:
    document = _complete_si()
    del document["consignee"]
    document["billOfLading"]["isToOrder"] = True
    report = validate_form("UL040", document)
    assert [issue.path for issue in report.missing] == ["notifyParty.name"]
    document["notifyParty"] = {"name": "ACME GmbH"}
    assert validate_form("UL040", document).can_send


def test_packing_group_is_not_required_for_gases_and_radioactive_material() -> None:
    lines = [
        {"unNumber": "UN1950", "imdgClass": "2.1"},
        {"unNumber": "UN2910", "imdgClass": "7"},
        {"unNumber": "UN1263", "imdgClass": "3"},
    ]
    missing = {issue.path for issue in validate_form("MX060", {"dangerousGoods": lines}).missing}
    assert "dangerousGoods[2].packingGroup" in missing
    assert "dangerousGoods[0].packingGroup" not in missing
    assert "dangerousGoods[1].packingGroup" not in missing


def test_invalid_issues_are_the_reports_invalid_alone() -> None:
    """A save asks only ``invalid_issues``; it must refuse exactly what the full report calls
    invalid (schema errors and amounts without units), missing items and warnings aside."""
    from forms.domain.validation import invalid_issues

    wrong = _complete_si() | {
        "portOfLoading": {"code": "jp tyo!"},
        "commodity": [{"grossWeight": 5, "packages": "many"}],
        "unknownField": 1,
    }
    for code, document in (
        ("UL040", _complete_si()),
        ("UL040", wrong),
        ("UL150", {}),
        ("UL150", wrong),
    ):
        report = validate_form(code, document)
        assert invalid_issues(code, document) == report.invalid
    assert invalid_issues("UL040", wrong)  # the wrong document has something to refuse
