"""The NACCS EDI telegram codec (固定長デリミター方式): a 398-byte common header + CRLF, then one CRLF-terminated
fixed-width line per item, repeat groups block by block.

Offsets of the input and output common headers are those of /work/shared/domain/cyberport-naccs.md §1.2-1.3 (two
independent public codebases agree on them). Output telegrams come from outside and are decoded defensively:
every failure is a typed :class:`~naccs_bridge.domain.errors.TelegramError` carrying the byte offset.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from naccs_bridge.domain.charset import (
    Charset,
    disallowed_pattern,
    encode_item,
    first_disallowed,
    half_width_is_printable_ascii,
)
from naccs_bridge.domain.errors import (
    ItemValueError,
    LengthMismatch,
    MalformedBody,
    MalformedHeader,
    MalformedResultCode,
    RepeatOverflow,
    TelegramError,
    TelegramTooLong,
    TelegramTooShort,
    UnknownItems,
)
from naccs_bridge.domain.specs import FieldMap, FieldMapPlans, GroupSpec, ItemSpec, StrictModel

CRLF = b"\r\n"
HEADER_WIDTH = 398
HEADER_LINE = HEADER_WIDTH + len(CRLF)  # 400: 電文長 counts the header line too ([S5]: 400 + body)
MAX_TELEGRAM_BYTES = 700_000  # NACCS EDI 電文 maximum ✅ [S1]
# システム識別: air 1, sea 2 ✅ [S6]; a space is error A0016 ✅ [S4]
SEA_SYSTEM_ID: Literal["2"] = "2"


class HeaderField(NamedTuple):
    name: str
    offset: int
    width: int


INPUT_HEADER_FIELDS: tuple[HeaderField, ...] = (
    HeaderField("control", 0, 3),  # 制御情報
    HeaderField("business_code", 3, 5),  # 業務コード
    HeaderField("reserved_1", 8, 21),
    HeaderField("user_code", 29, 5),  # 利用者コード
    HeaderField("identification_no", 34, 3),  # 識別番号
    HeaderField("password", 37, 8),  # 利用者パスワード
    HeaderField("reserved_2", 45, 174),
    HeaderField("handover_info", 219, 26),  # 電文引継情報
    HeaderField("reserved_3", 245, 8),
    HeaderField("input_id_no", 253, 10),  # 入力情報特定番号
    HeaderField("index_handover", 263, 100),  # 索引引継情報
    HeaderField("reserved_4", 363, 1),
    HeaderField("system_id", 364, 1),  # システム識別
    HeaderField("reserved_5", 365, 27),
    HeaderField("message_length", 392, 6),  # 電文長
)

OUTPUT_HEADER_FIELDS: tuple[HeaderField, ...] = (
    HeaderField("reserved_1", 0, 3),
    HeaderField("business_code", 3, 5),  # 業務コード
    HeaderField("output_info_code", 8, 7),  # 出力情報コード
    HeaderField("received_at", 15, 14),  # 電文受信日時 YYYYMMDDhhmmss
    HeaderField("user_code", 29, 5),  # 利用者コード
    HeaderField("reserved_2", 34, 17),
    HeaderField("mail_or_terminal", 51, 64),  # 利用者メールアドレス / 論理端末名 🔶
    HeaderField("subject", 115, 64),  # 業務個別データ (申告番号 etc.)
    HeaderField("reserved_3", 179, 40),
    HeaderField("handover_info", 219, 26),  # 電文引継情報 (echo)
    HeaderField("split_seq", 245, 3),  # 分割通番
    HeaderField("last_flag", 248, 1),  # 最終表示
    HeaderField("message_kind", 249, 1),  # 電文種別
    HeaderField("reserved_4", 250, 3),
    HeaderField("input_id_no", 253, 10),  # 入力情報特定番号 (echo)
    HeaderField("index_handover", 263, 100),  # 索引引継情報
    HeaderField("destination_pattern", 363, 1),  # 宛管形式
    HeaderField("reserved_5", 364, 28),
    HeaderField("message_length", 392, 6),  # 電文長
)


class ChannelSettings(StrictModel):
    """Per-channel wire settings; both are open questions in the public record, hence settings."""

    charset: Charset = Charset.SHIFT_JIS
    # [S5] left-justifies text; the rule for n items is unconfirmed 🔶
    numeric_alignment: Literal["left", "right"] = "left"


class InputHeader(StrictModel):
    """The fields of the 398-byte 入力共通項目 a caller sets; 電文長 is computed when the telegram is built."""

    business_code: Annotated[str, Field(pattern=r"^[A-Z0-9]{3,5}$")]
    user_code: Annotated[str, Field(pattern=r"^[A-Z0-9]{5}$")]
    identification_no: Annotated[str, Field(pattern=r"^[A-Z0-9]{3}$")]
    password: Annotated[str, Field(max_length=8, pattern=r"^[!-~]*$")]
    handover_info: Annotated[str, Field(max_length=26, pattern=r"^[ -~]*$")] = ""
    input_id_no: Annotated[str, Field(max_length=10, pattern=r"^[ -~]*$")] = ""
    index_handover: Annotated[str, Field(max_length=100, pattern=r"^[ -~]*$")] = ""
    system_id: Literal["1", "2"] = SEA_SYSTEM_ID

    @property
    def user_id(self) -> str:
        """利用者ID = 利用者コード(5) + 識別番号(3) ✅ [S7]."""
        return self.user_code + self.identification_no


class MessageKind(StrEnum):
    """電文種別 of an output telegram ✅ [S6][S1]."""

    FORM = "P"  # 帳票用出力情報
    SCREEN = "C"  # 画面用 (非照会)
    INQUIRY = "M"  # 照会結果
    INTERNAL = "T"  # 社内IF用
    STORED = "U"  # 蓄積用 (溜め置き)
    RESULT = "R"  # 処理結果通知


class OutputHeader(StrictModel):
    business_code: str
    output_info_code: str
    received_at: datetime | None
    user_code: str
    mail_or_terminal: str
    subject: str
    handover_info: str
    split_seq: int | None
    last_flag: str
    message_kind: MessageKind
    input_id_no: str
    index_handover: str
    destination_pattern: str
    message_length: int

    @property
    def is_result_notice(self) -> bool:
        """Result notices carry 出力情報コード ``*`` + system letter + 業務コード ✅ [S3 付表6-1]."""
        return self.output_info_code.startswith("*")

    @property
    def answered_code(self) -> str | None:
        """The business code a result notice answers (``*SNVC01`` → ``NVC01``), else None."""
        if not self.is_result_notice:
            return None
        return self.output_info_code[2:].strip() or None


class FormValues(BaseModel):
    """Item values of one telegram body, keyed by item key; repeat groups as lists of blocks."""

    model_config = ConfigDict(extra="forbid")

    items: dict[str, str] = Field(default_factory=dict)
    groups: dict[str, list[dict[str, str]]] = Field(default_factory=dict)


class ResultCode(StrictModel):
    """One 処理結果コード ``NNNNN-XXXX-YYYY`` ✅ [S6]: result, item ID (項目略称), repeat number 🔶."""

    raw: str
    code: str
    item_id: str | None
    repeat_no: int | None

    @property
    def category(self) -> str:
        return self.code[0]

    @property
    def is_success(self) -> bool:
        return self.raw == "00000-0000-0000"

    @property
    def is_warning(self) -> bool:
        return self.category == "W"  # non-fatal: [S6] treats W as success

    @property
    def is_error(self) -> bool:
        return not (self.is_success or self.is_warning)


class OutputTelegram(StrictModel):
    header: OutputHeader
    lines: tuple[str, ...]


class ResultNotice(StrictModel):
    header: OutputHeader
    codes: tuple[ResultCode, ...]
    # the line after the result codes: 申告番号 / 輸出管理番号 etc. ✅ [S6]
    reference_no: str | None
    extra_lines: tuple[str, ...]

    @property
    def accepted(self) -> bool:
        return bool(self.codes) and not any(code.is_error for code in self.codes)

    @property
    def errors(self) -> tuple[ResultCode, ...]:
        return tuple(code for code in self.codes if code.is_error)

    @property
    def warnings(self) -> tuple[ResultCode, ...]:
        return tuple(code for code in self.codes if code.is_warning)


# ---------------------------------------------------------------------------------------------- building


def encode_input_header(header: InputHeader, message_length: int) -> bytes:
    """The 400-byte header line (398 + CRLF)."""
    if message_length > MAX_TELEGRAM_BYTES:
        raise TelegramTooLong(message_length, MAX_TELEGRAM_BYTES)
    values = {
        "business_code": header.business_code,
        "user_code": header.user_code,
        "identification_no": header.identification_no,
        "password": header.password,
        "handover_info": header.handover_info,
        "input_id_no": header.input_id_no,
        "index_handover": header.index_handover,
        "system_id": header.system_id,
        "message_length": f"{message_length:06d}",
    }
    # The fields tile the 398 bytes in order: when every value is ASCII text that fits its field (what
    # InputHeader's patterns and lengths allow), the line is the values padded, joined.
    try:
        line_text = "".join(
            map(str.ljust, map(values.get, _HEADER_NAMES, _HEADER_BLANKS), _HEADER_WIDTHS)
        )
    except TypeError:  # not text: the loop below raises what it always raised
        line_text = ""
    if len(line_text) == HEADER_WIDTH and line_text.isascii():
        return line_text.encode("ascii") + CRLF
    line = bytearray(b" " * HEADER_WIDTH)
    for field in INPUT_HEADER_FIELDS:
        raw = values.get(field.name, "").encode("ascii")
        line[field.offset : field.offset + len(raw)] = raw
    return bytes(line) + CRLF


def _header_fields_tile(fields: tuple[HeaderField, ...], width: int) -> bool:
    return [f.offset for f in fields] == [
        sum(f.width for f in fields[:n]) for n in range(len(fields))
    ] and sum(f.width for f in fields) == width


if not _header_fields_tile(INPUT_HEADER_FIELDS, HEADER_WIDTH):
    raise AssertionError("encode_input_header's fast path needs fields that tile the header")
_HEADER_NAMES = tuple(field.name for field in INPUT_HEADER_FIELDS)
_HEADER_BLANKS = ("",) * len(INPUT_HEADER_FIELDS)
_HEADER_WIDTHS = tuple(field.width for field in INPUT_HEADER_FIELDS)


def _refuse_unknown_keys(field_map: FieldMap, values: FormValues) -> None:
    """A value under a key the map does not have would be dropped silently: refuse it instead."""
    single = {i.key for i in field_map.items if i.group is None}
    unknown = [key for key in values.items if key not in single]
    group_keys = {g.key for g in field_map.groups}
    for group_key, blocks in values.groups.items():
        if group_key not in group_keys:
            unknown.append(group_key)
            continue
        members = {i.key for i in field_map.group_items(group_key)}
        unknown.extend(
            f"{group_key}.{key}" for block in blocks for key in block if key not in members
        )
    if unknown:
        raise UnknownItems(field_map.code, sorted(set(unknown)))


def _block_values(values: FormValues, group: GroupSpec) -> list[dict[str, str]]:
    blocks = values.groups.get(group.key, [])
    if len(blocks) > group.max_repeats:
        raise RepeatOverflow(group.key, group.max_repeats, len(blocks))
    if group.emit == "all":
        return blocks + [{}] * (group.max_repeats - len(blocks))
    return blocks


def reference_encode_body(
    field_map: FieldMap, values: FormValues, settings: ChannelSettings
) -> bytes:
    """:func:`encode_body` item by item as the map reads: its specification (tests compare both) and the
    bench's baseline."""
    _refuse_unknown_keys(field_map, values)
    right = settings.numeric_alignment == "right"
    out = bytearray()
    for element in field_map.layout():
        if isinstance(element, ItemSpec):
            value = values.items.get(element.key, "")
            out += encode_item(element, value, settings.charset, align_numeric_right=right)
            out += CRLF
            continue
        members = field_map.group_items(element.key)
        for block in _block_values(values, element):
            for item in members:
                value = block.get(item.key, "")
                out += encode_item(item, value, settings.charset, align_numeric_right=right)
                out += CRLF
    return bytes(out)


