"""Character rules of NACCS items: allowed characters, per-channel encoding and byte-width fitting.

Item widths are counted in **bytes after encoding** (a full-width character takes 2 bytes in Shift_JIS, CP932
and EUC-JP alike), so every width check and every truncation works on encoded bytes and never splits a character.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache

from naccs_bridge.domain.errors import DisallowedCharacter, ItemTooLong, ItemValueError
from naccs_bridge.domain.loading import validate_file
from naccs_bridge.domain.specs import ItemSpec, StrictModel


class Charset(StrEnum):
    """The encoding of a NACCS channel. Which channel uses which is an open question (domain note §1.6 ❓):
    gateway/SMTP code decodes EUC-JP, package-software import files are Shift_JIS. So it is a setting."""

    SHIFT_JIS = "shift_jis"
    CP932 = "cp932"
    EUC_JP = "euc_jp"


class CharsetPolicy(StrictModel):
    half_width: str
    numeric: str


@cache
def load_charset_policy() -> CharsetPolicy:
    return validate_file("charset.toml", CharsetPolicy)


@cache
def is_portable_full_width(char: str) -> bool:
    """A JIS X 0208 character that encodes to 2 bytes and round-trips unchanged in every channel charset."""
    try:
        euc = char.encode(Charset.EUC_JP)
    except UnicodeEncodeError:
        return False
    if len(euc) != 2 or euc[0] < 0xA1 or euc[1] < 0xA1:
        return False  # half-width kana (0x8E) and JIS X 0212 (0x8F) are not in the common set
    for charset in Charset:
        try:
            if char.encode(charset).decode(charset) != char:
                return False
        except UnicodeError:
            return False
    return True


@cache
def disallowed_pattern(numeric: bool) -> re.Pattern[str]:
    """A pattern matching any one character outside the policy's table for ``n`` or ``an`` items: a regex
    search runs in C, where a Python loop over the characters cost more than the rest of a check."""
    policy = load_charset_policy()
    allowed = policy.numeric if numeric else policy.half_width
    return re.compile(f"[^{re.escape(allowed)}]" if allowed else r"(?s).")


@cache
def half_width_is_printable_ascii() -> bool:
    """Whether the half-width table is exactly printable ASCII (U+0020-U+007E), as charset.toml has it:
    then an ASCII text holds nothing a half-width (or full-width) item refuses exactly when
    ``str.isprintable()`` says so, which is cheaper than the regex search."""
    return set(load_charset_policy().half_width) == {chr(code) for code in range(0x20, 0x7F)}


@cache
def full_width_disallowed_pattern() -> re.Pattern[str]:
    """Like :func:`disallowed_pattern` for ``an`` items that take full-width text: the half-width table plus
    every portable full-width character. Those all encode to two EUC-JP bytes of 0xA1-0xFE that decode back
    to them, so trying each such byte pair finds every one of them (built once, on first use)."""
    portable = []
    for first in range(0xA1, 0xFF):
        for second in range(0xA1, 0xFF):
            try:
                char = bytes((first, second)).decode(Charset.EUC_JP)
            except UnicodeDecodeError:
                continue
            if is_portable_full_width(char):
                portable.append(char)
    allowed = load_charset_policy().half_width + "".join(sorted(set(portable)))
    return re.compile(f"[^{re.escape(allowed)}]")


def first_disallowed(text: str, *, numeric: bool, full_width: bool) -> int | None:
    """Index of the first character NACCS does not take in such an item, or None."""
    if full_width and not numeric:
        match = full_width_disallowed_pattern().search(text)
    else:
        match = disallowed_pattern(numeric).search(text)
    return None if match is None else match.start()


def check_allowed(item: ItemSpec, text: str) -> None:
    index = first_disallowed(text, numeric=item.type == "n", full_width=item.full_width)
    if index is not None:
        raise DisallowedCharacter(item.key, item.name_ja, item.id, text[index], index)


def encoded_length(text: str, charset: Charset) -> int:
    return len(text.encode(charset))


def truncate_to_bytes(text: str, width: int, charset: Charset) -> str:
    """The longest prefix of ``text`` whose encoding fits ``width`` bytes; never cuts a character in half."""
    used = 0
    for index, char in enumerate(text):
        size = len(char.encode(charset))
        if used + size > width:
            return text[:index]
        used += size
    return text


def encode_item(
    item: ItemSpec,
    value: str,
    charset: Charset,
    *,
    align_numeric_right: bool = False,
) -> bytes:
    """The item's bytes at exactly its width: allowed characters checked, padded with half-width spaces.
    A value longer than the width is an error here; truncation is the prefill's decision, made visibly."""
    check_allowed(item, value)
    try:
        raw = value.encode(charset)
    except UnicodeEncodeError as exc:
        raise ItemValueError(
            item.key, item.name_ja, item.id, f"cannot be encoded in {charset}: {exc.reason}"
        ) from exc
    if len(raw) > item.width:
        raise ItemTooLong(item.key, item.name_ja, item.id, item.width, len(raw))
    if item.type == "n" and align_numeric_right:
        return raw.rjust(item.width, b" ")
    return raw.ljust(item.width, b" ")
