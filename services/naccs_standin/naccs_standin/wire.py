"""NACCS EDI telegrams as the stand-in reads and writes them: bytes in, bytes out.

The stand-in plays an external system, so it has its own reader and writer and does not import the bridge.
It reads the same *data* files (the catalogue and field maps under ``naccs_bridge/maps``) to know each
business code's item layout, the way NACCS's own item tables would. Offsets of the 398-byte common
headers follow /work/shared/domain/cyberport-naccs.md §1.2-1.3.

Every failure to read a telegram is a :class:`WireError` carrying the NACCS 処理結果コード it becomes.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

CRLF = b"\r\n"
HEADER_WIDTH = 398
HEADER_LINE = HEADER_WIDTH + len(CRLF)
MAX_TELEGRAM_BYTES = 700_000
RESULT_SLOTS = (
    5  # 処理結果コード blocks on the first body line of a result notice ([S6] reserves 5)
)
SUCCESS = "00000-0000-0000"

# (offset, width) of the input common header's fields (入力共通項目).
INPUT_HEADER: dict[str, tuple[int, int]] = {
    "business_code": (3, 5),
    "user_code": (29, 5),
    "identification_no": (34, 3),
    "password": (37, 8),
    "handover_info": (219, 26),
    "input_id_no": (253, 10),
    "index_handover": (263, 100),
    "system_id": (364, 1),
    "message_length": (392, 6),
}

# (offset, width) of the output common header's fields (出力共通項目).
OUTPUT_HEADER: dict[str, tuple[int, int]] = {
    "business_code": (3, 5),
    "output_info_code": (8, 7),
    "received_at": (15, 14),
    "user_code": (29, 5),
    "mail_or_terminal": (51, 64),
    "subject": (115, 64),
    "handover_info": (219, 26),
    "split_seq": (245, 3),
    "last_flag": (248, 1),
    "message_kind": (249, 1),
    "input_id_no": (253, 10),
    "index_handover": (263, 100),
    "destination_pattern": (363, 1),
    "message_length": (392, 6),
}


class WireError(Exception):
    """A telegram the stand-in refuses; ``code`` is the 処理結果コード NNNNN it answers with."""

    def __init__(
        self, code: str, detail: str, *, item_id: str | None = None, repeat: int | None = None
    ) -> None:
        self.code = code
        self.detail = detail
        self.item_id = item_id
        self.repeat = repeat
        super().__init__(f"{code}: {detail}")

    @property
    def result_code(self) -> str:
        return result_code(self.code, self.item_id, self.repeat)


def result_code(code: str, item_id: str | None = None, repeat: int | None = None) -> str:
    """``NNNNN-XXXX-YYYY``: the result, the failing item's 項目略称 (padded to 4) and its repeat number."""
    item = (item_id or "0000").ljust(4)[:4]
    return f"{code}-{item}-{repeat or 0:04d}"


@dataclass(frozen=True)
class InputHeader:
    business_code: str
    user_code: str
    identification_no: str
    password: str
    handover_info: str
    input_id_no: str
    index_handover: str
    system_id: str

    @property
    def user_id(self) -> str:
        return self.user_code + self.identification_no


def read_input_header(data: bytes) -> InputHeader:
    if len(data) < HEADER_LINE:
        raise WireError("A0009", f"{len(data)} bytes: shorter than the {HEADER_LINE}-byte header")
    if data[HEADER_WIDTH:HEADER_LINE] != CRLF:
        raise WireError("A0009", "the 398-byte header is not followed by CRLF")
    raw = data[:HEADER_WIDTH]
    if any(b < 0x20 or b > 0x7E for b in raw):
        raise WireError("A0009", "the header holds bytes that are not half-width characters")
    text = raw.decode("ascii")

    def get(name: str) -> str:
        offset, width = INPUT_HEADER[name]
        return text[offset : offset + width]

    length_text = get("message_length")
    if not length_text.isdigit() or int(length_text) != len(data):
        raise WireError("A0008", f"電文長 {length_text!r} but {len(data)} bytes arrived")
    if len(data) > MAX_TELEGRAM_BYTES:
        raise WireError("E0001", f"{len(data)} bytes exceed {MAX_TELEGRAM_BYTES}")
    return InputHeader(
        business_code=get("business_code").rstrip(),
        user_code=get("user_code").rstrip(),
        identification_no=get("identification_no").rstrip(),
        password=get("password").rstrip(),
        handover_info=get("handover_info").rstrip(),
        input_id_no=get("input_id_no").rstrip(),
        index_handover=get("index_handover").rstrip(),
        system_id=get("system_id"),
    )


