"""Pydantic models of the bridge's data files: the business-code catalogue and the per-code field maps.

The files live in ``naccs_bridge/maps``. These models are strict (unknown keys are rejected) so that a typo in a
data file fails at load time with the file and the field named, not later with a wrong telegram.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Hashable, Iterator
from enum import StrEnum
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

BUSINESS_CODE_PATTERN = r"^[A-Z]{3}[0-9]{0,2}$"
ITEM_ID_PATTERN = r"^[A-Z0-9]{3}$"
FORM_ROOTS = frozenset({"SI", "BK", "IV", "PL", "BL", "AN"})


class StrictModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


ModelT = TypeVar("ModelT", bound=BaseModel)
_object_setattr = object.__setattr__


def construct_trusted(model: type[ModelT], fields_set: set[str], values: dict[str, Any]) -> ModelT:
    """An instance of ``model`` from values the caller built from already validated data, exactly as
    ``model_construct(**values)`` would make it (``fields_set`` = the names a validated call would mark as
    set). ``model_construct`` walks every field in Python and costs more than validating; hot paths (the
    compiled prefill plan) build tens of models per telegram. Only for models without private attributes,
    extra fields or ``model_post_init`` — the tests compare the result with the validated construction."""
    instance = model.__new__(model)
    _object_setattr(instance, "__dict__", values)
    _object_setattr(instance, "__pydantic_fields_set__", fields_set)
    _object_setattr(instance, "__pydantic_extra__", None)
    _object_setattr(instance, "__pydantic_private__", None)
    return instance


class CodeKind(StrEnum):
    REGISTRATION = "registration"
    CALL = "call"
    DECLARATION = "declaration"
    CHANGE = "change"
    CANCELLATION = "cancellation"
    INQUIRY = "inquiry"
    OTHER = "other"


class SourceKind(StrEnum):
    """Where an item's value comes from. The first four read a path in the trade bundle."""

    FORM = "form"  # a Cyber Port form of the trade: SI UL040, BK UL050, IV UL100, PL UL120, BL UL150, AN UL290
    SHARED = "shared"  # the trade's shared items (Cyber Port root document) and containers
    MASTER = "master"  # master data held by the bridge (companies, products, vessels, bonded areas)
    PREVIOUS = "previous"  # results of earlier NACCS business codes of the same trade (輸出管理番号, 申告番号)
    RULE = "rule"  # a named rule of the bridge (transforms.RULES)
    CONFIG = "config"  # the bridge's per-user configuration (申告予定者 = broker's 利用者コード)
    CONST = "const"  # a fixed value
    PERSON = "person"  # only a person (normally the customs broker) can decide it
    SYSTEM = "system"  # assigned by NACCS; blank on a new registration


PATH_KINDS = frozenset({SourceKind.FORM, SourceKind.SHARED, SourceKind.MASTER, SourceKind.PREVIOUS})
_PATH_PATTERN = re.compile(r"^(@|[A-Za-z][A-Za-z0-9]*)(\.([A-Za-z][A-Za-z0-9]*|[0-9]+))*$")


class TransformSpec(StrictModel):
    name: str
    args: dict[str, str | int] = Field(default_factory=dict)


def _parse_transform(value: Any) -> Any:
    if isinstance(value, str):
        return {"name": value}
    if isinstance(value, dict) and "name" in value:
        return {"name": value["name"], "args": {k: v for k, v in value.items() if k != "name"}}
    return value


def parse_pipeline(value: Any) -> Any:
    """A transform, written as a name, a table ``{name = "...", arg = ...}`` or a list of those."""
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(_parse_transform(v) for v in value)
    return (_parse_transform(value),)


class Source(StrictModel):
    """One source of an item value, written ``kind:argument`` in the data files (``form:SI.shipper.name``),
    or as a table ``{ from = "form:@.productCode", transform = ... }`` when this source needs its own transform."""

    kind: SourceKind
    argument: str = ""
    transform: tuple[TransformSpec, ...] = ()

    @classmethod
    def parse(cls, value: str | dict[str, Any]) -> Source:
        text = value if isinstance(value, str) else str(value.get("from", ""))
        kind, _, argument = text.partition(":")
        transform = () if isinstance(value, str) else parse_pipeline(value.get("transform"))
        if isinstance(value, dict) and set(value) - {"from", "transform"}:
            raise ValueError(f"source {value}: only 'from' and 'transform' are allowed")
        source = cls(kind=SourceKind(kind), argument=argument, transform=transform)
        source.check()
        return source

    def check(self) -> None:
        if self.kind in PATH_KINDS:
            if not _PATH_PATTERN.match(self.argument):
                raise ValueError(f"source {self}: not a dotted path")
            root = self.argument.split(".")[0]
            expected_roots = {
                SourceKind.FORM: FORM_ROOTS,
                SourceKind.SHARED: {"shared", "containers"},
                SourceKind.MASTER: {"master"},
                SourceKind.PREVIOUS: {"previous"},
            }[self.kind]
            if root != "@" and root not in expected_roots:
                raise ValueError(
                    f"source {self}: path must start with one of {sorted(expected_roots)}"
                )
        elif self.kind in {SourceKind.RULE, SourceKind.CONFIG} and not self.argument:
            raise ValueError(f"source {self.kind}: needs a name")

    @property
    def is_path(self) -> bool:
        return self.kind in PATH_KINDS

    @property
    def is_relative(self) -> bool:
        return self.is_path and self.argument.startswith("@")

    def __str__(self) -> str:
        return f"{self.kind}:{self.argument}" if self.argument else str(self.kind)


