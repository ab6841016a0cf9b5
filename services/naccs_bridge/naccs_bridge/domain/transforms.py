"""Named transforms (T1-T8 of naccs-fieldmap.md) and rules that field maps refer to by name.

A field map says ``transform = "locode"`` or ``sources = ["rule:container_count"]``; this module is the closed
set of names the data may use, so a new business code is added by writing data that combines them. Each transform
takes the resolved source value and returns a :class:`Derived` (text + which master data it used) or raises
:class:`TransformFailed` with a reason a person can act on.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from functools import cache
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic_core import SchemaSerializer

from naccs_bridge.domain.bundle import CompanyMaster, MasterData, TradeBundle
from naccs_bridge.domain.loading import read_toml
from shared.codes.corporate_number import (
    check_corporate_number,
    check_naccs_trader_code,
    corporate_number_check_digit,
)
from shared.codes.countries import COUNTRIES
from shared.codes.dates import parse_date
from shared.codes.locode import BUNDLED_LOCODES, check_locode_format


class TransformFailed(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class Derived(NamedTuple):
    value: str
    # e.g. "master:companies[minato-denki]" when master data decided the value
    master: str | None = None


class PrefillConfig(BaseModel):
    """Settings of one NACCS user/broker and the injectable clock; the defaults are marked where unverified."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    today: date
    declarant_user_code: str | None = None  # 申告予定者コード = the broker's 利用者コード
    # 🔶 the customs weekly rates (IER): configured, or looked up by the caller
    exchange_rates_to_jpy: dict[str, Decimal] = Field(default_factory=dict)
    small_value_threshold_jpy: int = 200_000  # 🔶 大額・少額 boundary (200,000 JPY as in 少額貨物)
    invoice_identification: str | None = None  # 🔶 インボイス識別 code; not public, set per broker
    price_class_code: str | None = None  # 🔶 価格区分コード; not public, set per broker
    same_shipper_lcl_prefix: int = 700  # T6 ✅ [S14]
    multi_shipper_lcl_prefix: int = 900  # T6 ✅ [S14]


class LazyTree(Mapping[str, Any]):
    """``model.model_dump(by_alias=True, exclude_none=True)`` (what ``TradeBundle.as_tree`` gives), with each
    top-level entry dumped the first time it is read. A prefill reads a few of the bundle's parts; dumping
    every form and the whole master data up front cost more than all of an ECR prefill's items, and the
    master data grows with the bridge's customers. Entries named in ``nested`` (the forms, the master
    data, ...) are lazy trees themselves, field by field, so reading ``SI.shipper`` or one master table
    does not dump the rest of the S/I or the other tables. Reads as, compares equal to and prints as the
    plain dump."""

    __slots__ = ("_loaded", "_model", "_nested")

    def __init__(self, model: BaseModel, nested: frozenset[str] = frozenset()) -> None:
        self._model = model
        self._loaded: dict[str, Any] = {}
        self._nested = nested

    def _load(self, key: str, default: Any) -> Any:
        name = _dump_keys(type(self._model)).get(key)
        if name is None:
            return default
        value = getattr(self._model, name)
        if value is None:
            return default  # not in the dump (exclude_none)
        loaded: Any
        if name in self._nested and isinstance(value, BaseModel):
            loaded = LazyTree(value)
        else:
            loaded = dump_field(self._model, name, value)
        self._loaded[key] = loaded
        return loaded

    def __getitem__(self, key: str) -> Any:
        loaded = self._loaded.get(key, _UNREAD)
        if loaded is _UNREAD:
            loaded = self._load(key, _UNREAD)
            if loaded is _UNREAD:
                raise KeyError(key)
        return loaded

    def get(self, key: str, default: Any = None) -> Any:
        loaded = self._loaded.get(key, _UNREAD)
        return self._load(key, default) if loaded is _UNREAD else loaded

    def _present(self) -> list[str]:
        return [
            key
            for key, name in _dump_keys(type(self._model)).items()
            if getattr(self._model, name) is not None
        ]

    def __contains__(self, key: object) -> bool:
        name = _dump_keys(type(self._model)).get(key) if isinstance(key, str) else None
        return name is not None and getattr(self._model, name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._present())

    def __len__(self) -> int:
        return len(self._present())

    def plain(self) -> dict[str, Any]:
        """The whole dump as plain dicts."""
        return {
            key: value.plain() if isinstance(value, LazyTree) else value
            for key, value in self.items()
        }

    def __repr__(self) -> str:
        return repr(self.plain())  # so ``str()`` of a part gives what it gave when it was a dict


_UNREAD = object()
# Values that ``model_dump`` (python mode) returns as they are, the very object
PLAIN_VALUES = frozenset({str, int, float, bool, Decimal, date, datetime})


def model_type(annotation: Any) -> type[BaseModel] | None:
    """The model class of a field annotated ``Model`` or ``Model | None``, else None."""
    args = [arg for arg in getattr(annotation, "__args__", (annotation,)) if arg is not type(None)]
    if len(args) == 1 and isinstance(args[0], type) and issubclass(args[0], BaseModel):
        return args[0]
    return None