def peek_business_code(data: bytes) -> str:
    """The business code of a telegram that may be malformed, for echoing in the error reply."""
    candidate = data[3:8].decode("ascii", errors="replace").rstrip()
    return candidate if re.fullmatch(r"[A-Z0-9]{3,5}", candidate) else "ERR"


# ---------------------------------------------------------------------------------- item layouts


@dataclass(frozen=True)
class ItemDef:
    key: str
    item_id: str | None
    name_ja: str
    width: int
    numeric: bool
    presence: str
    group: str | None


@dataclass(frozen=True)
class GroupDef:
    key: str
    max_repeats: int
    emit: str


@dataclass(frozen=True)
class Layout:
    code: str
    items: tuple[ItemDef, ...]
    groups: dict[str, GroupDef]

    def elements(self) -> list[ItemDef | GroupDef]:
        """Wire order: single items and each group once, at the position of its first item."""
        out: list[ItemDef | GroupDef] = []
        seen: set[str] = set()
        for item in self.items:
            if item.group is None:
                out.append(item)
            elif item.group not in seen:
                seen.add(item.group)
                out.append(self.groups[item.group])
        return out

    def members(self, group: str) -> list[ItemDef]:
        return [i for i in self.items if i.group == group]


def _item(raw: dict[str, Any]) -> ItemDef:
    return ItemDef(
        key=str(raw["key"]),
        item_id=raw.get("id"),
        name_ja=str(raw.get("name_ja", raw["key"])),
        width=int(raw["width"]),
        numeric=raw.get("type") == "n",
        presence=str(raw.get("presence", "O")),
        group=raw.get("group"),
    )


@cache
def load_layouts(maps_dir: Path) -> dict[str, Layout]:
    """Every business code of the catalogue with the items NACCS would check (full map or key items)."""
    with (maps_dir / "catalogue.toml").open("rb") as handle:
        catalogue = tomllib.load(handle)
    layouts: dict[str, Layout] = {}
    for entry in catalogue["codes"]:
        code = str(entry["code"])
        if entry.get("map") == "full":
            with (maps_dir / "fieldmaps" / f"{code}.toml").open("rb") as handle:
                data = tomllib.load(handle)
            groups = {
                str(g["key"]): GroupDef(str(g["key"]), int(g["max_repeats"]), g.get("emit", "all"))
                for g in data.get("groups", [])
            }
            layouts[code] = Layout(code, tuple(_item(i) for i in data["items"]), groups)
        else:
            items = tuple(_item(i) for i in entry.get("public_items", []))
            layouts[code] = Layout(code, items, {})
    return layouts


@dataclass
class Body:
    items: dict[str, str] = field(default_factory=dict)
    groups: dict[str, list[dict[str, str]]] = field(default_factory=dict)


_NUMERIC = re.compile(r"^[0-9.]*$")