@dataclass(frozen=True, slots=True)
class _WireItem:
    item: ItemSpec
    key: str
    width: int
    numeric: bool
    blank: str  # the line of an empty value: spaces at the width + CRLF


@dataclass(frozen=True, slots=True)
class _WireGroup:
    group: GroupSpec
    key: str
    members: tuple[_WireItem, ...]
    member_keys: frozenset[str]
    blank_block: str


# (values.items, values.groups, charset, numeric right-aligned) -> the body's bytes or None
_GeneratedBody = Callable[
    [dict[str, str], dict[str, list[dict[str, str]]], Charset, bool], bytes | None
]


@dataclass(frozen=True, slots=True)
class _BodyPlan:
    layout: tuple[_WireItem | _WireGroup, ...]
    single_keys: frozenset[str]
    group_members: dict[str, frozenset[str]]
    # the layout written out as one function: the body's bytes, or None when the loop must decide
    generated: _GeneratedBody
    source: str  # the generated Python, for reading and debugging


def _wire_item(item: ItemSpec) -> _WireItem:
    return _WireItem(
        item=item,
        key=item.key,
        width=item.width,
        numeric=item.type == "n",
        blank=" " * item.width + "\r\n",
    )


def compile_body_plan(field_map: FieldMap) -> _BodyPlan:
    """Wire order, widths, blank lines and key sets of a map, derived once (cached by :data:`_BODY_PLANS`)."""
    layout: list[_WireItem | _WireGroup] = []
    for element in field_map.layout():
        if isinstance(element, ItemSpec):
            layout.append(_wire_item(element))
            continue
        members = tuple(_wire_item(item) for item in field_map.group_items(element.key))
        layout.append(
            _WireGroup(
                group=element,
                key=element.key,
                members=members,
                member_keys=frozenset(member.key for member in members),
                blank_block="".join(member.blank for member in members),
            )
        )
    source, function = _generate_body(field_map.code, tuple(layout))
    return _BodyPlan(
        layout=tuple(layout),
        single_keys=frozenset(item.key for item in field_map.items if item.group is None),
        group_members={
            group.key: frozenset(item.key for item in field_map.group_items(group.key))
            for group in field_map.groups
        },
        generated=function,
        source=source,
    )