# the bundle's parts that are lazy trees of their own in a prefill's tree (the forms, master data, ...)
BUNDLE_PARTS = frozenset(
    name for name, info in TradeBundle.model_fields.items() if model_type(info.annotation)
)


@cache
def _dump_keys(model: type[BaseModel]) -> dict[str, str]:
    """Key in ``model_dump(by_alias=True)`` -> field name, in field order."""
    return {
        (info.serialization_alias or info.alias or name): name
        for name, info in model.model_fields.items()
    }


@cache
def field_serializer(model: type[BaseModel], name: str) -> SchemaSerializer | None:
    """The serializer of one field's type (None when the field carries metadata that could change it):
    what ``TypeAdapter(annotation).dump_python`` calls, without its wrapper."""
    info = model.model_fields[name]
    if info.metadata or info.annotation is None:
        return None
    return TypeAdapter(info.annotation).serializer


def dump_field(instance: BaseModel, name: str, value: Any) -> Any:
    """``instance``'s field ``name`` (its value ``value``, not None) as in
    ``instance.model_dump(by_alias=True, exclude_none=True)``, without dumping the rest of the instance:
    plain values as they are, anything else by the field type's own serializer."""
    if type(value) in PLAIN_VALUES:
        return value
    if type(value) is list and not value:
        return []  # what any list type's serializer makes of an empty list
    serializer = field_serializer(type(instance), name)
    if serializer is None:
        dumped = instance.model_dump(by_alias=True, exclude_none=True, include={name})
        return next(iter(dumped.values()))
    return serializer.to_python(value, by_alias=True, exclude_none=True)


@dataclass
class Context:
    """What a transform or rule may read: the bundle (typed and as a tree), config and the current repeat."""

    bundle: TradeBundle
    config: PrefillConfig
    # the bundle as plain data (``TradeBundle.as_tree``), read lazily unless given
    tree: Mapping[str, Any] = field(default_factory=dict)
    element: Any = None  # the current repeat's row inside a group (what ``@.`` paths read)

    def __post_init__(self) -> None:
        if not self.tree:
            self.tree = LazyTree(self.bundle, nested=BUNDLE_PARTS)


def resolve_path(tree: Mapping[str, Any], path: str, element: Any = None) -> Any:
    """Walk ``SI.shipper.name`` / ``containers.0.containerNo`` / ``@.description``; None when absent."""
    current: Any = tree
    for position, segment in enumerate(path.split(".")):
        if position == 0 and segment == "@":
            current = element
        elif isinstance(current, Mapping):
            current = current.get(segment)
        elif isinstance(current, list) and segment.isdigit():
            index = int(segment)
            current = current[index] if index < len(current) else None
        else:
            return None
        if current is None:
            return None
    return current


# ------------------------------------------------------------------------------------------- text (T3)


def normalize_text(text: str) -> str:
    """Half-width conversion (NFKC: full-width Latin → half-width, half-width kana → full-width) and one space
    for any run of whitespace, so multi-line form text fits a single NACCS item."""
    if text.isascii():  # NFKC leaves ASCII as it is
        return " ".join(text.split())
    return " ".join(unicodedata.normalize("NFKC", text).split())


def yyyymmdd(value: date) -> str:
    """``value.strftime("%Y%m%d")``, without strftime's cost for four-digit years (the only ones here)."""
    if 1000 <= value.year:
        return f"{value.year}{value.month:02d}{value.day:02d}"
    return value.strftime("%Y%m%d")  # years below 1000 print without leading zeros


def _text(value: Any) -> str:
    if type(value) is str:  # the common case first
        # normalize_text, its ASCII case in place (one call fewer for most form values)
        return " ".join(value.split()) if value.isascii() else normalize_text(value)
    if type(value) is Decimal or isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, datetime | date):
        return yyyymmdd(value)
    if isinstance(value, list):
        return " ".join(_text(v) for v in value)
    return normalize_text(str(value))