class ItemSpec(StrictModel):
    """One NACCS input item: its wire format, where its value comes from, and how it is transformed."""

    key: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    id: Annotated[str | None, Field(pattern=ITEM_ID_PATTERN)] = None
    name_ja: str
    name_en: str
    width: Annotated[int, Field(gt=0, le=2000)]
    type: Literal["an", "n"]
    presence: Literal["M", "C", "O"]
    group: str | None = None
    sources: tuple[Source, ...] = ()
    transform: tuple[TransformSpec, ...] = ()  # applied to sources that do not name their own
    full_width: bool = False  # the item may carry full-width (JIS X 0208) text, 2 bytes a character
    # filled in a plain FCL shipment; the basis of the auto-fill ratio
    normally_filled: bool = False
    # width/position read in a public source (✅); False = 🔶 inference, configurable
    verified: bool = False
    # the number this very code assigns (輸出管理番号 for ECR, 申告番号 for EDA): blank on a new
    # registration, sent only when correcting or cancelling
    only_on_correction: bool = False
    condition: str = ""
    note: str = ""

    @field_validator("sources", mode="before")
    @classmethod
    def _parse_sources(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return tuple(Source.parse(v) if isinstance(v, str | dict) else v for v in value)
        return value

    @field_validator("transform", mode="before")
    @classmethod
    def _parse_transform(cls, value: Any) -> Any:
        return parse_pipeline(value)

    @property
    def label(self) -> str:
        return f"{self.key} ({self.name_ja}{', ' + self.id if self.id else ''})"

    @property
    def needs_person(self) -> bool:
        return any(s.kind is SourceKind.PERSON for s in self.sources)


class GroupSpec(StrictModel):
    """A repeat group (欄). ``emit``: ``all`` writes every slot (blank slots as spaces), ``used`` only the
    filled ones (then the group must be the body's last element, so a reader can count the blocks)."""

    key: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    name_ja: str
    max_repeats: Annotated[int, Field(gt=0, le=999)]
    emit: Literal["all", "used"] = "all"
    # the collection each repeat reads its ``@.`` paths from; the first source giving a non-empty list wins
    sources: tuple[Source, ...] = ()
    verified: bool = False
    note: str = ""

    @field_validator("sources", mode="before")
    @classmethod
    def _parse_sources(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return tuple(Source.parse(v) if isinstance(v, str | dict) else v for v in value)
        return value


class FieldMap(StrictModel):
    """The declarative input layout of one business code (業務個別項目, after the 398-byte common header)."""

    code: Annotated[str, Field(pattern=BUSINESS_CODE_PATTERN)]
    name_ja: str
    completeness: Literal["full", "catalogue"]
    verified: bool = False
    note: str = ""
    groups: tuple[GroupSpec, ...] = ()
    items: tuple[ItemSpec, ...]

    @model_validator(mode="after")
    def _check_layout(self) -> FieldMap:
        keys = [i.key for i in self.items]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise ValueError(f"duplicate item keys {duplicates}")
        group_keys = {g.key for g in self.groups}
        seen_groups: list[str] = []
        previous_group: str | None = None
        for item in self.items:
            if item.group is not None and item.group not in group_keys:
                raise ValueError(f"item {item.key}: unknown group {item.group!r}")
            if item.group is not None and item.group != previous_group:
                if item.group in seen_groups:
                    raise ValueError(f"group {item.group}: its items are not contiguous")
                seen_groups.append(item.group)
            previous_group = item.group
            for source in item.sources:
                if source.is_relative and item.group is None:
                    raise ValueError(f"item {item.key}: '@.' path outside a repeat group")
        for group in self.groups:
            if group.key not in seen_groups:
                raise ValueError(f"group {group.key}: has no items")
            if group.emit == "used" and self.items[-1].group != group.key:
                raise ValueError(
                    f"group {group.key}: emit='used' requires it to be the last element"
                )
        return self

    def group(self, key: str) -> GroupSpec:
        for group in self.groups:
            if group.key == key:
                return group
        raise KeyError(key)

    def item(self, key: str) -> ItemSpec:
        for item in self.items:
            if item.key == key:
                return item
        raise KeyError(key)

    def items_by_id(self, item_id: str) -> list[ItemSpec]:
        return [i for i in self.items if i.id == item_id]

    def group_items(self, key: str) -> list[ItemSpec]:
        return [i for i in self.items if i.group == key]

    def layout(self) -> Iterator[ItemSpec | GroupSpec]:
        """Wire order: single items, and each repeat group once, at the position of its first item."""
        emitted: set[str] = set()
        for item in self.items:
            if item.group is None:
                yield item
            elif item.group not in emitted:
                emitted.add(item.group)
                yield self.group(item.group)

    def body_width(self, repeats: dict[str, int] | None = None) -> int:
        """Bytes of the body incl. one CRLF per item, with ``repeats`` blocks for ``used`` groups."""
        total = 0
        for element in self.layout():
            if isinstance(element, ItemSpec):
                total += element.width + 2
            else:
                block = sum(i.width + 2 for i in self.group_items(element.key))
                count = (
                    element.max_repeats
                    if element.emit == "all"
                    else (repeats or {}).get(element.key, 0)
                )
                total += block * count
        return total


PlanT = TypeVar("PlanT")


class FieldMapPlans(Generic[PlanT]):
    """Plans compiled once per field map (and variant, e.g. the channel charset) and reused by every call.

    Keyed by the map's identity: a field map is frozen and ``load_field_map`` returns the same object every
    time, while hashing one by value is both slow and impossible (transform arguments are dicts). The entry
    goes when its map is garbage-collected, so maps built on the fly (tests, catalogue-only maps) do not
    accumulate."""

    def __init__(self, build: Callable[..., PlanT]) -> None:
        self._build = build
        self._plans: dict[tuple[Hashable, ...], tuple[weakref.ref[FieldMap], PlanT]] = {}

    def get(self, field_map: FieldMap, *variant: Hashable) -> PlanT:
        key = (id(field_map), *variant)
        entry = self._plans.get(key)
        if entry is not None and entry[0]() is field_map:
            return entry[1]
        plan = self._build(field_map, *variant)
        plans = self._plans

        def forget(_: weakref.ref[FieldMap]) -> None:
            current = plans.get(key)
            if current is not None and current[0]() is None:
                del plans[key]

        plans[key] = (weakref.ref(field_map, forget), plan)
        return plan


FEED_PATTERN = r"^(UL[0-9]{3}|shared:[a-zA-Z]+|master:[a-zA-Z]+|naccs:[A-Z]{3}[0-9]{0,2})$"


class BusinessCode(StrictModel):
    """One entry of the catalogue of the 82 business codes."""

    seed_no: Annotated[int, Field(ge=1)]
    code: Annotated[str, Field(pattern=BUSINESS_CODE_PATTERN)]
    seed_name: str
    name_en: str
    kind: CodeKind
    parent: Annotated[str | None, Field(pattern=BUSINESS_CODE_PATTERN)] = None
    feeds: tuple[Annotated[str, Field(pattern=FEED_PATTERN)], ...]
    writes_back: tuple[Annotated[str, Field(pattern=r"^[a-z][A-Za-z]*$")], ...]
    map: Literal["full", "catalogue"] = "catalogue"
    # which of ``writes_back`` the result notice's reference line carries (輸出管理番号, 申告番号, ...)
    result_reference: Annotated[str | None, Field(pattern=r"^[a-z][A-Za-z]*$")] = None
    note: str = ""
    public_items: tuple[ItemSpec, ...] = ()

    @model_validator(mode="after")
    def _check_reference(self) -> BusinessCode:
        if self.result_reference is not None and self.result_reference not in self.writes_back:
            raise ValueError(
                f"{self.code}: result_reference {self.result_reference} is not in writes_back"
            )
        return self

    @property
    def name_ja(self) -> str:
        """The Japanese name without the seed's "海上" (sea) suffix; every code here is sea NACCS."""
        return self.seed_name.removesuffix(" 海上")

    @property
    def forms(self) -> tuple[str, ...]:
        return tuple(f for f in self.feeds if f.startswith("UL"))


class Catalogue(StrictModel):
    codes: tuple[BusinessCode, ...]

    @model_validator(mode="after")
    def _check_codes(self) -> Catalogue:
        codes = [c.code for c in self.codes]
        duplicates = sorted({c for c in codes if codes.count(c) > 1})
        if duplicates:
            raise ValueError(f"duplicate business codes {duplicates}")
        numbers = [c.seed_no for c in self.codes]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError("seed_no must run 1, 2, 3, ... in file order")
        known = set(codes)
        for entry in self.codes:
            if entry.parent is not None and entry.parent not in known:
                raise ValueError(f"{entry.code}: parent {entry.parent} is not in the catalogue")
            for feed in entry.feeds:
                if feed.startswith("naccs:") and feed.removeprefix("naccs:") not in known:
                    raise ValueError(f"{entry.code}: feed {feed} is not in the catalogue")
        return self

    def get(self, code: str) -> BusinessCode | None:
        normalized = code.strip().upper()
        return next((c for c in self.codes if c.code == normalized), None)

    def __len__(self) -> int:
        return len(self.codes)