# Generated code: the wire layout of a map written out as the source of one function, compiled once with
# the body plan. A run of consecutive half-width and n items becomes one %-format (``%-35s`` pads a value
# to 35 characters as ljust does, ``%8s`` right-aligns as rjust), filled with the values read by key; the
# run's line is kept when it is ASCII and as long as the widths add up (so every value fitted), and no
# value holds a character its class refuses: a class is one character, so the joined values pass exactly
# when each does. ASCII is one byte, the same byte, in every channel charset, so such a line is encoded as
# ASCII. An item that takes full-width text has its own line, by encode_item when it is not ASCII. When
# anything would raise (a refused character, a value too long, not text, too many repeats), the function
# returns None and the loop of :func:`encode_body` runs instead, in wire order, so the same error is
# raised for the same item.

# the channel charsets that encode each ASCII character as that very byte (all of them today)
_ASCII_COMPATIBLE = frozenset(
    charset for charset in Charset if all(chr(i).encode(charset) == bytes([i]) for i in range(128))
)


class _BodyWriter:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: dict[str, Any] = {}
        self.locals = 0

    def name(self, value: Any) -> str:
        name = f"_c{len(self.names)}"
        self.names[name] = value
        return name

    def local(self) -> str:
        self.locals += 1
        return f"v{self.locals}"


