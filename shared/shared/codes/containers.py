"""ISO 6346 container identification: owner code, category, serial number, check digit; size-type codes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator

from shared.codes._result import CodeCheck, compact, invalid, pydantic_validator, valid

# ISO 6346 letter values start at A=10 and skip multiples of 11 (11, 22, 33) so that no
# letter weighs the same as a digit pattern that would mask an error.
_LETTER_VALUES: dict[str, int] = {}
_next_value = 10
for _letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
    if _next_value % 11 == 0:
        _next_value += 1
    _LETTER_VALUES[_letter] = _next_value
    _next_value += 1

# U = freight container, J = detachable freight-container-related equipment, Z = trailer/chassis.
EQUIPMENT_CATEGORIES = {
    "U": "freight container",
    "J": "detachable equipment",
    "Z": "trailer/chassis",
}

_CONTAINER_NUMBER = re.compile(r"^[A-Z]{3}[UJZ]\d{7}$")


def iso6346_check_digit(owner_category_serial: str) -> int:
    """Check digit over the first ten characters (owner code, category, six-digit serial)."""
    if len(owner_category_serial) != 10:
        raise ValueError("ISO 6346 check digit needs exactly ten characters")
    total = 0
    for position, char in enumerate(owner_category_serial.upper()):
        value = int(char) if char.isdigit() else _LETTER_VALUES[char]
        total += value * 2**position
    # Remainder 10 is written as 0: ISO 6346 advises owners not to issue such serials.
    return total % 11 % 10


def check_container_number(value: str) -> CodeCheck:
    normalized = compact(value)
    if not _CONTAINER_NUMBER.match(normalized):
        return invalid(
            value,
            normalized,
            "container_number_format",
            f"'{value}' is not an ISO 6346 container number "
            "(3-letter owner code, category U/J/Z, 6 digits, check digit; e.g. MSCU6634871)",
            f"'{value}' はISO 6346のコンテナ番号(所有者コード3文字+U/J/Z+6桁+チェックデジット、"
            "例: MSCU6634871)の形式ではありません",
        )
    expected = iso6346_check_digit(normalized[:10])
    if int(normalized[10]) != expected:
        return invalid(
            value,
            normalized,
            "container_number_check_digit",
            f"Container number '{normalized}' has check digit {normalized[10]}, expected {expected}",
            f"コンテナ番号 '{normalized}' のチェックデジットは {normalized[10]} ですが、"
            f"正しくは {expected} です",
        )
    return valid(value, normalized)


# --- size-type codes -------------------------------------------------------------------------

# First character: length. Digits are the classic 10/20/30/40 ft; letters are the 1995 additions.
LENGTH_CODES_FEET: dict[str, float] = {
    "1": 10, "2": 20, "3": 30, "4": 40,
    "A": 23.46, "B": 24, "C": 24.5, "D": 25.66, "E": 26.58, "F": 41, "G": 43,
    "H": 44.62, "K": 45, "L": 45, "M": 46, "N": 48, "P": 53,
}  # fmt: skip

# Second character: height (and width, for the letter codes used by pallet-wide boxes).
HEIGHT_CODES: dict[str, str] = {
    "0": "8'", "2": "8'6\"", "4": "9'", "5": "9'6\"", "6": ">9'6\"", "8": "4'3\"", "9": "<=4'",
    "C": "8'6\" pallet-wide", "D": "9' pallet-wide", "E": "9'6\" pallet-wide",
    "F": ">9'6\" pallet-wide", "L": "8'6\" wide", "M": "9' wide", "N": "9'6\" wide", "P": ">9'6\" wide",
}  # fmt: skip

# Type groups (ISO 6346 Annex E): letter of the detailed type code, and two-letter group codes.
TYPE_GROUPS: dict[str, str] = {
    "G": "general purpose",
    "V": "general purpose, ventilated",
    "B": "dry bulk",
    "S": "named cargo",
    "R": "thermal, refrigerated",
    "H": "thermal, insulated",
    "U": "open top",
    "P": "platform (flat rack)",
    "T": "tank",
    "A": "air/surface",
}
TYPE_GROUP_CODES = frozenset(
    {"GP", "VH", "BU", "BK", "SN", "RE", "RT", "RS", "HR", "HI", "UT", "PL", "PF", "PC", "PS",
     "TN", "TD", "TG", "AS"}
)  # fmt: skip

# The codes people meet every day, with descriptions for screens and documents.
COMMON_SIZE_TYPES: dict[str, str] = {
    "22G1": "20' dry (general purpose)",
    "22G0": "20' dry, opening at one or both ends",
    "25G1": "20' high cube dry",
    "42G1": "40' dry (general purpose)",
    "45G1": "40' high cube dry",
    "L5G1": "45' high cube dry",
    "22V1": "20' ventilated",
    "22R1": "20' reefer",
    "42R1": "40' reefer",
    "45R1": "40' high cube reefer",
    "22U1": "20' open top",
    "42U1": "40' open top",
    "22P1": "20' flat rack (fixed ends)",
    "22P3": "20' flat rack (collapsible)",
    "42P1": "40' flat rack (fixed ends)",
    "42P3": "40' flat rack (collapsible)",
    "22T6": "20' tank (test pressure 6 bar, dangerous liquids)",
    "22T0": "20' tank (non-dangerous liquids)",
    "22B0": "20' dry bulk",
}


@dataclass(frozen=True, slots=True)
class SizeType:
    code: str
    length_feet: float
    height: str
    type_group: str

    @property
    def teu(self) -> float:
        """Twenty-foot equivalent units (45' and longer count by their length)."""
        return self.length_feet / 20


def parse_size_type(code: str) -> SizeType | None:
    """Parse a 4-character ISO size-type code (e.g. 45G1, 22T6) or size + group code (22GP)."""
    normalized = compact(code)
    if len(normalized) != 4:
        return None
    length, height, type_part = normalized[0], normalized[1], normalized[2:]
    if length not in LENGTH_CODES_FEET or height not in HEIGHT_CODES:
        return None
    detailed = type_part[0] in TYPE_GROUPS and type_part[1].isdigit()
    if not detailed and type_part not in TYPE_GROUP_CODES:
        return None
    group = TYPE_GROUPS.get(type_part[0], type_part)
    return SizeType(normalized, LENGTH_CODES_FEET[length], HEIGHT_CODES[height], group)


def check_size_type(value: str) -> CodeCheck:
    normalized = compact(value)
    if parse_size_type(normalized) is None:
        return invalid(
            value,
            normalized,
            "size_type_code",
            f"'{value}' is not an ISO 6346 size-type code (e.g. 22G1, 42G1, 45G1, 45R1, 22T6)",
            f"'{value}' はISO 6346のサイズタイプコード(例: 22G1, 42G1, 45G1, 45R1, 22T6)ではありません",
        )
    return valid(value, normalized)


ContainerNumber = Annotated[str, AfterValidator(pydantic_validator(check_container_number))]
ContainerSizeType = Annotated[str, AfterValidator(pydantic_validator(check_size_type))]
