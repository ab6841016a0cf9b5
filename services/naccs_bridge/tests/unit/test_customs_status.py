"""What NACCS's answers say about customs status (``domain.customs_status``), read without I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime

from naccs_bridge.domain.customs_status import (
    Procedure,
    State,
    TelegramKind,
    describe,
    from_inquiry,
    from_permit,
    from_result,
    result_summary,
)
from naccs_bridge.domain.telegram import (
    MessageKind,
    OutputHeader,
    ResultCode,
    ResultNotice,
    parse_result_codes,
)

AT = datetime(2026, 11, 27, 1, 15, tzinfo=UTC)


def notice(
    code: str, result: str, reference_no: str, *lines: str, kind: MessageKind = MessageKind.RESULT
) -> ResultNotice:
    codes: tuple[ResultCode, ...] = parse_result_codes(result, 400)
    return ResultNotice(
        header=OutputHeader(
            business_code=code,
            output_info_code=f"*SE{code}",
            received_at=AT,
            user_code="MNT01",
            mail_or_terminal="",
            subject=reference_no,
            handover_info="",
            split_seq=None,
            last_flag="",
            message_kind=kind,
            input_id_no="0000000001",
            index_handover="",
            destination_pattern="",
            message_length=0,
        ),
        codes=codes,
        reference_no=reference_no,
        extra_lines=lines,
    )


def test_accepted_results_give_the_number_and_the_state_it_reached() -> None:
    [cargo] = from_result("ECR", notice("ECR", "00000-0000-0000", "4321E0000001"), AT)
    assert (cargo.procedure, cargo.number, cargo.state) == (
        Procedure.EXPORT_CARGO,
        "4321E0000001",
        State.REGISTERED,
    )
    [declared] = from_result("EDC", notice("EDC", "00000-0000-0000", "10100000001", "2"), AT)
    assert (declared.state, declared.examination) == (State.DECLARED, "2")
    assert declared.source.telegram is TelegramKind.RESULT
    [gate_in] = from_result("CYA", notice("CYA", "00000-0000-0000", "MSKU1234565"), AT)
    assert (gate_in.procedure, gate_in.state) == (Procedure.CONTAINER, State.GATE_IN)


def test_a_rejected_result_or_an_unrelated_code_says_nothing_about_status() -> None:
    assert from_result("EDC", notice("EDC", "E0102-ECN -0000", "10100000001"), AT) == []
    assert from_result("VAE", notice("VAE", "00000-0000-0000", "X1"), AT) == []


def test_a_permit_notice_carries_the_permit_number_and_date() -> None:
    update = from_permit(
        "import",
        "20200000007",
        ["20200000007", "20261127", "1", ""],
        business_code="IDC",
        output_info_code="SAD0030",
        at=AT,
    )
    assert (update.procedure, update.state) == (Procedure.IMPORT_DECLARATION, State.PERMITTED)
    assert (update.permit_no, update.permitted_on, update.examination) == (
        "20200000007",
        date(2026, 11, 27),
        "1",
    )
    assert describe(update) == "import declaration 20200000007 permitted on 2026-11-27"


def test_a_declaration_inquiry_reads_the_state_and_other_inquiries_guess_nothing() -> None:
    answer = notice(
        "IEX",
        "00000-0000-0000",
        "10100000001",
        "PERMITTED",
        "1",
        "20261127",
        kind=MessageKind.INQUIRY,
    )
    [update] = from_inquiry("IEX", answer, AT)
    assert (update.state, update.permitted_on, update.source.telegram) == (
        State.PERMITTED,
        date(2026, 11, 27),
        TelegramKind.INQUIRY,
    )
    unknown_word = notice("IEX", "00000-0000-0000", "10100000001", "EXAMINING")
    assert from_inquiry("IEX", unknown_word, AT) == []
    cargo = notice("ICG", "00000-0000-0000", "4321E0000001", "IN", "1AW61")
    assert from_inquiry("ICG", cargo, AT) == []
    assert (
        result_summary("ICG", inquiry=True, outcome="accepted", updates=[], lines=["IN", "1AW61"])
        == "Inquiry ICG answered: IN / 1AW61"
    )
