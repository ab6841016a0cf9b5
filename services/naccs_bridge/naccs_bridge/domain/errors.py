"""Typed errors of the NACCS bridge domain.

Every error names what it is about: the item (key, 項目略称, Japanese name) for values that cannot be sent, and
the byte offset for telegrams that cannot be read. NACCS replies are untrusted input, so decoding never lets a
bare ``IndexError`` or ``UnicodeDecodeError`` escape.
"""

from __future__ import annotations


class NaccsBridgeError(Exception):
    """Base class of every error raised by the bridge's domain code."""


class MapDataError(NaccsBridgeError):
    """A data file under ``naccs_bridge/maps`` is missing or does not validate."""

    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(f"{path}: {detail}")


class UnknownBusinessCode(NaccsBridgeError):
    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(f"unknown NACCS business code {code!r}")


class UnknownItems(NaccsBridgeError):
    """Values were given for items the business code's field map does not have."""

    def __init__(self, code: str, keys: list[str]) -> None:
        self.code = code
        self.keys = keys
        super().__init__(f"{code} has no items {', '.join(keys)}")


class ItemValueError(NaccsBridgeError):
    """A value cannot be written into a NACCS input item."""

    def __init__(self, item_key: str, item_name_ja: str, item_id: str | None, detail: str) -> None:
        self.item_key = item_key
        self.item_name_ja = item_name_ja
        self.item_id = item_id
        self.detail = detail
        label = f"{item_key} ({item_name_ja}{', ' + item_id if item_id else ''})"
        super().__init__(f"item {label}: {detail}")


class DisallowedCharacter(ItemValueError):
    """The value holds a character outside NACCS使用可能文字 for this item."""

    def __init__(
        self, item_key: str, item_name_ja: str, item_id: str | None, char: str, position: int
    ) -> None:
        self.char = char
        self.position = position
        super().__init__(
            item_key,
            item_name_ja,
            item_id,
            f"character {char!r} (U+{ord(char):04X}) at position {position} is not allowed by NACCS",
        )


class ItemTooLong(ItemValueError):
    def __init__(
        self, item_key: str, item_name_ja: str, item_id: str | None, width: int, actual: int
    ) -> None:
        self.width = width
        self.actual = actual
        super().__init__(
            item_key, item_name_ja, item_id, f"{actual} bytes do not fit the item's {width} bytes"
        )


class RepeatOverflow(NaccsBridgeError):
    def __init__(self, group_key: str, max_repeats: int, actual: int) -> None:
        self.group_key = group_key
        self.max_repeats = max_repeats
        self.actual = actual
        super().__init__(f"group {group_key}: {actual} repeats exceed the maximum of {max_repeats}")


class TelegramError(NaccsBridgeError):
    """A telegram cannot be built or read. ``offset`` is the byte offset of the problem."""

    def __init__(self, offset: int, detail: str) -> None:
        self.offset = offset
        self.detail = detail
        super().__init__(f"telegram byte {offset}: {detail}")


class TelegramTooShort(TelegramError):
    pass


class MalformedHeader(TelegramError):
    def __init__(self, field: str, offset: int, detail: str) -> None:
        self.field = field
        super().__init__(offset, f"header field {field}: {detail}")


class LengthMismatch(TelegramError):
    def __init__(self, declared: int, actual: int) -> None:
        self.declared = declared
        self.actual = actual
        super().__init__(392, f"電文長 says {declared} bytes but the telegram has {actual}")


class TelegramTooLong(TelegramError):
    def __init__(self, actual: int, maximum: int) -> None:
        self.actual = actual
        self.maximum = maximum
        super().__init__(maximum, f"{actual} bytes exceed the NACCS maximum of {maximum}")


class MalformedBody(TelegramError):
    """A body item is not where the field map says it is, or its bytes do not decode."""

    def __init__(self, offset: int, item_key: str, detail: str) -> None:
        self.item_key = item_key
        super().__init__(offset, f"item {item_key}: {detail}")


class MalformedResultCode(TelegramError):
    def __init__(self, offset: int, raw: str) -> None:
        self.raw = raw
        super().__init__(offset, f"processing result code {raw!r} is not NNNNN-XXXX-YYYY")