def format_decimal(value: Decimal) -> str:
    """The number without exponent and without trailing zeros (``format(value.normalize(), "f")``,
    trimmed). ``str()`` of a Decimal is that same text unless it uses an exponent, and costs a
    quarter of the format call."""
    normal = value.normalize()
    text = str(normal)
    if "E" in text or "e" in text:
        text = format(normal, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


_KEY_SEPARATORS = re.compile(r"[\s.]+")
_NOT_DIGITS = re.compile(r"[^0-9]")
_NOT_ALPHANUMERIC = re.compile(r"[^0-9A-Za-z]")


def _key(text: str) -> str:
    """The text for comparing names and codes: normalized, upper case, dots and whitespace runs as one
    space."""
    if text.isascii() and "." not in text:
        # normalize_text has left single spaces between words, which the substitution keeps as they are
        return " ".join(text.split()).upper()
    return _KEY_SEPARATORS.sub(" ", normalize_text(text).upper()).strip()


# ------------------------------------------------------------------------------------------- tables


@cache
def _port_tables() -> tuple[dict[str, str], frozenset[str], dict[str, str]]:
    """(port name → LOCODE, LOCODEs named in ports.toml, country name → ISO code). Country names are the ISO
    short names of the project's table plus the spellings of ports.toml."""
    data = read_toml("ports.toml")
    by_name = {_key(name): p["locode"] for p in data["ports"] for name in p["names"]}
    codes = frozenset(by_name.values())
    countries = {_key(name): code for code, name in COUNTRIES.items()}
    countries |= {_key(name): c["code"] for c in data["countries"] for name in c["names"]}
    return by_name, codes, countries


@cache
def _unit_tables() -> dict[str, dict[str, str]]:
    data = read_toml("units.toml")
    return {
        kind: {
            _key(alias).replace(" ", ""): code
            for code, aliases in table.items()
            for alias in aliases
        }
        for kind, table in data.items()
    }


def country_code_of(text: str) -> str | None:
    key = _key(text)
    if re.fullmatch(r"[A-Z]{2}", key):
        return key
    return _port_tables()[2].get(key)


def _place_text(value: Any) -> str:
    """A Location (``{code, name}``) or plain text: the code when the form gives one, else the name."""
    if type(value) is dict or isinstance(value, Mapping):
        picked = value.get("code") or value.get("name")
        if not picked:
            raise TransformFailed("the place has neither a code nor a name")
        return _text(picked)
    return _text(value)


def _locode(value: Any, ctx: Context, args: Mapping[str, str | int]) -> Derived:
    """T1: port name or code → UN/LOCODE; an unlisted port in a known country → country + ZZZ (ACL rule ✅)."""
    text = _key(_place_text(value))
    by_name, codes, _ = _port_tables()
    for port in ctx.bundle.master.ports:
        if _key(port.name) == text.split(",")[0].strip() or port.locode == text:
            return Derived(port.locode, f"master:ports[{port.locode}]")
    name, _, country = text.partition(",")
    name, country = name.strip(), country.strip()
    if name in by_name:
        return Derived(by_name[name])
    compact = text.replace(" ", "")
    if compact in codes:
        return Derived(compact)
    if check_locode_format(compact).is_valid and compact not in by_name:
        return Derived(compact)  # LOCODE-shaped, in a known country: trust the form
    if country:
        code = country_code_of(country)
        if code:
            return Derived(f"{code}ZZZ")
    raise TransformFailed(f"port {text!r} is not in the port table: enter its UN/LOCODE")


def _port_name(value: Any, ctx: Context, args: Mapping[str, str | int]) -> Derived:
    """A port's name for name items next to LOCODE items; the form's own wording when it has one."""
    if isinstance(value, Mapping):
        if value.get("name"):
            return Derived(normalize_text(_text(value["name"])).upper().split(",")[0].strip())
        code = _locode(value, ctx, args).value
        known = BUNDLED_LOCODES.get(code)
        names = [name for name, locode in _port_tables()[0].items() if locode == code]
        if known is None and not names:
            raise TransformFailed(f"no name known for port {code}")
        return Derived(_key(known.name) if known is not None else names[0])
    text = normalize_text(_text(value)).upper()
    return Derived(text.split(",")[0].strip())


def _unit(kind: str) -> Callable[[Any, Context, Mapping[str, str | int]], Derived]:
    def transform(value: Any, ctx: Context, args: Mapping[str, str | int]) -> Derived:
        text = _key(_text(value)).replace(" ", "")
        code = _unit_tables()[kind].get(text)
        if code is None:
            raise TransformFailed(f"{kind} unit {value!r} has no code in units.toml")
        return Derived(code)

    return transform


def _date(value: Any, ctx: Context, args: Mapping[str, str | int]) -> Derived:
    """T7: dates → YYYYMMDD."""
    if isinstance(value, datetime | date):
        return Derived(yyyymmdd(value))
    text = str(value).strip()
    parsed = parse_date(text.split("T")[0])
    if parsed is None:
        raise TransformFailed(f"{text!r} is not a date")
    return Derived(yyyymmdd(parsed))


def _time(value: Any, ctx: Context, args: Mapping[str, str | int]) -> Derived:
    if isinstance(value, datetime):
        return Derived(value.strftime("%H%M"))
    raise TransformFailed(f"{value!r} is not a date-time")


def _decimal(value: Any) -> Decimal:
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value).replace(",", ""))
    except InvalidOperation as exc:
        raise TransformFailed(f"{value!r} is not a number") from exc


def _amount(value: Any, ctx: Context, args: Mapping[str, str | int]) -> Derived:
    """T7: JPY amounts are floored to integers ([S5]); other currencies keep their decimals 🔶."""
    amount = _decimal(value)
    currency_source = str(args.get("currency", ""))
    if currency_source.startswith("rule:"):
        currency = RULES[currency_source.removeprefix("rule:")](ctx)
    elif currency_source:
        currency = resolve_path(ctx.tree, currency_source, ctx.element)
    else:
        currency = "JPY"
    if currency is None or str(currency).upper() == "JPY":
        return Derived(str(amount.to_integral_value(rounding=ROUND_FLOOR)))
    return Derived(format_decimal(amount))