def _emit_run(w: _BodyWriter, run: list[_WireItem], pad: str) -> None:
    """One %-format for a run of half-width and n items."""
    names = [w.local() for _ in run]
    text = [name for name, wire in zip(names, run, strict=True) if not wire.numeric]
    digits = [name for name, wire in zip(names, run, strict=True) if wire.numeric]
    left = "".join(f"%-{wire.width}s\r\n" for wire in run)
    right = "".join(
        f"%{wire.width}s\r\n" if wire.numeric else f"%-{wire.width}s\r\n" for wire in run
    )
    width = sum(wire.width + 2 for wire in run)
    w.lines.append(
        f"{pad}{', '.join(names)}, = {', '.join(f'get({wire.key!r}, {chr(39) * 2})' for wire in run)},"
    )
    w.lines.append(f"{pad}try:")
    w.lines.append(f"{pad}    text = ''.join(({''.join(f'{name}, ' for name in text)}))")
    w.lines.append(f"{pad}    digits = ''.join(({''.join(f'{name}, ' for name in digits)}))")
    w.lines.append(f"{pad}except TypeError:")
    w.lines.append(f"{pad}    return None")
    arguments = f"({''.join(f'{name}, ' for name in names)})"
    if digits and left != right:
        w.lines.append(f"{pad}line = ({w.name(right)} if right else {w.name(left)}) % {arguments}")
    else:
        w.lines.append(f"{pad}line = {w.name(left)} % {arguments}")
    # (the text is ASCII when the line is, so isprintable() can stand for the regex, see charset)
    text_refused = (
        "not text.isprintable()"
        if half_width_is_printable_ascii()
        else "_TEXT_REFUSED(text) is not None"
    )
    w.lines.append(
        f"{pad}if (len(line) != {width} or not line.isascii() or {text_refused}"
        " or _NUMERIC_REFUSED(digits) is not None):"
    )
    w.lines.append(f"{pad}    return None")
    w.lines.append(f"{pad}add(line.encode('ascii'))")


def _emit_full_width(w: _BodyWriter, wire: _WireItem, pad: str) -> None:
    """The line of an item that takes full-width text."""
    item = w.name(wire.item)
    w.lines += [
        f"{pad}value = get({wire.key!r}, '')",
        f"{pad}if not value:",
        f"{pad}    add({wire.blank.encode('ascii')!r})",
        f"{pad}elif type(value) is str and value.isascii() and len(value) <= {wire.width}:",
        f"{pad}    deferred_text.append(value)",
        f"{pad}    add(value.ljust({wire.width}).encode('ascii') + b'\\r\\n')",
        f"{pad}else:",
        f"{pad}    try:",
        f"{pad}        add(encode_item({item}, value, charset, align_numeric_right=right) + b'\\r\\n')",
        f"{pad}    except Exception:  # the loop raises what the reference raises here, or before",
        f"{pad}        return None",
    ]