def read_body(layout: Layout, body: bytes, charset: str) -> Body:
    """The 業務個別項目: one CRLF-terminated slot per item at its width, repeat groups block by block."""
    position = 0

    def read(item: ItemDef, repeat: int | None) -> str:
        nonlocal position
        end = position + item.width
        if body[end : end + 2] != CRLF:
            raise WireError(
                "E0001",
                f"item {item.key} ({item.name_ja}) at byte {HEADER_LINE + position} is not "
                f"{item.width} bytes followed by CRLF",
            )
        try:
            text = body[position:end].decode(charset)
        except UnicodeDecodeError as exc:
            raise WireError(
                "S0002",
                f"item {item.key}: bytes do not decode as {charset}",
                item_id=item.item_id,
                repeat=repeat,
            ) from exc
        value = text.strip(" ") if item.numeric else text.rstrip(" ")
        if item.numeric and not _NUMERIC.match(value):
            raise WireError(
                "S0002",
                f"item {item.key} ({item.name_ja}) must be numeric: {value!r}",
                item_id=item.item_id,
                repeat=repeat,
            )
        position = end + 2
        return value

    result = Body()
    for element in layout.elements():
        if isinstance(element, ItemDef):
            result.items[element.key] = read(element, None)
            continue
        members = layout.members(element.key)
        block = sum(m.width + 2 for m in members)
        if element.emit == "all":
            count = element.max_repeats
        else:
            count, rest = divmod(len(body) - position, block)
            if rest or count > element.max_repeats:
                raise WireError(
                    "E0001", f"group {element.key}: the rest of the body is not whole blocks"
                )
        blocks = [{m.key: read(m, n + 1) for m in members} for n in range(count)]
        while blocks and not any(blocks[-1].values()):
            blocks.pop()
        result.groups[element.key] = blocks
    if position != len(body):
        raise WireError("E0001", f"{len(body) - position} bytes after the last item")
    return result


def missing_mandatory(layout: Layout, body: Body) -> list[WireError]:
    """S0001 for every mandatory (M) item left blank; group items only in the blocks that are used."""
    errors: list[WireError] = []
    for item in layout.items:
        if item.presence != "M":
            continue
        if item.group is None:
            if not body.items.get(item.key):
                errors.append(
                    WireError("S0001", f"{item.name_ja} is mandatory", item_id=item.item_id)
                )
            continue
        blocks = body.groups.get(item.group) or [{}]
        for number, block in enumerate(blocks, start=1):
            if not block.get(item.key):
                errors.append(
                    WireError(
                        "S0001",
                        f"{item.name_ja} is mandatory",
                        item_id=item.item_id,
                        repeat=number,
                    )
                )
    return errors


# ---------------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class OutputSpec:
    business_code: str
    output_info_code: str
    message_kind: str  # R result notice, M inquiry result, P form output (permits)
    user_code: str
    received_at: datetime
    subject: str = ""
    handover_info: str = ""
    input_id_no: str = ""
    index_handover: str = ""
    destination_pattern: str = "I"  # I: to the inputter (INQ); Z: a third party acted (EXZ)


def _ascii_fit(value: str, width: int) -> bytes:
    raw = value.encode("ascii", errors="replace")[:width]
    return raw.ljust(width, b" ")


def write_output(spec: OutputSpec, lines: list[str], charset: str) -> bytes:
    """An output telegram: the 398-byte output header + CRLF, then one CRLF-terminated line each."""
    body = b"".join(line.encode(charset, errors="replace") + CRLF for line in lines)
    values = {
        "business_code": spec.business_code,
        "output_info_code": spec.output_info_code,
        "received_at": spec.received_at.strftime("%Y%m%d%H%M%S"),
        "user_code": spec.user_code,
        "subject": spec.subject,
        "handover_info": spec.handover_info,
        "split_seq": "001",
        "last_flag": "E",
        "message_kind": spec.message_kind,
        "input_id_no": spec.input_id_no,
        "index_handover": spec.index_handover,
        "destination_pattern": spec.destination_pattern,
        "message_length": f"{HEADER_LINE + len(body):06d}",
    }
    header = bytearray(b" " * HEADER_WIDTH)
    for name, (offset, width) in OUTPUT_HEADER.items():
        if name in values:
            header[offset : offset + width] = _ascii_fit(values[name], width)
    return bytes(header) + CRLF + body


def result_line(codes: list[str]) -> str:
    """The first line of a result notice: up to five 15-byte codes, unused slots blank."""
    slots = (codes or [SUCCESS])[:RESULT_SLOTS]
    return "".join(slots).ljust(RESULT_SLOTS * 15)


def result_notice_code(business_code: str) -> str:
    """出力情報コード of a result notice: ``*`` + system ``S`` (sea) + 業務コード ✅ [S3 付表6-1]."""
    return ("*S" + business_code).ljust(7)[:7]
