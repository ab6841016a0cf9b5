"""What NACCS's answers say about the trade's customs status, as the platform writes it back.

One :class:`StatusUpdate` per procedure and number: the export cargo (輸出管理番号 from ECR), the export or
import declaration (申告番号 from EDA/IDA, declared by EDC/IDC, permitted by the permit notice), and the
container's gate movements (CYA/CYO). They travel in the bridge's events (``customs_status`` of
``naccs.result``, ``naccs.permit`` and ``naccs.inquiry``) to the forms service, which shows them in the
read-only ``naccs_status`` section of the trade's forms, and to the trades timeline.

Pure: no database, no HTTP. A rejected answer says nothing about customs status (the declaration is
where it was), so it yields nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Final

from pydantic import BaseModel, ConfigDict

from naccs_bridge.domain.telegram import ResultNotice


class Procedure(StrEnum):
    EXPORT_CARGO = "export_cargo"  # 輸出貨物 (bonded cargo registered by ECR)
    EXPORT_DECLARATION = "export_declaration"  # 輸出申告
    IMPORT_DECLARATION = "import_declaration"  # 輸入申告
    CONTAINER = "container"  # コンテナ搬出入 (CY gate in / out)


class State(StrEnum):
    REGISTERED = "registered"  # the number was given (貨物登録 / 申告事項登録)
    DECLARED = "declared"  # lodged with customs (申告), examination category known
    PERMITTED = "permitted"  # 輸出許可 / 輸入許可
    GATE_IN = "gate_in"  # 搬入
    GATE_OUT = "gate_out"  # 搬出


class TelegramKind(StrEnum):
    RESULT = "result"  # 処理結果通知 of one of our sends
    PERMIT_NOTICE = "permit_notice"  # 許可通知, delivered later through the outbox
    INQUIRY = "inquiry"  # 照会結果


class StatusSource(BaseModel):
    model_config = ConfigDict(frozen=True)

    telegram: TelegramKind
    business_code: str
    output_info_code: str


class StatusUpdate(BaseModel):
    """One procedure's state as NACCS said it, at ``at``; the wire shape of ``customs_status`` items."""

    model_config = ConfigDict(frozen=True)

    procedure: Procedure
    number: str
    state: State
    at: datetime
    source: StatusSource
    examination: str | None = None  # 審査区分 1 (簡易) / 2 (書類) / 3 (検査)
    permit_no: str | None = None
    permitted_on: date | None = None


# Accepted results that move a procedure: business code -> (procedure, state).
RESULT_STATES: Final[dict[str, tuple[Procedure, State]]] = {
    "ECR": (Procedure.EXPORT_CARGO, State.REGISTERED),
    "EDA": (Procedure.EXPORT_DECLARATION, State.REGISTERED),
    "EDC": (Procedure.EXPORT_DECLARATION, State.DECLARED),
    "IDA": (Procedure.IMPORT_DECLARATION, State.REGISTERED),
    "IDC": (Procedure.IMPORT_DECLARATION, State.DECLARED),
    "CYA": (Procedure.CONTAINER, State.GATE_IN),
    "CYO": (Procedure.CONTAINER, State.GATE_OUT),
}
DECLARATION_INQUIRIES: Final[dict[str, Procedure]] = {
    "IEX": Procedure.EXPORT_DECLARATION,
    "IID": Procedure.IMPORT_DECLARATION,
}
PERMIT_PROCEDURES: Final[dict[str, Procedure]] = {
    "export": Procedure.EXPORT_DECLARATION,
    "import": Procedure.IMPORT_DECLARATION,
}
PERMIT_DIRECTIONS: Final[dict[Procedure, str]] = {v: k for k, v in PERMIT_PROCEDURES.items()}
# The state word of a declaration inquiry (照会結果, line after the 申告番号). 🔶 The real layout is not
# public; these are the stand-in's words, the first extra line.
INQUIRY_STATES: Final[dict[str, State]] = {
    "REGISTERED": State.REGISTERED,
    "DECLARED": State.DECLARED,
    "PERMITTED": State.PERMITTED,
}


def _yyyymmdd(value: str) -> date | None:
    value = value.strip()
    if len(value) != 8 or not value.isdigit():
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None


def _line(lines: tuple[str, ...] | list[str], index: int) -> str:
    return lines[index].strip() if len(lines) > index else ""