def _emit_wires(w: _BodyWriter, wires: tuple[_WireItem, ...], pad: str) -> None:
    run: list[_WireItem] = []
    for wire in wires:
        if wire.item.full_width and not wire.numeric:
            if run:
                _emit_run(w, run, pad)
                run = []
            _emit_full_width(w, wire, pad)
        else:
            run.append(wire)
    if run:
        _emit_run(w, run, pad)


def _generate_body(
    code: str, layout: tuple[_WireItem | _WireGroup, ...]
) -> tuple[str, _GeneratedBody]:
    w = _BodyWriter()
    for pattern in (disallowed_pattern(False), disallowed_pattern(True)):
        if not pattern.pattern.startswith("[^") and pattern.pattern != "(?s).":
            raise AssertionError("the joined character check needs one-character patterns")
    w.lines += [
        f"def body_{code}(items, groups, charset, right):",
        "    if charset not in _ASCII_COMPATIBLE:",
        "        return None",
        "    deferred_text = []",
        "    out = []",
        "    add = out.append",
        "    get = items.get",
    ]
    singles: list[_WireItem] = []
    for element in (*layout, None):
        if isinstance(element, _WireItem):
            singles.append(element)
            continue
        if singles:
            _emit_wires(w, tuple(singles), "    ")
            singles = []
        if element is None:
            break
        group = element.group
        w.lines += [
            f"    blocks = groups.get({element.key!r}, [])",
            f"    if len(blocks) > {group.max_repeats}:",
            "        return None",
            "    for block in blocks:",
            "        get = block.get",
        ]
        _emit_wires(w, element.members, "        ")
        if group.emit == "all":
            blank = w.name(element.blank_block.encode("ascii"))
            w.lines += [
                f"    if len(blocks) < {group.max_repeats}:",
                f"        add({blank} * ({group.max_repeats} - len(blocks)))",
            ]
        w.lines.append("    get = items.get")
    w.lines += [
        (
            "    if deferred_text and not ''.join(deferred_text).isprintable():"
            if half_width_is_printable_ascii()
            else "    if deferred_text and _TEXT_REFUSED(''.join(deferred_text)) is not None:"
        ),
        "        return None",
        "    return b''.join(out)",
    ]
    source = "\n".join(w.lines) + "\n"
    namespace: dict[str, Any] = {
        **w.names,
        "encode_item": encode_item,
        "_ASCII_COMPATIBLE": _ASCII_COMPATIBLE,
        "_TEXT_REFUSED": disallowed_pattern(False).search,
        "_NUMERIC_REFUSED": disallowed_pattern(True).search,
    }
    exec(compile(source, f"<body of {code}>", "exec"), namespace)  # noqa: S102
    return source, namespace[f"body_{code}"]


_BODY_PLANS: FieldMapPlans[_BodyPlan] = FieldMapPlans(compile_body_plan)


def _knows_every_key(plan: _BodyPlan, values: FormValues) -> bool:
    if not values.items.keys() <= plan.single_keys:
        return False
    for group_key, blocks in values.groups.items():
        members = plan.group_members.get(group_key)
        if members is None:
            return False
        for block in blocks:
            if not block.keys() <= members:
                return False
    return True


def _text_line(item: ItemSpec, value: str, charset: Charset, right: bool) -> str:
    """The line of a non-empty value (without CRLF) as text: :func:`encode_item` checks and pads it."""
    raw = encode_item(item, value, charset, align_numeric_right=right)  # raises if refused
    padding = " " * (len(raw) - len(value.encode(charset)))
    return padding + value if right and item.type == "n" else value + padding


def encode_body(field_map: FieldMap, values: FormValues, settings: ChannelSettings) -> bytes:
    """The 業務個別項目: each item at its width + CRLF, in wire order, groups block by block.

    Byte for byte :func:`reference_encode_body`: the lines are built as text and encoded once (the channel
    charsets are stateless, so encoding the joined text equals joining the encoded lines). Printable-ASCII
    values, one byte a character in every channel charset, are padded as text; any other value goes through
    :func:`~naccs_bridge.domain.charset.encode_item`, which checks it and raises the same errors. The map's
    generated function does this straight through; when it cannot (see :func:`_generate_body`), the loop
    below does it item by item."""
    plan = _BODY_PLANS.get(field_map)
    if not _knows_every_key(plan, values):
        _refuse_unknown_keys(field_map, values)
    charset = settings.charset
    right = settings.numeric_alignment == "right"
    body = plan.generated(values.items, values.groups, charset, right)
    if body is None:
        body = _body_text(plan, values, charset, right).encode(charset)
    return body


