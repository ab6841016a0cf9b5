"""Dates as they arrive on trade documents: ISO 8601, NACCS YYYYMMDD, Japanese YYYY/MM/DD."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from shared.codes._result import CodeCheck, invalid, valid

_DATE_SHAPES = (
    re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
)


def parse_date(value: str) -> date | None:
    text = value.strip()
    for shape in _DATE_SHAPES:
        match = shape.match(text)
        if match is not None:
            try:
                return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
            except ValueError:
                return None
    return None


def check_date(value: str) -> CodeCheck:
    parsed = parse_date(value)
    if parsed is None:
        return invalid(
            value,
            value.strip(),
            "date_format",
            f"'{value}' is not a calendar date (YYYY-MM-DD, YYYYMMDD or YYYY/MM/DD)",
            f"'{value}' は日付(YYYY-MM-DD、YYYYMMDD、YYYY/MM/DD)ではありません",
        )
    return valid(value, parsed.isoformat())


def to_naccs_date(value: date) -> str:
    """NACCS writes dates as 8 digits, YYYYMMDD."""
    return value.strftime("%Y%m%d")


def _coerce_date(value: object) -> object:
    if isinstance(value, str):
        result = check_date(value)
        if result.error is not None:
            raise PydanticCustomError(
                result.error.code,
                result.error.message_en,
                {"message_ja": result.error.message_ja, "value": value},
            )
        return result.normalized
    return value


TradeDate = Annotated[date, BeforeValidator(_coerce_date)]
