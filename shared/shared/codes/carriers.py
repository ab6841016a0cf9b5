"""SCAC (Standard Carrier Alpha Code), as used for ocean carriers and NACCS 船会社コード."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from shared.codes._result import CodeCheck, compact, invalid, pydantic_validator, valid

# SCACs are assigned by NMFTA; this table only names the large container lines for display.
KNOWN_OCEAN_CARRIERS: dict[str, str] = {
    "MAEU": "Maersk",
    "MSCU": "MSC Mediterranean Shipping Company",
    "CMDU": "CMA CGM",
    "COSU": "COSCO Shipping Lines",
    "HLCU": "Hapag-Lloyd",
    "ONEY": "Ocean Network Express (ONE)",
    "EGLV": "Evergreen Line",
    "YMLU": "Yang Ming",
    "HDMU": "HMM",
    "ZIMU": "ZIM",
    "OOLU": "OOCL",
    "WHLC": "Wan Hai Lines",
    "PCIU": "Pacific International Lines (PIL)",
}


def check_scac(value: str) -> CodeCheck:
    """Four letters. NMFTA also issues 2-3 letter SCACs, but ocean carriers and NACCS use four."""
    normalized = compact(value)
    if len(normalized) != 4 or not normalized.isascii() or not normalized.isalpha():
        return invalid(
            value,
            normalized,
            "scac_format",
            f"'{value}' is not a SCAC carrier code (4 letters, e.g. ONEY)",
            f"'{value}' はSCAC船会社コード(英字4文字、例: ONEY)ではありません",
        )
    return valid(value, normalized)


ScacCode = Annotated[str, AfterValidator(pydantic_validator(check_scac))]
