"""IMO ship identification numbers (7 digits, the last one a check digit)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from shared.codes._result import CodeCheck, compact, invalid, pydantic_validator, valid


def imo_check_digit(first_six: str) -> int:
    """Weights 7..2 over the first six digits; the check digit is the last digit of the sum."""
    return (
        sum(int(digit) * weight for digit, weight in zip(first_six, range(7, 1, -1), strict=True))
        % 10
    )


def check_imo_number(value: str) -> CodeCheck:
    """`9298686` or `IMO 9298686`; stored as the seven digits."""
    normalized = compact(value).removeprefix("IMO")
    if len(normalized) != 7 or not normalized.isdigit():
        return invalid(
            value,
            normalized,
            "imo_number_format",
            f"'{value}' is not an IMO ship number (7 digits, e.g. 9298686)",
            f"'{value}' はIMO船舶番号(7桁の数字、例: 9298686)ではありません",
        )
    expected = imo_check_digit(normalized[:6])
    if int(normalized[6]) != expected:
        return invalid(
            value,
            normalized,
            "imo_number_check_digit",
            f"IMO number '{normalized}' has check digit {normalized[6]}, expected {expected}",
            f"IMO番号 '{normalized}' のチェックデジットは {normalized[6]} ですが、正しくは {expected} です",
        )
    return valid(value, normalized)


ImoNumber = Annotated[str, AfterValidator(pydantic_validator(check_imo_number))]