def from_result(code: str, notice: ResultNotice, at: datetime) -> list[StatusUpdate]:
    """An accepted result of one of our sends: the number NACCS gave and the state it reached."""
    moved = RESULT_STATES.get(code)
    number = (notice.reference_no or "").strip()
    if moved is None or not notice.accepted or not number:
        return []
    procedure, state = moved
    examination = _line(notice.extra_lines, 0) if state is State.DECLARED else ""
    return [
        StatusUpdate(
            procedure=procedure,
            number=number,
            state=state,
            at=at,
            source=StatusSource(
                telegram=TelegramKind.RESULT,
                business_code=code,
                output_info_code=notice.header.output_info_code,
            ),
            examination=examination or None,
        )
    ]


def from_permit(
    direction: str,
    declaration_no: str,
    lines: list[str],
    *,
    business_code: str,
    output_info_code: str,
    at: datetime,
) -> StatusUpdate:
    """A permit notice: lines are 申告番号, 許可年月日, 審査区分 (the stand-in's layout, 🔶).

    The permit number is the declaration number: NACCS permits a declaration under its own 申告番号."""
    return StatusUpdate(
        procedure=PERMIT_PROCEDURES[direction],
        number=declaration_no,
        state=State.PERMITTED,
        at=at,
        source=StatusSource(
            telegram=TelegramKind.PERMIT_NOTICE,
            business_code=business_code,
            output_info_code=output_info_code,
        ),
        examination=_line(lines, 2) or None,
        permit_no=declaration_no,
        permitted_on=_yyyymmdd(_line(lines, 1)),
    )


def from_inquiry(code: str, notice: ResultNotice, at: datetime) -> list[StatusUpdate]:
    """A declaration inquiry (IEX/IID): the declaration's state, examination and permit date.

    Other inquiries (ICG, IAL, IVS ...) are stored decoded but yield no status: their output layouts
    are not public, so the bridge does not guess what their lines mean."""
    procedure = DECLARATION_INQUIRIES.get(code)
    number = (notice.reference_no or "").strip()
    if procedure is None or not notice.accepted or not number:
        return []
    state = INQUIRY_STATES.get(_line(notice.extra_lines, 0).upper())
    if state is None:
        return []
    permitted = state is State.PERMITTED
    return [
        StatusUpdate(
            procedure=procedure,
            number=number,
            state=state,
            at=at,
            source=StatusSource(
                telegram=TelegramKind.INQUIRY,
                business_code=code,
                output_info_code=notice.header.output_info_code,
            ),
            examination=_line(notice.extra_lines, 1) or None,
            permit_no=number if permitted else None,
            permitted_on=_yyyymmdd(_line(notice.extra_lines, 2)) if permitted else None,
        )
    ]


def as_payload(updates: list[StatusUpdate]) -> list[dict[str, object]]:
    return [update.model_dump(mode="json") for update in updates]


PROCEDURE_NAMES: Final[dict[Procedure, str]] = {
    Procedure.EXPORT_CARGO: "export cargo",
    Procedure.EXPORT_DECLARATION: "export declaration",
    Procedure.IMPORT_DECLARATION: "import declaration",
    Procedure.CONTAINER: "container",
}
STATE_WORDS: Final[dict[State, str]] = {
    State.REGISTERED: "registered",
    State.DECLARED: "declared",
    State.PERMITTED: "permitted",
    State.GATE_IN: "carried in (gate in)",
    State.GATE_OUT: "carried out (gate out)",
}


def describe(update: StatusUpdate) -> str:
    """One line for the trade's timeline: ``export declaration 10100000001 permitted on 2026-11-27``."""
    text = f"{PROCEDURE_NAMES[update.procedure]} {update.number} {STATE_WORDS[update.state]}"
    if update.permitted_on is not None:
        text += f" on {update.permitted_on.isoformat()}"
    if update.examination and update.state is State.DECLARED:
        text += f" (examination category {update.examination})"
    return text


def result_summary(
    code: str, *, inquiry: bool, outcome: str, updates: list[StatusUpdate], lines: list[str]
) -> str:
    """How a send's result reads on the timeline."""
    what = f"Inquiry {code}" if inquiry else f"NACCS {outcome} {code}"
    if inquiry and outcome == "rejected":
        what = f"Inquiry {code} refused"
    if updates:
        return f"{what}: " + "; ".join(describe(u) for u in updates)
    answered = " / ".join(line.strip() for line in lines if line.strip())
    if inquiry and answered and outcome != "rejected":
        return f"{what} answered: {answered}"[:500]
    return what