def interpreted_encode_body(
    field_map: FieldMap, values: FormValues, settings: ChannelSettings
) -> bytes:
    """:func:`encode_body` by the body plan's loop alone, without the generated function (its fallback;
    the bench measures it next to the generated one)."""
    plan = _BODY_PLANS.get(field_map)
    if not _knows_every_key(plan, values):
        _refuse_unknown_keys(field_map, values)
    right = settings.numeric_alignment == "right"
    return _body_text(plan, values, settings.charset, right).encode(settings.charset)


def _body_text(plan: _BodyPlan, values: FormValues, charset: Charset, right: bool) -> str:
    """The body as text by the plan's loop, checking every value in wire order (raises as the reference)."""
    half_width_refusal = disallowed_pattern(False).search
    numeric_refusal = disallowed_pattern(True).search
    lines: list[str] = []

    def line(wire: _WireItem, value: str) -> str:
        """The line of a non-empty value."""
        refused = numeric_refusal if wire.numeric else half_width_refusal
        if value.isascii() and len(value) <= wire.width and refused(value) is None:
            if right and wire.numeric:
                return value.rjust(wire.width) + "\r\n"
            return value.ljust(wire.width) + "\r\n"
        return _text_line(wire.item, value, charset, right) + "\r\n"

    items = values.items
    for element in plan.layout:
        if isinstance(element, _WireItem):
            value = items.get(element.key, "")
            lines.append(line(element, value) if value else element.blank)
            continue
        group = element.group
        blocks = values.groups.get(element.key, [])
        if len(blocks) > group.max_repeats:
            raise RepeatOverflow(group.key, group.max_repeats, len(blocks))
        for block in blocks:
            for member in element.members:
                value = block.get(member.key, "")
                lines.append(line(member, value) if value else member.blank)
        if group.emit == "all" and len(blocks) < group.max_repeats:
            lines.append(element.blank_block * (group.max_repeats - len(blocks)))
    return "".join(lines)


def check_values(
    field_map: FieldMap, values: FormValues, settings: ChannelSettings
) -> list[ItemValueError]:
    """Every item value NACCS would refuse, not only the first: for showing all problems at once."""
    problems: list[ItemValueError] = []
    blocks = [
        (item, values.items.get(item.key, "")) for item in field_map.items if item.group is None
    ]
    for group_key, rows in values.groups.items():
        members = field_map.group_items(group_key)
        blocks.extend((item, row.get(item.key, "")) for row in rows for item in members)
    for item, value in blocks:
        try:
            encode_item(item, value, settings.charset)
        except ItemValueError as problem:
            problems.append(problem)
    return problems


def build_input_telegram(
    header: InputHeader, field_map: FieldMap, values: FormValues, settings: ChannelSettings
) -> bytes:
    """A complete input telegram. 電文長 = 400 + body bytes, i.e. the whole message ✅ [S5]."""
    if header.business_code != field_map.code:
        raise MalformedHeader(
            "business_code", 3, f"{header.business_code} does not match map {field_map.code}"
        )
    body = encode_body(field_map, values, settings)
    return encode_input_header(header, HEADER_LINE + len(body)) + body


# ---------------------------------------------------------------------------------------------- reading


# Output-header fields that may carry text in the channel charset (a mail address or 業務個別データ);
# every other header field is half-width ASCII.
FREE_TEXT_HEADER_FIELDS = frozenset({"mail_or_terminal", "subject", "index_handover"})


def _header_fields(
    data: bytes, layout: tuple[HeaderField, ...], charset: Charset | None = None
) -> dict[str, str]:
    """The header's fields, sliced by byte offset and decoded one by one, so a bad byte is reported
    with the field it sits in."""
    if len(data) < HEADER_LINE:
        raise TelegramTooShort(len(data), f"{len(data)} bytes, a header alone needs {HEADER_LINE}")
    if data[HEADER_WIDTH:HEADER_LINE] != CRLF:
        raise MalformedHeader("CRLF", HEADER_WIDTH, "the 398-byte header is not followed by CRLF")
    fields: dict[str, str] = {}
    for field in layout:
        raw = data[field.offset : field.offset + field.width]
        if charset is not None and field.name in FREE_TEXT_HEADER_FIELDS:
            try:
                fields[field.name] = raw.decode(charset)
            except UnicodeDecodeError as exc:
                raise MalformedHeader(
                    field.name, field.offset + exc.start, f"bytes do not decode as {charset}"
                ) from exc
            continue
        index = first_non_ascii(raw)
        if index is not None:
            raise MalformedHeader(
                field.name, field.offset + index, f"byte 0x{raw[index]:02X} is not half-width"
            )
        fields[field.name] = raw.decode("ascii")
    return fields


def first_non_ascii(raw: bytes) -> int | None:
    return next((i for i, b in enumerate(raw) if b < 0x20 or b > 0x7E), None)