def _quantity(value: Any, ctx: Context, args: Mapping[str, str | int]) -> Derived:
    """A plain decimal number without exponent or trailing zeros (weights, volumes, quantities)."""
    places = args.get("places")
    amount = _decimal(value)
    if places is not None:
        amount = amount.quantize(_quantum(int(places)))
    return Derived(format_decimal(amount))


@cache
def _quantum(places: int) -> Decimal:
    """``Decimal(1).scaleb(-places)``: 0.001 for 3 places (one per places value a map names)."""
    return Decimal(1).scaleb(-places)


def _digits(value: Any, ctx: Context, args: Mapping[str, str | int]) -> Derived:
    """Phone and postal numbers: hyphens and spaces stripped ([S5])."""
    return Derived(_NOT_DIGITS.sub("", normalize_text(_text(value))))


def _map_value(value: Any, ctx: Context, args: Mapping[str, str | int]) -> Derived:
    """A form value → the NACCS code the map lists for it (e.g. 空/実入表示: EMPTY → 4, LADEN → 5)."""
    key = _text(value).upper()
    table = {str(k).upper(): str(v) for k, v in args.items()}
    if key not in table:
        raise TransformFailed(f"{key!r} has no NACCS code (known: {', '.join(sorted(table))})")
    return Derived(table[key])


def _goods_summary(value: Any, ctx: Context, args: Mapping[str, str | int]) -> Derived:
    """The goods description of a whole shipment: the text, or the commodity lines' descriptions joined."""
    if isinstance(value, list):
        parts = [
            _text(line["description"])
            for line in value
            if isinstance(line, Mapping) and line.get("description")
        ]
        if not parts:
            raise TransformFailed("the commodity lines carry no description")
        return Derived("; ".join(dict.fromkeys(parts)))
    return Derived(_text(value))


def _upper(value: Any, ctx: Context, args: Mapping[str, str | int]) -> Derived:
    return Derived(_text(value).upper())


def _master_lookup(value: Any, ctx: Context, args: Mapping[str, str | int]) -> Derived:
    """Look ``value`` up in a master table: ``table``, matched on ``key``, returning ``field``."""
    table, key, wanted = str(args["table"]), str(args["key"]), str(args["field"])
    models = _master_models(ctx, table)
    rows = ctx.tree.get("master", {}).get(table, []) if models is None else models
    needle = _key(_text(value))
    for row in rows:
        found = _row_value(row, key)
        if found is not None and _key(_text(found)) == needle:
            result = _row_value(row, wanted)
            if result is None or result == "":
                raise TransformFailed(f"master {table}[{needle}] has no {wanted}")
            return Derived(_text(result), f"master:{table}[{needle}]")
    raise TransformFailed(f"{needle!r} is not in master data {table}")


def _master_models(ctx: Context, table: str) -> list[BaseModel] | None:
    """The rows of ``ctx.tree["master"][table]`` as the bundle's models, when they all are (each field is
    then dumped alone when read, see :func:`_row_value`, instead of every row of the table); else None."""
    master = ctx.bundle.master
    name = _dump_keys(MasterData).get(table) if type(master) is MasterData else None
    models = getattr(master, name) if name is not None else None
    if type(models) is list and all(isinstance(row, BaseModel) for row in models):
        return models
    return None


def _row_value(row: Mapping[str, Any] | BaseModel, key: str) -> Any:
    """``row.get(key)`` of a row of the tree, or of the model that row is the dump of."""
    if not isinstance(row, BaseModel):
        return row.get(key)
    name = _dump_keys(type(row)).get(key)
    if name is None:
        return None
    value = getattr(row, name)
    return value if value is None else dump_field(row, name, value)


def _call_sign(value: Any, ctx: Context, args: Mapping[str, str | int]) -> Derived:
    """T8: vessel → call sign (船舶コード): the form's call sign when it gives one (the carrier's), else the
    vessel master by name; a known call sign passes through."""
    if type(value) is dict or isinstance(value, Mapping):
        if value.get("callSign"):
            return Derived(_text(value["callSign"]).upper())
        if not value.get("name"):
            raise TransformFailed("the vessel has neither a call sign nor a name")
        value = value["name"]
    needle = _key(_text(value))
    for vessel in ctx.bundle.master.vessels:
        if _key(vessel.call_sign) == needle:
            return Derived(vessel.call_sign.upper(), f"master:vessels[{vessel.call_sign}]")
        if _key(vessel.name) == needle:
            return Derived(vessel.call_sign.upper(), f"master:vessels[{vessel.call_sign}]")
    raise TransformFailed(
        f"vessel {needle!r} is not in the vessel master: register it or enter the call sign"
    )


def _hs9(value: Any, ctx: Context, args: Mapping[str, str | int]) -> Derived:
    """HS code → the 9-digit 統計品目番号 / 品目コード NACCS wants (6 HS + 3 national digits)."""
    digits = _NOT_DIGITS.sub("", _text(value))
    if len(digits) != 9:
        raise TransformFailed(f"HS code {value!r} has {len(digits)} digits; NACCS needs 9")
    return Derived(digits)


def _country_of_locode(value: Any, ctx: Context, args: Mapping[str, str | int]) -> Derived:
    return Derived(_locode(value, ctx, args).value[:2])


