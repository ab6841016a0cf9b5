"""法人番号 (Japanese Corporate Number, 13 digits) and the NACCS 輸出入者コード built from it."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from shared.codes._result import CodeCheck, compact, invalid, pydantic_validator, valid


def corporate_number_check_digit(base: str) -> int:
    """Check digit of a 12-digit base number (National Tax Agency formula).

    check digit = 9 - (sum(P_n * Q_n for n = 1..12) mod 9), where P_n is the n-th digit
    counted from the right of the base and Q_n is 1 for odd n and 2 for even n.
    The check digit is written *in front* of the base.
    """
    if len(base) != 12 or not base.isdigit():
        raise ValueError("法人番号 base must be exactly 12 digits")
    total = sum(
        int(digit) * (1 if n % 2 == 1 else 2) for n, digit in enumerate(reversed(base), start=1)
    )
    return 9 - total % 9


def check_corporate_number(value: str) -> CodeCheck:
    normalized = compact(value)
    if len(normalized) != 13 or not normalized.isdigit():
        return invalid(
            value,
            normalized,
            "corporate_number_format",
            f"'{value}' is not a Japanese corporate number (13 digits)",
            f"'{value}' は法人番号(13桁の数字)ではありません",
        )
    expected = corporate_number_check_digit(normalized[1:])
    if int(normalized[0]) != expected:
        return invalid(
            value,
            normalized,
            "corporate_number_check_digit",
            f"Corporate number '{normalized}' has check digit {normalized[0]}, expected {expected}",
            f"法人番号 '{normalized}' のチェックデジット(先頭1桁)は {normalized[0]} ですが、"
            f"正しくは {expected} です",
        )
    return valid(value, normalized)


def check_naccs_trader_code(value: str) -> CodeCheck:
    """NACCS 輸出入者コード: 法人番号 (13) + 4-digit branch number (枝番), 17 characters."""
    normalized = compact(value)
    if len(normalized) != 17 or not normalized.isdigit():
        return invalid(
            value,
            normalized,
            "naccs_trader_code_format",
            f"'{value}' is not a NACCS trader code (corporate number 13 digits + branch 4 digits)",
            f"'{value}' は輸出入者コード(法人番号13桁+枝番4桁)ではありません",
        )
    corporate = check_corporate_number(normalized[:13])
    if corporate.error is not None:
        return invalid(
            value,
            normalized,
            corporate.error.code,
            corporate.error.message_en,
            corporate.error.message_ja,
        )
    return valid(value, normalized)


CorporateNumber = Annotated[str, AfterValidator(pydantic_validator(check_corporate_number))]
NaccsTraderCode = Annotated[str, AfterValidator(pydantic_validator(check_naccs_trader_code))]
