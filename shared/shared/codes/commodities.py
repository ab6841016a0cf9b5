"""Harmonized System commodity codes: the 6-digit international code and Japan's 9-digit codes."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from shared.codes._result import CodeCheck, compact, invalid, pydantic_validator, valid

# HS chapters run 01-97; chapter 77 is reserved for future use and never assigned. Chapters
# 98 and 99 are left to national use (e.g. US HTS special provisions), so only national codes
# may start with them.
_RESERVED_CHAPTERS = frozenset({"00", "77", "98", "99"})
_NATIONAL_USE_CHAPTERS = frozenset({"98", "99"})


def _check_digits(
    value: str,
    lengths: range,
    code: str,
    name_en: str,
    name_ja: str,
    example: str,
    allowed_chapters: frozenset[str] = frozenset(),
) -> CodeCheck:
    normalized = compact(value)
    if not normalized.isdigit() or len(normalized) not in lengths:
        return invalid(
            value,
            normalized,
            f"{code}_format",
            f"'{value}' is not a {name_en} (e.g. {example})",
            f"'{value}' は{name_ja}(例: {example})の形式ではありません",
        )
    if normalized[:2] in _RESERVED_CHAPTERS - allowed_chapters:
        return invalid(
            value,
            normalized,
            f"{code}_chapter",
            f"'{value}' starts with HS chapter {normalized[:2]}, which does not exist",
            f"'{value}' の類({normalized[:2]}類)はHSに存在しません",
        )
    return valid(value, normalized)


def check_hs_code(value: str) -> CodeCheck:
    """International 6-digit HS subheading (dots and spaces allowed: 6405.10)."""
    return _check_digits(value, range(6, 7), "hs_code", "6-digit HS code", "HSコード6桁", "640510")


def check_jp_statistical_code(value: str) -> CodeCheck:
    """Japan's 9-digit code: 輸出統計品目番号 (export) / 品目コード (import), HS 6 + 3 national digits."""
    return _check_digits(
        value,
        range(9, 10),
        "jp_statistical_code",
        "9-digit Japanese statistical code",
        "9桁の統計品目番号",
        "6405.10-000",
    )


def check_hs_or_national_code(value: str) -> CodeCheck:
    """6 to 10 digits, as DCSA accepts (`HSCodes` pattern ^\\d{6,10}$)."""
    return _check_digits(
        value,
        range(6, 11),
        "hs_code",
        "HS code of 6-10 digits",
        "6〜10桁のHSコード",
        "640510",
        _NATIONAL_USE_CHAPTERS,
    )


HsCode = Annotated[str, AfterValidator(pydantic_validator(check_hs_code))]
JpStatisticalCode = Annotated[str, AfterValidator(pydantic_validator(check_jp_statistical_code))]
HsOrNationalCode = Annotated[str, AfterValidator(pydantic_validator(check_hs_or_national_code))]