# ------------------------------------------------------------------------------------------- parties (T4, T5)

JP_PREFECTURE = re.compile(r"^(東京都|北海道|(?:京都|大阪)府|.{2,3}県)")
JP_MUNICIPALITY = re.compile(r"^((?:.+?郡)?.+?市.+?区|.+?[市区町村])")


def importer_exporter_code(corporate_number: str, branch_no: str | None) -> str:
    """T5: 輸出入者コード = 法人番号(13) + 枝番(4) ✅ [S15], checked with the project's code validators."""
    if (
        type(corporate_number) is str
        and len(corporate_number) == 13
        and corporate_number.isascii()
        and corporate_number.isdigit()
        and int(corporate_number[0]) == corporate_number_check_digit(corporate_number[1:])
    ):
        # what check_corporate_number finds valid, already in its normalized form (13 ASCII digits)
        normalized = corporate_number
    else:
        number = check_corporate_number(corporate_number)
        if number.error is not None:
            raise TransformFailed(number.error.message_en)
        normalized = number.normalized
    branch = _NOT_DIGITS.sub("", branch_no or "") or "0000"
    if len(branch) > 4:
        raise TransformFailed(f"branch number {branch_no!r} is longer than 4 digits")
    return normalized + branch.zfill(4)


def _trader_code(value: Any) -> str:
    """An already issued 輸出入者コード from the form, checked (法人番号 check digit, 17 digits)."""
    checked = check_naccs_trader_code(_text(value))
    if checked.error is not None:
        raise TransformFailed(checked.error.message_en)
    return checked.normalized


def split_japanese_address(address: str) -> tuple[str, str, str, str]:
    """T4, Japanese text: 都道府県 / 市区町村 / 町域・番地 / ビル名 (the building after the first space)."""
    text = normalize_text(address)
    text = re.sub(r"^〒?\s*\d{3}-?\d{4}\s*", "", text)
    prefecture_match = JP_PREFECTURE.match(text)
    prefecture = prefecture_match.group(1) if prefecture_match else ""
    rest = text[len(prefecture) :]
    municipality_match = JP_MUNICIPALITY.match(rest)
    municipality = municipality_match.group(1) if municipality_match else ""
    rest = rest[len(municipality) :]
    street, _, building = rest.partition(" ")
    return prefecture, municipality, street, building


def split_latin_address(address: str) -> tuple[str, str, str, str]:
    """T4, comma-separated Latin text (``street, district, city[, region], country``): first part, middle
    parts, city and region (when the last part looks like one). A trailing country goes to 国コード instead."""
    parts = [p.strip() for p in normalize_text(address).split(",") if p.strip()]
    if parts and country_code_of(parts[-1]) is not None and len(parts) > 1:
        parts = parts[:-1]
    if len(parts) <= 2:
        padded = [*parts, "", ""]
        return padded[0], "", padded[1], ""
    if _looks_like_region(parts[-1]):
        return parts[0], " ".join(parts[1:-2]), parts[-2], parts[-1]
    return parts[0], " ".join(parts[1:-1]), parts[-1], ""


def _looks_like_region(part: str) -> bool:
    """A state/province code ("CA", "NSW 2000") or a named region, rather than a city."""
    key = _key(part)
    return bool(
        re.fullmatch(r"[A-Z]{2,3}( [0-9][0-9-]*)?", key)
        or re.search(r"\b(PROVINCE|STATE|PREFECTURE|REGION)\b", key)
    )


def _find_company(party: Mapping[str, Any], ctx: Context) -> CompanyMaster | None:
    companies = ctx.bundle.master.companies
    wanted = party.get("companyId")
    if wanted:
        for company in companies:
            if company.company_id == wanted:
                return company
    wanted = party.get("corporateNumber")
    if wanted:
        for company in companies:
            if company.corporate_number == wanted:
                return company
    names = {_key(str(party[k])) for k in ("name", "nameEn") if party.get(k)}
    return next((c for c in companies if names & {_key(n) for n in (c.name, c.name_en) if n}), None)


def _party_address_parts(party: Mapping[str, Any]) -> tuple[str, str, str, str]:
    lines = [normalize_text(str(line)) for line in party.get("addressLines", []) if line]
    if lines:
        street1 = lines[0]
        street2 = " ".join(lines[1:])
        return street1, street2, party.get("city") or "", party.get("subdivision") or ""
    address = str(party.get("address") or "")
    if JP_PREFECTURE.match(normalize_text(address)):
        return split_japanese_address(address)
    return split_latin_address(address)


# what _company takes from the company master for a field other than "name" (the English name, else the name)
_COMPANY_MASTER_FIELDS = {
    field: field
    for field in (
        "postal_code",
        "address1",
        "address2",
        "address3",
        "address4",
        "phone",
        "payment_method",
        "bank_account_no",
        "security_registration_no",
    )
}


