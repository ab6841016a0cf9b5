"""NACCS result codes map back to the items and form fields that caused them, with readable messages."""

from __future__ import annotations

import pytest

from naccs_bridge.domain.errors import UnknownBusinessCode
from naccs_bridge.domain.loading import load_field_map
from naccs_bridge.domain.result_codes import (
    form_fields_of,
    interpret_result_notice,
    load_result_code_table,
    map_result_code,
    map_result_notice,
)
from naccs_bridge.domain.telegram import (
    ChannelSettings,
    ResultCode,
    parse_result_codes,
    parse_result_notice,
)


def code(raw: str) -> ResultCode:
    (parsed,) = parse_result_codes(raw, 400)
    return parsed


def test_a_booking_number_error_points_at_the_booking_fields() -> None:
    mapped = map_result_code(code("S0007-BOK -0000"), load_field_map("ECR"))
    assert mapped.severity == "error"
    assert mapped.item_keys == ("booking_no",)
    assert mapped.form_fields == ("BK.bookingNo", "SI.bookingNo", "shared.bookingNo")
    assert mapped.message_ja == "ブッキング番号の値が正しくありません。"
    assert mapped.message_en == "The value of Booking number is not valid."


def test_the_repeat_number_selects_the_line_of_the_form() -> None:
    """EDA has no public 項目略称 for its line items; the IDA B/L slots and VAE containers do."""
    bl = map_result_code(code("R0120-BLN -0002"), load_field_map("IDA"))
    assert bl.item_keys == ("bl_no",)
    assert bl.repeat_no == 2
    assert bl.form_fields == (
        "AN.billOfLading.blNo",
        "BL.billOfLading.blNo",
        "shared.billOfLading.blNo",
    )
    assert "B/L番号と他の項目との関係が正しくありません" in bl.message_ja
    container = map_result_code(code("S0001-CNO -0003"), load_field_map("VAE"))
    assert container.form_fields == ("shared.containers",)


def test_line_items_map_to_the_indexed_invoice_line() -> None:
    eda = load_field_map("EDA")
    assert form_fields_of(eda, eda.item("description"), 1) == (
        "IV.commodity.1.description",
        "PL.commodity.1.description",
    )


def test_master_data_behind_an_item_is_named() -> None:
    mapped = map_result_code(code("E0301-SEN -0000"), load_field_map("EDA"))
    assert mapped.item_keys == ("vessel_code",)
    assert mapped.form_fields == ("BK.vessel", "SI.vessel")
    assert mapped.master_tables == ("vessels",)
    assert mapped.message_en == "A business condition is not met (Vessel code (call sign))."


@pytest.mark.parametrize(
    ("raw", "severity", "message_en", "verified"),
    [
        ("A0004-0000-0000", "error", "The user password is not valid.", True),
        ("A0011-0000-0000", "error", "The NACCS centre is busy; send again later.", True),
        (
            "E0001-0000-0000",
            "error",
            "The input message length is not one the system can process.",
            True,
        ),
        ("00000-0000-0000", "success", "Processed successfully.", False),
        (
            "W0001-0000-0000",
            "warning",
            "Warning: check the input (the business was processed).",
            False,
        ),
        ("S0001-ZZZ -0000", "error", "The value of item ZZZ is not valid.", False),
    ],
)
def test_common_codes_read_well(raw: str, severity: str, message_en: str, verified: bool) -> None:
    mapped = map_result_code(code(raw), load_field_map("EDA"))
    assert (mapped.severity, mapped.message_en, mapped.verified) == (severity, message_en, verified)


def test_busy_centre_is_marked_retryable() -> None:
    assert map_result_code(code("A0011-0000-0000"), load_field_map("EDA")).retryable


def test_codes_scoped_to_one_business_apply_only_there() -> None:
    imi = map_result_code(code("S0005-DPR -0000"), load_field_map("IMI"))
    assert imi.verified
    assert "外国貿易船" in imi.message_ja
    ecr = map_result_code(code("S0005-DPR -0000"), load_field_map("ECR"))
    assert not ecr.verified
    assert ecr.message_ja == "船卸港コードの値が正しくありません。"


def test_every_category_of_the_public_tables_has_a_message() -> None:
    assert set(load_result_code_table().categories) == {"0", "A", "U", "S", "R", "E", "W", "M", "L"}


def notice_bytes(code: str, *lines: bytes) -> bytes:
    header = bytearray(b" " * 398)
    header[3:8] = code.ljust(5).encode()
    header[8:15] = f"*S{code}".ljust(7).encode()
    header[249:250] = b"R"
    data = bytes(header) + b"\r\n" + b"".join(line + b"\r\n" for line in lines)
    return data[:392] + f"{len(data):06d}".encode() + data[398:]


def test_a_whole_result_notice_maps_end_to_end() -> None:
    data = notice_bytes("ECR", b"S0007-BOK -0000W0123-LPR -0000" + b" " * 45)
    notice = parse_result_notice(data, ChannelSettings())
    mapped = map_result_notice(notice, load_field_map("ECR"))
    assert [(m.item_keys, m.severity) for m in mapped] == [
        (("booking_no",), "error"),
        (("loading_port",), "warning"),
    ]
    assert not notice.accepted


def test_an_accepted_ecr_writes_back_the_export_control_number() -> None:
    data = notice_bytes("ECR", b"00000-0000-0000" + b" " * 60, b"1ECR2611220001")
    result = interpret_result_notice(parse_result_notice(data, ChannelSettings()))
    assert result.accepted
    assert result.writes == {"exportControlNo": "1ECR2611220001"}
    assert (result.errors, result.warnings) == ((), ())


def test_a_refused_eda_writes_nothing_and_explains_itself() -> None:
    data = notice_bytes("EDA", b"S0007-SEN -0000" + b" " * 60, b"40000012345")
    result = interpret_result_notice(parse_result_notice(data, ChannelSettings()))
    assert not result.accepted
    assert result.writes == {}
    assert [e.item_keys for e in result.errors] == [("vessel_code",)]
    assert not result.retryable


def test_a_busy_centre_is_worth_a_retry() -> None:
    data = notice_bytes("IDA", b"A0011-0000-0000" + b" " * 60)
    assert interpret_result_notice(parse_result_notice(data, ChannelSettings())).retryable


def test_a_notice_for_an_unknown_business_code_is_a_typed_error() -> None:
    data = notice_bytes("QQQ", b"00000-0000-0000")
    with pytest.raises(UnknownBusinessCode):
        interpret_result_notice(parse_result_notice(data, ChannelSettings()))
