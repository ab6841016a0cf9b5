"""Whatever bytes arrive, the stand-in's reader either reads them or names a result code: never crashes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from naccs_standin.config import DEFAULT_MAPS_DIR
from naccs_standin.wire import HEADER_LINE, WireError, load_layouts, read_body, read_input_header

from .telegrams import ecr

LAYOUTS = load_layouts(DEFAULT_MAPS_DIR)
GOOD = ecr()


def read_all(raw: bytes) -> None:
    header = read_input_header(raw)
    layout = LAYOUTS.get(header.business_code)
    if layout is not None:
        read_body(layout, raw[HEADER_LINE:], "shift_jis")


def outcome(raw: bytes) -> str:
    """ "ok", or the result code's NNNNN; a well-formed 15-byte code either way."""
    code = "ok"
    full = "00000-0000-0000"
    try:
        read_all(raw)
    except WireError as error:
        code, full = error.code, error.result_code
    assert len(full) == 15
    return code


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_are_refused_with_a_result_code(raw: bytes) -> None:
    outcome(raw)


@settings(max_examples=300, deadline=None)
@given(
    position=st.integers(min_value=0, max_value=len(GOOD) - 1),
    replacement=st.binary(min_size=1, max_size=4),
)
def test_a_damaged_telegram_is_read_or_refused_with_a_result_code(
    position: int, replacement: bytes
) -> None:
    damaged = GOOD[:position] + replacement + GOOD[position + len(replacement) :]
    outcome(damaged)


def test_the_undamaged_telegram_reads() -> None:
    assert outcome(GOOD) == "ok"