def _company(value: Any, ctx: Context, args: Mapping[str, str | int]) -> Derived:
    """A Japanese exporter/importer: from the company master when the party is in it, else from the form."""
    if type(value) is not dict and not isinstance(value, Mapping):
        raise TransformFailed("expected a party")
    wanted = str(args["field"])
    company = _find_company(value, ctx)
    via = f"master:companies[{company.company_id}]" if company else None
    if wanted == "code":
        if company is not None and company.corporate_number:
            return Derived(importer_exporter_code(company.corporate_number, company.branch_no), via)
        if value.get("naccsTraderCode"):
            return Derived(_trader_code(value["naccsTraderCode"]))
        if value.get("corporateNumber"):
            return Derived(importer_exporter_code(value["corporateNumber"], value.get("branchNo")))
        raise TransformFailed("no 法人番号 for this party: add it to the company master")
    master_only = {"payment_method", "bank_account_no", "security_registration_no"}
    if company is None and wanted in master_only:
        raise TransformFailed(f"{wanted} comes from the company master, and the party is not in it")
    if company is not None:
        if wanted == "name":
            master_value = company.name_en or company.name
        else:
            field = _COMPANY_MASTER_FIELDS.get(wanted)
            master_value = getattr(company, field) if field is not None else None
        if not master_value and wanted in master_only:
            raise TransformFailed(f"the company master has no {wanted} for {company.company_id}")
        if master_value:
            derived = _text(master_value)
            if wanted in {"postal_code", "phone"}:
                derived = _NOT_DIGITS.sub("", derived)
            return Derived(derived, via)
    return _party(value, ctx, args)


def _party(value: Any, ctx: Context, args: Mapping[str, str | int]) -> Derived:
    """A party from the form (foreign consignee, overseas shipper): name, address parts, postal and country."""
    if not isinstance(value, Mapping):
        raise TransformFailed("expected a party")
    wanted = str(args["field"])
    if wanted == "code":
        if value.get("naccsTraderCode"):
            return Derived(_text(value["naccsTraderCode"]))
        raise TransformFailed("the party has no NACCS code")
    if wanted == "name":
        name = value.get("nameEn") or value.get("name")
        if not name:
            raise TransformFailed("the party has no name")
        return Derived(_text(name).upper())
    if wanted in {"address1", "address2", "address3", "address4"}:
        part = _party_address_parts(value)[int(wanted[-1]) - 1]
        if not part:
            raise TransformFailed(f"the party's address has no part {wanted[-1]}")
        return Derived(part.upper())
    if wanted in {"postal_code", "phone"}:
        raw = value.get("postalCode" if wanted == "postal_code" else "phone")
        if not raw:
            raise TransformFailed(f"the party has no {wanted}")
        return Derived(_NOT_ALPHANUMERIC.sub("", _text(raw)).upper())
    if wanted == "country_code":
        if value.get("countryCode"):
            return Derived(_text(value["countryCode"]).upper())
        address = str(value.get("address") or "")
        tail = address.split(",")[-1] if address else ""
        code = country_code_of(tail) if tail else None
        if code:
            return Derived(code)
        raise TransformFailed("the party's country is unknown")
    raise TransformFailed(f"unknown party field {wanted}")


WEIGHT_UNITS_IN_KG = {"KG": Decimal(1), "MT": Decimal(1000), "GR": Decimal("0.001")}
COUNT_UNITS = {"NO": Decimal(1), "DZ": Decimal(12), "PR": Decimal(2)}


def _stat_quantity(value: Any, ctx: Context, args: Mapping[str, str | int]) -> Derived:
    """数量1/2 of a declaration line in the unit the product master gives for the statistics (KG, NO, DZ, ...,
    suffixes DW/IC/II/MC ✅ [S14] kept on the unit only): net weight for weight units, the count otherwise."""
    if not isinstance(value, Mapping):
        raise TransformFailed("expected an invoice line")
    which = int(args.get("which", 1))
    product = next(
        (p for p in ctx.bundle.master.products if p.product_code == value.get("productCode")), None
    )
    if product is None:
        raise TransformFailed(f"product {value.get('productCode')!r} is not in the product master")
    unit = product.quantity_unit1 if which == 1 else product.quantity_unit2
    if not unit:
        raise TransformFailed(f"the product master has no quantity unit {which}")
    base = unit.upper()[:2]
    via = f"master:products[{product.product_code}]"
    if base in WEIGHT_UNITS_IN_KG and value.get("netWeight") is not None:
        weight = _decimal(value["netWeight"]) / WEIGHT_UNITS_IN_KG[base]
        return Derived(format_decimal(weight.quantize(Decimal("0.001"))), via)
    if base in COUNT_UNITS and value.get("quantity") is not None:
        return Derived(format_decimal(_decimal(value["quantity"]) / COUNT_UNITS[base]), via)
    raise TransformFailed(f"line has no quantity for unit {unit}")


TransformFunction = Callable[[Any, Context, Mapping[str, str | int]], Derived]

