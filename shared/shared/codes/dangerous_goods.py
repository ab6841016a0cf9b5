"""Dangerous goods codes: UN numbers, IMDG classes/divisions, packing groups."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

from shared.codes._result import CodeCheck, compact, invalid, pydantic_validator, valid

# IMDG Code classes and divisions (class 1 divisions may carry a compatibility group letter).
IMDG_CLASSES: dict[str, str] = {
    "1.1": "Explosives with a mass explosion hazard",
    "1.2": "Explosives with a projection hazard",
    "1.3": "Explosives with a fire hazard",
    "1.4": "Explosives with no significant hazard",
    "1.5": "Very insensitive substances with a mass explosion hazard",
    "1.6": "Extremely insensitive articles",
    "2.1": "Flammable gases",
    "2.2": "Non-flammable, non-toxic gases",
    "2.3": "Toxic gases",
    "3": "Flammable liquids",
    "4.1": "Flammable solids",
    "4.2": "Substances liable to spontaneous combustion",
    "4.3": "Substances which emit flammable gases in contact with water",
    "5.1": "Oxidizing substances",
    "5.2": "Organic peroxides",
    "6.1": "Toxic substances",
    "6.2": "Infectious substances",
    "7": "Radioactive material",
    "8": "Corrosive substances",
    "9": "Miscellaneous dangerous substances and articles",
}
_COMPATIBILITY_GROUPS = frozenset("ABCDEFGHJKLNS")
_UN_NUMBER = re.compile(r"^(?:UN)?(\d{4})$")


def check_un_number(value: str) -> CodeCheck:
    """`UN3082` or `3082`; stored as `UN3082`."""
    normalized = compact(value)
    match = _UN_NUMBER.match(normalized)
    if match is None or match.group(1) == "0000":
        return invalid(
            value,
            normalized,
            "un_number_format",
            f"'{value}' is not a UN number (UN + 4 digits, e.g. UN3082)",
            f"'{value}' は国連番号(UN+4桁、例: UN3082)ではありません",
        )
    return valid(value, f"UN{match.group(1)}")


def check_imdg_class(value: str) -> CodeCheck:
    normalized = value.strip().upper().replace(" ", "")
    division = normalized
    if (
        normalized.startswith("1.")
        and len(normalized) == 4
        and normalized[3] in _COMPATIBILITY_GROUPS
    ):
        division = normalized[:3]
    if division not in IMDG_CLASSES:
        return invalid(
            value,
            normalized,
            "imdg_class",
            f"'{value}' is not an IMDG class or division (e.g. 3, 2.1, 6.1, 1.4S, 9)",
            f"'{value}' はIMDGコードの等級・区分(例: 3, 2.1, 6.1, 1.4S, 9)ではありません",
        )
    return valid(value, normalized)


_PACKING_GROUPS = {"I": "I", "1": "I", "II": "II", "2": "II", "III": "III", "3": "III"}


def check_packing_group(value: str) -> CodeCheck:
    """Packing group I/II/III (great/medium/minor danger); digits 1-3 as DCSA sends them."""
    normalized = compact(str(value))
    if normalized not in _PACKING_GROUPS:
        return invalid(
            value,
            normalized,
            "packing_group",
            f"'{value}' is not a packing group (I, II or III)",
            f"'{value}' は容器等級(I, II, III)ではありません",
        )
    return valid(value, _PACKING_GROUPS[normalized])


UnNumber = Annotated[str, AfterValidator(pydantic_validator(check_un_number))]
ImdgClass = Annotated[str, AfterValidator(pydantic_validator(check_imdg_class))]
PackingGroup = Annotated[str, AfterValidator(pydantic_validator(check_packing_group))]