def _message_length(raw: str, actual: int) -> int:
    if not re.fullmatch(r"[0-9]{6}", raw):
        raise MalformedHeader("message_length", 392, f"電文長 {raw!r} is not 6 digits")
    declared = int(raw)
    if declared != actual:
        raise LengthMismatch(declared, actual)
    return declared


def parse_input_header(data: bytes) -> tuple[InputHeader, int]:
    """Read back an input header (for the NACCS stand-in and round-trip tests)."""
    fields = _header_fields(data, INPUT_HEADER_FIELDS)
    length = _message_length(fields["message_length"], len(data))
    try:
        header = InputHeader(
            business_code=fields["business_code"].rstrip(),
            user_code=fields["user_code"],
            identification_no=fields["identification_no"],
            password=fields["password"].rstrip(),
            handover_info=fields["handover_info"].rstrip(),
            input_id_no=fields["input_id_no"].rstrip(),
            index_handover=fields["index_handover"].rstrip(),
            system_id=fields["system_id"],
        )
    except ValueError as exc:
        raise MalformedHeader("input header", 0, str(exc)) from exc
    return header, length


def _decode_slot(raw: bytes, offset: int, item: ItemSpec, charset: Charset) -> str:
    try:
        text = raw.decode(charset)
    except UnicodeDecodeError as exc:
        raise MalformedBody(
            offset + exc.start, item.key, f"bytes do not decode as {charset}"
        ) from exc
    value = text.strip(" ") if item.type == "n" else text.rstrip(" ")
    index = first_disallowed(value, numeric=item.type == "n", full_width=item.full_width)
    if index is not None:
        raise MalformedBody(offset, item.key, f"character {value[index]!r} is not allowed here")
    return value


def decode_body(
    field_map: FieldMap,
    body: bytes,
    settings: ChannelSettings,
    *,
    base_offset: int = HEADER_LINE,
) -> FormValues:
    """Read a body written by :func:`encode_body`. Trailing blank blocks of a group are dropped."""
    position = 0

    def read(item: ItemSpec) -> str:
        nonlocal position
        end = position + item.width
        if body[end : end + 2] != CRLF:
            where = "ends early" if end + 2 > len(body) else "has no CRLF after its width"
            raise MalformedBody(base_offset + min(end, len(body)), item.key, f"item {where}")
        value = _decode_slot(body[position:end], base_offset + position, item, settings.charset)
        position = end + 2
        return value

    values = FormValues()
    for element in field_map.layout():
        if isinstance(element, ItemSpec):
            values.items[element.key] = read(element)
            continue
        members = field_map.group_items(element.key)
        block_width = sum(i.width + 2 for i in members)
        if element.emit == "all":
            count = element.max_repeats
        else:
            remaining = len(body) - position
            count, rest = divmod(remaining, block_width)
            if rest or count > element.max_repeats:
                raise MalformedBody(
                    base_offset + position,
                    element.key,
                    f"{remaining} bytes left are not 0..{element.max_repeats} blocks of {block_width}",
                )
        blocks = [{item.key: read(item) for item in members} for _ in range(count)]
        while blocks and not any(blocks[-1].values()):
            blocks.pop()
        values.groups[element.key] = blocks
    if position != len(body):
        raise MalformedBody(base_offset + position, "(end)", f"{len(body) - position} extra bytes")
    return values


def parse_input_telegram(
    data: bytes, field_map: FieldMap, settings: ChannelSettings
) -> tuple[InputHeader, FormValues]:
    header, _ = parse_input_header(data)
    return header, decode_body(field_map, data[HEADER_LINE:], settings)


def parse_output_header(data: bytes, settings: ChannelSettings | None = None) -> OutputHeader:
    charset = (settings or ChannelSettings()).charset
    fields = _header_fields(data, OUTPUT_HEADER_FIELDS, charset)
    length = _message_length(fields["message_length"], len(data))
    received_raw = fields["received_at"].strip()
    received_at: datetime | None = None
    if received_raw:
        try:
            received_at = datetime.strptime(received_raw, "%Y%m%d%H%M%S")
        except ValueError as exc:
            raise MalformedHeader("received_at", 15, f"{received_raw!r} is not a date") from exc
    split_raw = fields["split_seq"].strip()
    if split_raw and not split_raw.isdigit():
        raise MalformedHeader("split_seq", 245, f"{split_raw!r} is not a number")
    try:
        kind = MessageKind(fields["message_kind"])
    except ValueError as exc:
        raise MalformedHeader(
            "message_kind", 249, f"電文種別 {fields['message_kind']!r} is unknown"
        ) from exc
    business_code = fields["business_code"].rstrip()
    if not re.fullmatch(r"[A-Z0-9]{3,5}", business_code):
        raise MalformedHeader("business_code", 3, f"{business_code!r} is not a business code")
    return OutputHeader(
        business_code=business_code,
        output_info_code=fields["output_info_code"].rstrip(),
        received_at=received_at,
        user_code=fields["user_code"].rstrip(),
        mail_or_terminal=fields["mail_or_terminal"].rstrip(),
        subject=fields["subject"].rstrip(),
        handover_info=fields["handover_info"].rstrip(),
        split_seq=int(split_raw) if split_raw else None,
        last_flag=fields["last_flag"],
        message_kind=kind,
        input_id_no=fields["input_id_no"].rstrip(),
        index_handover=fields["index_handover"].rstrip(),
        destination_pattern=fields["destination_pattern"].strip(),
        message_length=length,
    )