TRANSFORMS: dict[str, TransformFunction] = {
    "locode": _locode,
    "port_name": _port_name,
    "country_of_locode": _country_of_locode,
    "package_code": _unit("package"),
    "weight_unit": _unit("weight"),
    "volume_unit": _unit("volume"),
    "date": _date,
    "time": _time,
    "amount": _amount,
    "quantity": _quantity,
    "digits": _digits,
    "upper": _upper,
    "map_value": _map_value,
    "goods_summary": _goods_summary,
    "master_lookup": _master_lookup,
    "call_sign": _call_sign,
    "hs9": _hs9,
    "company": _company,
    "party": _party,
    "stat_quantity": _stat_quantity,
}


def as_text(value: Any) -> str:
    """The default conversion of a scalar source value (no transform named)."""
    if type(value) is str or type(value) is Decimal:  # not a Mapping; skips the slow ABC check
        return _text(value)
    if isinstance(value, Mapping):
        raise TransformFailed("the source is an object; the field map must name a transform")
    return _text(value)


# ------------------------------------------------------------------------------------------- rules


def _processing_kind(ctx: Context) -> str:
    """処理区分: 9 new, 5 correction, 1 cancellation ✅ [S12][S4]."""
    return {"new": "9", "correct": "5", "cancel": "1"}[ctx.bundle.processing]


def _today(ctx: Context) -> date:
    return ctx.config.today


def _invoice_jpy(ctx: Context) -> Decimal | None:
    invoice = ctx.bundle.iv
    if invoice is None or invoice.total_amount is None:
        return None
    currency = (invoice.currency_code or "JPY").upper()
    if currency == "JPY":
        return invoice.total_amount
    rate = ctx.config.exchange_rates_to_jpy.get(currency)
    return None if rate is None else invoice.total_amount * rate


def _value_class(ctx: Context) -> str | None:
    """大額・少額識別 🔶: L above the configured JPY threshold, S at or below it (needs a rate for foreign ccy)."""
    amount = _invoice_jpy(ctx)
    if amount is None:
        return None
    return "L" if amount > ctx.config.small_value_threshold_jpy else "S"


def _fob_amount(ctx: Context) -> Decimal | None:
    """FOB value: the invoice total when the terms are FOB/FCA; CIF/CIP minus freight and insurance; CFR/CPT
    minus freight. Other terms or missing freight: a person decides."""
    invoice = ctx.bundle.iv
    if invoice is None or invoice.total_amount is None or not invoice.incoterms:
        return None
    terms = invoice.incoterms.upper()
    if terms in {"FOB", "FCA", "FAS", "EXW"}:
        return invoice.total_amount
    if terms in {"CFR", "CPT"} and invoice.freight_amount is not None:
        return invoice.total_amount - invoice.freight_amount
    if terms in {"CIF", "CIP"} and invoice.freight_amount is not None:
        return invoice.total_amount - invoice.freight_amount - (invoice.insurance_amount or 0)
    return None


def _fob_currency(ctx: Context) -> str | None:
    return (
        None if _fob_amount(ctx) is None or ctx.bundle.iv is None else ctx.bundle.iv.currency_code
    )


def _container_count(ctx: Context) -> str | None:
    """T6 ✅ [S14]: FCL → the number of containers (1-200); LCL → 7nn (same shipper) / 9nn (several shippers)."""
    bundle = ctx.bundle
    count = len(bundle.shared.containers) if bundle.shared is not None else 0
    if count == 0 and bundle.bk is not None:
        count = sum(r.quantity or 0 for r in bundle.bk.container_requests)
    if count == 0:
        return None
    if bundle.bk is not None and (bundle.bk.cargo_movement_type or "").upper() == "LCL":
        same = bundle.bk.same_shipper_consolidation
        prefix = ctx.config.same_shipper_lcl_prefix if same else ctx.config.multi_shipper_lcl_prefix
        return str(prefix + count)
    if count > 200:
        raise TransformFailed(f"{count} containers exceed the 200 NACCS takes per declaration")
    return str(count)


def _carry_in_from_booking(ctx: Context) -> list[dict[str, Any]] | None:
    """ECR 搬入予定先 when the S/I names none: the booking's return facility (CY/CFS) with the shipment's
    totals (packing list, else S/I) as one place."""
    bundle = ctx.bundle
    facility = bundle.bk.return_facility if bundle.bk is not None else None
    if facility is None or not facility.bonded_area_code:
        return None
    place: dict[str, Any] = {"bondedAreaCode": facility.bonded_area_code, "name": facility.name}
    totals = bundle.pl if bundle.pl is not None else bundle.si
    if totals is not None:
        place.update(
            packages=totals.total_packages,
            grossWeight=totals.commodity_total_gross_weight,
            measurement=totals.commodity_total_measurement,
        )
    if bundle.si is not None and bundle.si.carry_in_date is not None:
        place["date"] = bundle.si.carry_in_date
    return [place]


def _consignee(ctx: Context) -> Any:
    """仕向人: the S/I consignee; for a "TO ORDER" B/L the notify party stands in (carrier practice 🔶)."""
    si = ctx.tree.get("SI", {})
    consignee = si.get("consignee") or ctx.tree.get("shared", {}).get("consignee")
    if consignee and "ORDER" in _key(str(consignee.get("name", ""))):
        return si.get("notifyParty") or ctx.tree.get("shared", {}).get("notifyParty")
    return consignee


def _import_exporter(ctx: Context) -> Any:
    """輸出者(仕出人) of an import: the B/L or A/N shipper."""
    for root in ("AN", "BL", "shared"):
        shipper = ctx.tree.get(root, {}).get("shipper")
        if shipper:
            return shipper
    return None


def _importer(ctx: Context) -> Any:
    """輸入者: the A/N consignee unless it is "TO ORDER", then the notify party."""
    for root in ("AN", "BL", "shared"):
        node = ctx.tree.get(root, {})
        consignee = node.get("consignee")
        if consignee and "ORDER" not in _key(str(consignee.get("name", ""))):
            return consignee
        if node.get("notifyParty"):
            return node["notifyParty"]
    return None


def _exporter(ctx: Context) -> Any:
    for root in ("SI", "shared"):
        shipper = ctx.tree.get(root, {}).get("shipper")
        if shipper:
            return shipper
    return None


def _container_list(ctx: Context) -> Any:
    return ctx.tree.get("shared", {}).get("containers") or None


def _bl_numbers(ctx: Context) -> Any:
    """B/L番号 repeats of an import: the A/N's, else the B/L's, else the shared item."""
    for root in ("AN", "BL"):
        number = ctx.tree.get(root, {}).get("billOfLading", {}).get("blNo")
        if number:
            return [{"blNo": number}]
    shared = ctx.tree.get("shared", {}).get("billOfLading", {}).get("blNo")
    return [{"blNo": shared}] if shared else None


def _insurance_currency(ctx: Context) -> str | None:
    invoice = ctx.bundle.iv
    return invoice.currency_code if invoice and invoice.insurance_amount is not None else None


FREIGHT_CHARGE = re.compile(r"FREIGHT|O/F|OCEAN")


def _freight_charges(ctx: Context) -> list[tuple[Decimal, str | None]]:
    """Ocean-freight charges of the A/N (else the B/L) that carry an amount."""
    sources = (ctx.bundle.an.charges if ctx.bundle.an else []) or (
        ctx.bundle.bl.freight_charges if ctx.bundle.bl else []
    )
    return [
        (charge.amount, charge.currency_code)
        for charge in sources
        if charge.amount is not None and FREIGHT_CHARGE.search(_key(charge.description or ""))
    ]


def _freight_amount(ctx: Context) -> Decimal | None:
    """運賃: the sum of the freight charges, when they share one currency; prepaid freight shown without an
    amount leaves it to the broker."""
    charges = _freight_charges(ctx)
    if not charges or len({currency for _, currency in charges}) != 1:
        return None
    return sum((amount for amount, _ in charges), Decimal(0))


def _freight_currency(ctx: Context) -> str | None:
    charges = _freight_charges(ctx)
    currencies = {currency for _, currency in charges}
    return currencies.pop() if len(currencies) == 1 else None


RULES: dict[str, Callable[[Context], Any]] = {
    "processing_kind": _processing_kind,
    "today": _today,
    "value_class": _value_class,
    "fob_amount": _fob_amount,
    "fob_currency": _fob_currency,
    "container_count": _container_count,
    "carry_in_from_booking": _carry_in_from_booking,
    "consignee": _consignee,
    "exporter": _exporter,
    "importer": _importer,
    "import_exporter": _import_exporter,
    "container_list": _container_list,
    "bl_numbers": _bl_numbers,
    "insurance_currency": _insurance_currency,
    "freight_amount": _freight_amount,
    "freight_currency": _freight_currency,
}

CONFIG_KEYS = frozenset(PrefillConfig.model_fields) - {"today"}

# The form paths each rule reads, so a NACCS error on a rule-filled item can point at the form field to fix.
RULE_INPUTS: dict[str, tuple[str, ...]] = {
    "processing_kind": (),
    "today": (),
    "value_class": ("IV.totalAmount", "IV.currencyCode"),
    "fob_amount": ("IV.totalAmount", "IV.incoterms", "IV.freightAmount", "IV.insuranceAmount"),
    "fob_currency": ("IV.currencyCode",),
    "container_count": ("shared.containers", "BK.containerRequests", "BK.cargoMovementType"),
    "carry_in_from_booking": (
        "BK.returnFacility",
        "PL.totalPackages",
        "PL.commodityTotalGrossWeight",
        "SI.totalPackages",
        "SI.commodityTotalGrossWeight",
        "SI.carryInDate",
    ),
    "consignee": ("SI.consignee", "SI.notifyParty", "shared.consignee"),
    "exporter": ("SI.shipper", "shared.shipper"),
    "importer": ("AN.consignee", "AN.notifyParty", "BL.consignee", "shared.consignee"),
    "import_exporter": ("AN.shipper", "BL.shipper", "shared.shipper"),
    "container_list": ("shared.containers",),
    "bl_numbers": ("AN.billOfLading.blNo", "BL.billOfLading.blNo", "shared.billOfLading.blNo"),
    "insurance_currency": ("IV.currencyCode", "IV.insuranceAmount"),
    "freight_amount": ("AN.charges", "BL.freightCharges"),
    "freight_currency": ("AN.charges", "BL.freightCharges"),
}