def parse_output_telegram(data: bytes, settings: ChannelSettings) -> OutputTelegram:
    """Header and CRLF-separated body lines of any output telegram, decoded in the channel charset."""
    header = parse_output_header(data, settings)
    body = data[HEADER_LINE:]
    lines: list[str] = []
    offset = HEADER_LINE
    for raw in body.split(CRLF):
        try:
            lines.append(raw.decode(settings.charset))
        except UnicodeDecodeError as exc:
            raise TelegramError(
                offset + exc.start, f"body bytes do not decode as {settings.charset}"
            ) from exc
        offset += len(raw) + len(CRLF)
    if lines and lines[-1] == "":
        lines.pop()  # the final CRLF terminates the last line
    return OutputTelegram(header=header, lines=tuple(lines))


def join_parts(parts: list[OutputTelegram]) -> OutputTelegram:
    """One output split over several telegrams (分割通番 1, 2, ...; 最終表示 on the last 🔶): the parts must
    share 業務コード, 出力情報コード and the echoed 電文引継情報 / 入力情報特定番号 and run 1..n without gaps.
    Parts may arrive in any order; the lines are joined in 分割通番 order."""
    if not parts:
        raise TelegramTooShort(0, "no parts to join")
    ordered = sorted(parts, key=lambda part: part.header.split_seq or 0)
    first = ordered[0].header
    for number, part in enumerate(ordered, start=1):
        header = part.header
        if header.split_seq != number:
            raise MalformedHeader(
                "split_seq", 245, f"part {header.split_seq} where part {number} belongs"
            )
        same = (
            header.business_code,
            header.output_info_code,
            header.handover_info,
            header.input_id_no,
        )
        if same != (
            first.business_code,
            first.output_info_code,
            first.handover_info,
            first.input_id_no,
        ):
            raise MalformedHeader("handover_info", 219, f"part {number} belongs to another output")
    lines = tuple(line for part in ordered for line in part.lines)
    return OutputTelegram(header=ordered[-1].header, lines=lines)


RESULT_CODE_WIDTH = 15
_RESULT_CODE = re.compile(r"^([0-9A-Z]{5})-([0-9A-Z ]{4})-([0-9A-Z ]{4})$")


def parse_result_codes(line: str, offset: int) -> tuple[ResultCode, ...]:
    """The line of repeated 15-byte 処理結果コード blocks; blank blocks are unused slots."""
    codes: list[ResultCode] = []
    for start in range(0, len(line), RESULT_CODE_WIDTH):
        raw = line[start : start + RESULT_CODE_WIDTH]
        if not raw.strip():
            continue
        match = _RESULT_CODE.match(raw)
        if match is None:
            raise MalformedResultCode(offset + start, raw)
        code, item, repeat = match.groups()
        item_id = item.strip()
        repeat_text = repeat.strip()
        codes.append(
            ResultCode(
                raw=raw,
                code=code,
                item_id=None if item_id in {"", "0000"} else item_id,
                repeat_no=int(repeat_text) if repeat_text.isdigit() and int(repeat_text) else None,
            )
        )
    return tuple(codes)


def parse_result_notice(data: bytes, settings: ChannelSettings) -> ResultNotice:
    """A 処理結果通知: result codes on the first body line, then the reference number (申告番号 etc.)."""
    telegram = parse_output_telegram(data, settings)
    if not telegram.lines:
        raise TelegramTooShort(len(data), "result notice without the result-code line")
    codes = parse_result_codes(telegram.lines[0], HEADER_LINE)
    if not codes:
        raise MalformedResultCode(HEADER_LINE, telegram.lines[0])
    rest = telegram.lines[1:]
    reference = rest[0].strip() if rest and rest[0].strip() else None
    return ResultNotice(
        header=telegram.header,
        codes=codes,
        reference_no=reference,
        extra_lines=tuple(rest[1:]),
    )
