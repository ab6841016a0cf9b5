"""The prefill engine: from a trade bundle and a business code's field map to a NACCS form.

For every item (and every repeat of a group) the engine tries the map's sources in order, applies the named
transform, then fits the value to NACCS (allowed characters, byte width). It records where each value came from,
which items a person must still enter, and per-item issues. It never raises for bad trade data: a missing or
unusable value becomes a pending item or an issue the user sees next to the item.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel

from naccs_bridge.domain.bundle import TradeBundle
from naccs_bridge.domain.charset import (
    Charset,
    disallowed_pattern,
    encoded_length,
    first_disallowed,
    full_width_disallowed_pattern,
    half_width_is_printable_ascii,
    truncate_to_bytes,
)
from naccs_bridge.domain.specs import (
    FieldMap,
    FieldMapPlans,
    GroupSpec,
    ItemSpec,
    Source,
    SourceKind,
    StrictModel,
    TransformSpec,
    construct_trusted,
)
from naccs_bridge.domain.telegram import FormValues
from naccs_bridge.domain.transforms import (
    CONFIG_KEYS,
    PLAIN_VALUES,
    RULES,
    TRANSFORMS,
    Context,
    PrefillConfig,
    TransformFailed,
    _dump_keys,
    as_text,
    dump_field,
    field_serializer,
    model_type,
    resolve_path,
)

ENTERED = "entered"


class Provenance(StrictModel):
    """Where a value came from: the source that gave it (paths with the repeat index filled in), the
    transform applied, and the master-data row that decided it, if any."""

    kind: SourceKind | Literal["entered"]
    source: str
    transform: str | None = None
    master: str | None = None


class ItemIssue(StrictModel):
    item_key: str
    item_id: str | None
    name_ja: str
    group: str | None = None
    index: int | None = None
    severity: Literal["error", "warning"]
    message: str


class FilledItem(StrictModel):
    key: str
    item_id: str | None
    name_ja: str
    name_en: str
    group: str | None = None
    index: int | None = None
    presence: Literal["M", "C", "O"]
    normally_filled: bool
    value: str = ""
    provenance: Provenance | None = None
    # empty but required or normally filled, or invalid: a person must act
    needs_person: bool = False
    # a broker decision the bridge cannot make (may stay blank when not relevant)
    person_decision: bool = False

    @property
    def entry_key(self) -> str:
        """The key under which a person's entry for this slot is stored (``TradeBundle.entries``)."""
        return self.key if self.group is None else f"{self.group}.{self.index}.{self.key}"

    @property
    def auto_filled(self) -> bool:
        """Filled by the bridge with a value NACCS will take (an invalid value still needs a person)."""
        return (
            bool(self.value)
            and not self.needs_person
            and self.provenance is not None
            and self.provenance.kind != ENTERED
        )


class NaccsForm(StrictModel):
    code: str
    items: tuple[FilledItem, ...]
    issues: tuple[ItemIssue, ...]

    @property
    def pending_for_person(self) -> tuple[FilledItem, ...]:
        return tuple(item for item in self.items if item.needs_person)

    @property
    def ready_to_send(self) -> bool:
        return not self.pending_for_person and not any(i.severity == "error" for i in self.issues)

    def get(self, key: str, index: int | None = None) -> FilledItem:
        for item in self.items:
            if item.key == key and item.index == index:
                return item
        raise KeyError((key, index))

    def values(self) -> FormValues:
        """The values for the telegram codec."""
        items: dict[str, str] = {}
        groups: dict[str, list[dict[str, str]]] = {}
        for item in self.items:
            fields = (
                item.__dict__
            )  # the field values (read once; attribute access per field costs more)
            group = fields["group"]
            if group is None:
                items[fields["key"]] = fields["value"]
                continue
            blocks = groups.get(group)
            if blocks is None:
                blocks = groups[group] = []
            index: int = fields["index"]
            while len(blocks) <= index:
                blocks.append({})
            blocks[index][fields["key"]] = fields["value"]
        for blocks in groups.values():
            while blocks and not any(blocks[-1].values()):
                blocks.pop()  # trailing blank repeats carry nothing; the codec pads 'all' groups itself
        # plain str dicts built here: validating them again would only copy them
        return construct_trusted(FormValues, set(), {"items": items, "groups": groups})


class AutofillReport(StrictModel):
    """How much of a code's normally-filled items the bridge filled without a person."""

    code: str
    normally_filled: int
    auto_filled: int
    remaining_for_person: tuple[str, ...]  # item keys (group.index.key in groups)
    by_source: dict[str, int]

    @property
    def ratio(self) -> float:
        return self.auto_filled / self.normally_filled if self.normally_filled else 1.0


def _substitute(source: Source, group_source: str | None, index: int | None) -> str:
    if source.is_relative and group_source is not None:
        return f"{group_source}.{index}{source.argument[1:]}"
    return str(source)


class _Resolution(NamedTuple):
    value: str
    provenance: Provenance | None
    failures: tuple[str, ...] = ()  # why the sources that had data could not be used


class _Engine:
    def __init__(
        self, field_map: FieldMap, bundle: TradeBundle, config: PrefillConfig, charset: Charset
    ):
        self.field_map = field_map
        self.bundle = bundle
        self.charset = charset
        self.ctx = Context(bundle=bundle, config=config)
        self.issues: list[ItemIssue] = []

    def issue(
        self,
        item: ItemSpec,
        index: int | None,
        severity: Literal["error", "warning"],
        message: str,
    ) -> None:
        self.issues.append(
            ItemIssue(
                item_key=item.key,
                item_id=item.id,
                name_ja=item.name_ja,
                group=item.group,
                index=index,
                severity=severity,
                message=message,
            )
        )

    def group_elements(self, group: GroupSpec) -> tuple[list[Any], str | None]:
        for source in group.sources:
            found: Any = None
            if source.is_path:
                found = resolve_path(self.ctx.tree, source.argument)
            elif source.kind is SourceKind.RULE:
                try:
                    found = RULES[source.argument](self.ctx)
                except TransformFailed:
                    found = None
            if isinstance(found, list) and found:
                return found, str(source)
        return [], None

    def fill(self) -> NaccsForm:
        filled: list[FilledItem] = []
        for element in self.field_map.layout():
            if isinstance(element, ItemSpec):
                self.ctx.element = None
                filled.append(self.fill_item(element, None, None))
                continue
            members = self.field_map.group_items(element.key)
            elements, group_source = self.group_elements(element)
            if len(elements) > element.max_repeats:
                self.issue(
                    members[0],
                    None,
                    "error",
                    f"{len(elements)} repeats of {element.name_ja}, NACCS takes {element.max_repeats}",
                )
                elements = elements[: element.max_repeats]
            if not elements and any(m.normally_filled or m.presence == "M" for m in members):
                elements = [None]  # one empty repeat, so its items show up as pending
            for index, row in enumerate(elements):
                self.ctx.element = row
                for member in members:
                    filled.append(self.fill_item(member, index, group_source))
        return NaccsForm(code=self.field_map.code, items=tuple(filled), issues=tuple(self.issues))

    def resolve(self, item: ItemSpec, index: int | None, group_source: str | None) -> _Resolution:
        """The item's value from its sources, first usable one wins."""
        failures: list[str] = []
        for source in item.sources:
            if source.kind is SourceKind.PERSON:
                break
            if source.kind is SourceKind.SYSTEM:
                return _Resolution("", Provenance(kind=SourceKind.SYSTEM, source=str(source)))
            raw: Any
            if source.kind is SourceKind.CONST:
                raw = source.argument
            elif source.kind is SourceKind.CONFIG:
                raw = getattr(self.ctx.config, source.argument, None)
            elif source.kind is SourceKind.RULE:
                try:
                    raw = RULES[source.argument](self.ctx)
                except TransformFailed as exc:
                    failures.append(f"{source}: {exc.reason}")
                    continue
            else:
                element = self.ctx.element if source.is_relative else None
                raw = resolve_path(self.ctx.tree, source.argument, element)
            if raw is None or raw == "" or raw == []:
                continue
            pipeline = source.transform or item.transform
            try:
                text, master = self.apply(raw, pipeline)
            except TransformFailed as exc:
                failures.append(f"{source}: {exc.reason}")
                continue
            if not text:
                continue
            # A form value turned into the NACCS value by master data (法人番号, call sign, HS code) is
            # counted as master data: without the master the form alone would not have filled it.
            kind = SourceKind.MASTER if master and source.kind is SourceKind.FORM else source.kind
            provenance = Provenance(
                kind=kind,
                source=_substitute(source, group_source, index),
                transform=" > ".join(t.name for t in pipeline) or None,
                master=master,
            )
            return _Resolution(text, provenance)
        return _Resolution("", None, failures=tuple(failures))

    def apply(self, raw: Any, pipeline: tuple[TransformSpec, ...]) -> tuple[str, str | None]:
        if not pipeline:
            return as_text(raw), None
        value: Any = raw
        master: str | None = None
        for step in pipeline:
            derived = TRANSFORMS[step.name](value, self.ctx, step.args)
            value, master = derived.value, derived.master or master
        return str(value), master

    def fit(self, item: ItemSpec, index: int | None, value: str) -> tuple[str, bool]:
        """(value fitted to the item, still valid). Text too long is cut on a character boundary (T3)."""
        bad = first_disallowed(value, numeric=item.type == "n", full_width=item.full_width)
        if bad is not None:
            self.issue(
                item,
                index,
                "error",
                f"character {value[bad]!r} at position {bad} is not allowed by NACCS in this item",
            )
            return value, False
        size = encoded_length(value, self.charset)
        if size <= item.width:
            return value, True
        if item.type == "n":
            self.issue(item, index, "error", f"{value} does not fit {item.width} digits")
            return value, False
        cut = truncate_to_bytes(value, item.width, self.charset)
        self.issue(
            item,
            index,
            "warning",
            f"shortened from {size} to {item.width} bytes: {value[len(cut) :]!r} cut",
        )
        return cut, True

    def fill_item(self, item: ItemSpec, index: int | None, group_source: str | None) -> FilledItem:
        entry_key = item.key if item.group is None else f"{item.group}.{index}.{item.key}"
        entered = self.bundle.entries.get(entry_key)
        if entered:
            resolution = _Resolution(entered, Provenance(kind=ENTERED, source=entry_key))
        elif item.only_on_correction and self.bundle.processing == "new":
            resolution = _Resolution("", Provenance(kind=SourceKind.SYSTEM, source="system"))
        else:
            resolution = self.resolve(item, index, group_source)
        value, provenance = resolution.value, resolution.provenance
        valid = True
        if value:
            value, valid = self.fit(item, index, value)
        missing = (
            not value
            and (item.presence == "M" or item.normally_filled)
            and not (provenance is not None and provenance.kind is SourceKind.SYSTEM)
        )
        if missing:
            # Only the reasons of items a person now has to fill are worth showing; an optional item
            # whose data is absent is the normal case.
            for failure in resolution.failures:
                self.issue(item, index, "warning", failure)
        return FilledItem(
            key=item.key,
            item_id=item.id,
            name_ja=item.name_ja,
            name_en=item.name_en,
            group=item.group,
            index=index,
            presence=item.presence,
            normally_filled=item.normally_filled,
            value=value,
            provenance=provenance,
            needs_person=missing or not valid,
            person_decision=item.needs_person,
        )


def reference_prefill(
    field_map: FieldMap,
    bundle: TradeBundle,
    config: PrefillConfig,
    *,
    charset: Charset = Charset.SHIFT_JIS,
) -> NaccsForm:
    """The field map interpreted item by item, as written: the specification of :func:`prefill`, which must
    give exactly the same form (tests compare both), and the bench's baseline."""
    return _Engine(field_map, bundle, config, charset).fill()


def prefill(
    field_map: FieldMap,
    bundle: TradeBundle,
    config: PrefillConfig,
    *,
    charset: Charset = Charset.SHIFT_JIS,
) -> NaccsForm:
    """Fill a business code's form from the trade bundle (see the module docstring), with the map's plan
    compiled once (:func:`compile_plan`); the same form as :func:`reference_prefill`."""
    plan = _PLANS.get(field_map)
    form = plan.generated.fill(_PlanRun(plan, bundle, config, charset))
    if form is None:  # a value the deferred character check refuses: the plan, in order, reports it
        form = _PlanRun(plan, bundle, config, charset).fill()
    return form


def interpreted_prefill(
    field_map: FieldMap,
    bundle: TradeBundle,
    config: PrefillConfig,
    *,
    charset: Charset = Charset.SHIFT_JIS,
) -> NaccsForm:
    """:func:`prefill` by the compiled plan interpreted item by item, without the generated function
    (the fallback of the generated code; tests compare all three with :func:`reference_prefill`)."""
    return _PlanRun(_PLANS.get(field_map), bundle, config, charset).fill()


# ------------------------------------------------------------------------------------------ compiled plan
#
# Everything :class:`_Engine` derives from the map on every call (source kinds, split paths, pipelines,
# provenance labels, entry keys, the character-check pattern, wire order) is derived once per field map.
# Values are then built from the bundle with the same transforms and rules, in the same order, so the
# form is identical; the rare paths (a person's entry, a value NACCS refuses or that must be cut, a
# failing source) run the reference code itself.

_PATH_LIST_INDEX = -1  # marks a path segment that is not a list index


@dataclass(frozen=True, slots=True)
class _SourcePlan:
    source: Source
    kind: SourceKind
    argument: str
    # path sources: (segment, list index or -1) after the root (``@`` for a repeat's row)
    steps: tuple[tuple[str, int], ...]
    root: str | None  # the first path segment; None for ``@.`` paths and non-path sources
    key: str | None  # the only segment after the root, when there is exactly one and it names a key
    relative: bool
    pipeline: tuple[tuple[str, Mapping[str, str | int]], ...]
    transform_label: str | None
    label: str  # str(source)
    # the provenance of a value from this source without master data (built once; models are frozen)
    provenance: Provenance
    # per (group source, repeat index), for ``@.`` paths
    relative_provenance: dict[tuple[str, int], Provenance]


@dataclass(frozen=True, slots=True)
class _ItemPlan:
    item: ItemSpec
    key: str
    group: str | None
    entry_keys: tuple[str, ...]  # by repeat index (one, the key itself, outside groups)
    sources: tuple[_SourcePlan, ...]
    only_on_correction: bool
    required: bool  # presence M or normally filled: empty means a person must act
    numeric: bool
    full_width_text: bool  # an item that takes full-width text
    width: int
    refused: Callable[[str], re.Match[str] | None]  # finds a character NACCS refuses in this item
    # the FilledItem fields, those that depend on the item only filled in (copied for each value)
    fields: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _GroupPlan:
    group: GroupSpec
    members: tuple[_ItemPlan, ...]
    one_blank_repeat: bool  # with no data, one empty repeat still shows (its items are pending)


@dataclass(frozen=True, slots=True)
class _Plan:
    field_map: FieldMap
    layout: tuple[_ItemPlan | _GroupPlan, ...]
    # the layout written out as one Python function (see "generated code" below)
    generated: _GeneratedFill


def _walk(current: Any, steps: tuple[tuple[str, int], ...]) -> Any:
    """:func:`resolve_path` over split segments (same results, the path is not split on every call)."""
    for segment, index in steps:
        if type(current) is dict or isinstance(current, Mapping):
            current = current.get(segment)
        elif isinstance(current, list) and index != _PATH_LIST_INDEX:
            current = current[index] if index < len(current) else None
        else:
            return None
        if current is None:
            return None
    return current


def _compile_source(source: Source, item_pipeline: tuple[TransformSpec, ...]) -> _SourcePlan:
    segments = source.argument.split(".") if source.is_path else []
    relative = source.is_relative
    pipeline = source.transform or item_pipeline
    transform_label = " > ".join(step.name for step in pipeline) or None
    label = str(source)
    if source.kind is SourceKind.SYSTEM:
        provenance = Provenance(kind=SourceKind.SYSTEM, source=label)
    else:
        provenance = Provenance(
            kind=source.kind, source=label, transform=transform_label, master=None
        )
    return _SourcePlan(
        source=source,
        kind=source.kind,
        argument=source.argument,
        steps=tuple(
            (segment, int(segment) if segment.isascii() and segment.isdigit() else _PATH_LIST_INDEX)
            for segment in segments[1:]
        ),
        root=None if relative or not segments else segments[0],
        key=segments[1] if len(segments) == 2 and not segments[1].isdigit() else None,
        relative=relative,
        pipeline=tuple((step.name, step.args) for step in pipeline),
        transform_label=transform_label,
        label=label,
        provenance=provenance,
        relative_provenance={},
    )


def _compile_item(item: ItemSpec, repeats: int) -> _ItemPlan:
    if item.group is None:
        entry_keys: tuple[str, ...] = (item.key,)
    else:
        entry_keys = tuple(f"{item.group}.{index}.{item.key}" for index in range(repeats))
    return _ItemPlan(
        item=item,
        key=item.key,
        group=item.group,
        entry_keys=entry_keys,
        sources=tuple(_compile_source(source, item.transform) for source in item.sources),
        only_on_correction=item.only_on_correction,
        required=item.presence == "M" or item.normally_filled,
        numeric=item.type == "n",
        full_width_text=item.full_width and item.type != "n",
        width=item.width,
        refused=(
            full_width_disallowed_pattern()
            if item.full_width and item.type != "n"
            else disallowed_pattern(item.type == "n")
        ).search,
        fields={
            "key": item.key,
            "item_id": item.id,
            "name_ja": item.name_ja,
            "name_en": item.name_en,
            "group": item.group,
            "index": None,
            "presence": item.presence,
            "normally_filled": item.normally_filled,
            "value": "",
            "provenance": None,
            "needs_person": False,
            "person_decision": item.needs_person,
        },
    )


def _check_filled_item_fields(plan: _ItemPlan) -> _ItemPlan:
    if list(plan.fields) != list(FilledItem.model_fields):
        raise TypeError(
            "the compiled plan does not know every FilledItem field; update _compile_item"
        )
    return plan


def compile_plan(field_map: FieldMap) -> _Plan:
    """The map's execution plan (cached per map by :data:`_PLANS`)."""
    layout: list[_ItemPlan | _GroupPlan] = []
    for element in field_map.layout():
        if isinstance(element, ItemSpec):
            layout.append(_check_filled_item_fields(_compile_item(element, 1)))
            continue
        members = field_map.group_items(element.key)
        layout.append(
            _GroupPlan(
                group=element,
                members=tuple(
                    _check_filled_item_fields(_compile_item(m, element.max_repeats))
                    for m in members
                ),
                one_blank_repeat=any(m.normally_filled or m.presence == "M" for m in members),
            )
        )
    frozen = tuple(layout)
    return _Plan(field_map=field_map, layout=frozen, generated=_generate_fill(field_map, frozen))


_PLANS: FieldMapPlans[_Plan] = FieldMapPlans(compile_plan)

_FILLED_FIELDS = frozenset(FilledItem.model_fields)
_PROVENANCE_FIELDS = frozenset(Provenance.model_fields)
_UNREAD = object()
_FORM_FIELDS = frozenset(NaccsForm.model_fields)
_NOT_ENTERED_ON_NEW = Provenance(kind=SourceKind.SYSTEM, source="system")


class _PlanRun(_Engine):
    """One prefill by the plan. Inherits the reference engine's rare paths (issues, fitting a value that
    is refused or too long, group sources), so they stay one piece of code."""

    def __init__(
        self, plan: _Plan, bundle: TradeBundle, config: PrefillConfig, charset: Charset
    ) -> None:
        super().__init__(plan.field_map, bundle, config, charset)
        self.plan = plan
        self.entries = bundle.entries
        self.new = bundle.processing == "new"
        # the bundle's top-level parts read so far (the tree is lazy; a dict lookup is cheaper)
        self.roots: dict[str, Any] = {}

    def fill(self) -> NaccsForm:
        filled: list[FilledItem] = []
        ctx = self.ctx
        for element in self.plan.layout:
            if isinstance(element, _ItemPlan):
                ctx.element = None
                filled.append(self.fill_planned(element, 0, None))
                continue
            group = element.group
            elements, group_source = self.group_elements(group)
            if len(elements) > group.max_repeats:
                self.issue(
                    element.members[0].item,
                    None,
                    "error",
                    f"{len(elements)} repeats of {group.name_ja}, NACCS takes {group.max_repeats}",
                )
                elements = elements[: group.max_repeats]
            if not elements and element.one_blank_repeat:
                elements = [None]
            for index, row in enumerate(elements):
                ctx.element = row
                for member in element.members:
                    filled.append(self.fill_planned(member, index, group_source))
        return construct_trusted(
            NaccsForm,
            set(_FORM_FIELDS),
            {"code": self.field_map.code, "items": tuple(filled), "issues": tuple(self.issues)},
        )

    def resolve_planned(
        self, plan: _ItemPlan, index: int, group_source: str | None
    ) -> tuple[str, Provenance | None, list[str]]:
        """:meth:`_Engine.resolve` over the compiled sources: (value, provenance, failures)."""
        failures: list[str] = []
        ctx = self.ctx
        roots = self.roots
        for source in plan.sources:
            kind = source.kind
            raw: Any
            if source.root is not None:
                raw = roots.get(source.root, _UNREAD)
                if raw is _UNREAD:
                    raw = roots[source.root] = ctx.tree.get(source.root)
                if type(raw) is dict and source.key is not None:  # most paths: SI.bookingNo
                    raw = raw.get(source.key)
                elif raw is not None and source.steps:
                    raw = _walk(raw, source.steps)
            elif source.relative:
                raw = ctx.element
                if raw is not None:
                    raw = _walk(raw, source.steps)
            elif kind is SourceKind.PERSON:
                break
            elif kind is SourceKind.SYSTEM:
                return "", source.provenance, failures
            elif kind is SourceKind.CONST:
                raw = source.argument
            elif kind is SourceKind.CONFIG:
                raw = getattr(ctx.config, source.argument, None)
            else:  # a rule
                try:
                    raw = RULES[source.argument](ctx)
                except TransformFailed as exc:
                    failures.append(f"{source.label}: {exc.reason}")
                    continue
            # the reference's ``raw is None or raw == "" or raw == []``, without comparing every value
            if raw is None or (not raw and isinstance(raw, str | list)):
                continue
            master: str | None = None
            try:
                if not source.pipeline:
                    text = as_text(raw)
                else:
                    value: Any = raw
                    for name, args in source.pipeline:
                        derived = TRANSFORMS[name](value, ctx, args)
                        value, master = derived.value, derived.master or master
                    text = str(value)
            except TransformFailed as exc:
                failures.append(f"{source.label}: {exc.reason}")
                continue
            if not text:
                continue
            if master:
                provenance = construct_trusted(
                    Provenance,
                    set(_PROVENANCE_FIELDS),
                    {
                        "kind": SourceKind.MASTER if kind is SourceKind.FORM else kind,
                        "source": _substitute(source.source, group_source, index),
                        "transform": source.transform_label,
                        "master": master,
                    },
                )
            elif source.relative and group_source is not None:
                provenance = self.relative_provenance(source, group_source, index)
            else:
                provenance = source.provenance
            return text, provenance, failures
        return "", None, failures

    @staticmethod
    def relative_provenance(source: _SourcePlan, group_source: str, index: int) -> Provenance:
        key = (group_source, index)
        known = source.relative_provenance.get(key)
        if known is None:
            # bounded: a map's group sources times the group's repeats
            known = source.relative_provenance[key] = Provenance(
                kind=source.kind,
                source=_substitute(source.source, group_source, index),
                transform=source.transform_label,
                master=None,
            )
        return known

    def fill_planned(self, plan: _ItemPlan, index: int, group_source: str | None) -> FilledItem:
        """:meth:`_Engine.fill_item` with the plan's precomputed parts."""
        item = plan.item
        entered = self.entries.get(plan.entry_keys[index]) if self.entries else None
        provenance: Provenance | None
        failures: list[str] = []
        if entered:
            value, provenance = entered, Provenance(kind=ENTERED, source=plan.entry_keys[index])
        elif plan.only_on_correction and self.new:
            value, provenance = "", _NOT_ENTERED_ON_NEW
        else:
            value, provenance, failures = self.resolve_planned(plan, index, group_source)
        valid = True
        if value:
            # fit() only when it would change something: a refused character or too many bytes
            if plan.refused(value) is not None:
                fits = False
            elif value.isascii():  # 1 byte a character in every channel charset
                fits = len(value) <= plan.width
            else:
                fits = plan.full_width_text and len(value.encode(self.charset)) <= plan.width
            if not fits:
                value, valid = self.fit(item, None if plan.group is None else index, value)
        missing = (
            not value
            and plan.required
            and not (provenance is not None and provenance.kind is SourceKind.SYSTEM)
        )
        if missing:
            for failure in failures:
                self.issue(item, None if plan.group is None else index, "warning", failure)
        fields = plan.fields.copy()  # keeps the field order of a validated FilledItem
        if plan.group is not None:
            fields["index"] = index
        fields["value"] = value
        fields["provenance"] = provenance
        fields["needs_person"] = missing or not valid
        return construct_trusted(FilledItem, set(_FILLED_FIELDS), fields)


# ---------------------------------------------------------------------------------------- generated code
#
# The plan above is still interpreted: for every item Python walks the sources, tests their kinds and reads
# their fields. Here the same decisions are written out once per map as the source of one function
# (``compile``d and cached with the plan), so a telegram runs straight-line code: one block per item, the
# sources in order with their path steps, rule, transforms and provenance as constants, the entry key, the
# fit check and the ``FilledItem`` fields in place. It does what :meth:`_PlanRun.fill` does, in the same
# order, calling the same transforms, rules and reference code for the rare paths (a person's entry, a value
# that must be cut or is refused, a failing source, too many repeats), with one change of order: the
# character check of ASCII values that fit their width is made for all of them at once at the end (one
# regex search per item class instead of one per value). Should that search find a refused character, the
# generated function returns None and the plan is run instead, which reports it where it belongs.

# the slots of a pydantic model (``construct_trusted`` without a call and its ``object.__setattr__`` lookups)
_SET_DICT = BaseModel.__dict__["__dict__"].__set__
_SET_FIELDS_SET = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_SET_EXTRA = BaseModel.__dict__["__pydantic_extra__"].__set__
_SET_PRIVATE = BaseModel.__dict__["__pydantic_private__"].__set__
# values written as literals in the generated source; anything else is passed as a named constant
_LITERAL_TYPES = (str, int, bool, type(None))


@dataclass(frozen=True, slots=True)
class _GeneratedFill:
    fill: Callable[[_PlanRun], NaccsForm | None]
    source: str  # the generated Python, for reading and debugging


class _Writer:
    """Lines of generated Python with their indentation, and the objects they refer to by name."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 1
        self.namespace: dict[str, Any] = {}
        self.roots: dict[str, str] = {}  # bundle part in the tree -> local variable
        self.parts: dict[str, tuple[str, str]] = {}  # bundle part -> (local variable, its model)
        self.deferred_lists: set[bool] = set()  # numeric or not: see deferred()

    def __call__(self, line: str) -> None:
        self.lines.append("    " * self.depth + line)

    def value(self, value: Any, hint: str = "c") -> str:
        """``value`` as an expression: a literal, or the name of a constant."""
        if type(value) in _LITERAL_TYPES:
            return repr(value)
        name = f"_{hint}{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def root(self, part: str) -> str:
        if part not in self.roots:
            self.roots[part] = f"root_{len(self.roots)}"
        return self.roots[part]

    def part(self, name: str, model: type[BaseModel]) -> str:
        """The local holding the bundle's part ``name`` (a ``model`` or None, checked on entry)."""
        if name not in self.parts:
            self.parts[name] = (f"part_{len(self.parts)}", self.value(model, "model"))
        return self.parts[name][0]

    def deferred(self, numeric: bool) -> str:
        """The list collecting the ASCII values of n items, or of the others, checked at the end. The
        full-width table is the half-width one plus non-ASCII characters, so on ASCII text both agree."""
        self.deferred_lists.add(numeric)
        return "deferred_numeric" if numeric else "deferred_text"


def _model_path(source: _SourcePlan) -> tuple[str, list[tuple[type[BaseModel], str]]] | None:
    """For a path through model fields only (``SI.bookingNo``, ``BK.vessel.name``; no list index): the
    bundle part's field and, step by step, the model class read and the field name. None otherwise."""
    if source.root is None:
        return None
    part = _dump_keys(TradeBundle).get(source.root)
    model = model_type(TradeBundle.model_fields[part].annotation) if part is not None else None
    if part is None or model is None or not source.steps:
        return None
    steps: list[tuple[type[BaseModel], str]] = []
    for number, (segment, index) in enumerate(source.steps):
        name = _dump_keys(model).get(segment) if index == _PATH_LIST_INDEX else None
        if name is None:
            return None
        steps.append((model, name))
        if number < len(source.steps) - 1:
            inner = model_type(model.model_fields[name].annotation)
            if inner is None:
                return None
            model = inner
    return part, steps


def _emit_model_path(w: _Writer, part: str, steps: list[tuple[type[BaseModel], str]]) -> None:
    """``raw`` read from the bundle's models: what the tree gives, without dumping the part (the leaf is
    dumped alone, by :func:`dump_field`, unless it is a plain value). A model of another class than its
    field's (a bundle built without validation) leaves the form to the plan, which reads the tree."""
    value = w.part(part, steps[0][0])
    for number, (model, name) in enumerate(steps):
        if number == 0:
            w(f"raw = {value}.{name} if {value} is not None else None")
        else:
            w("if raw is not None:")
            w(f"    if type(raw) is not {w.value(model, 'model')}:")
            w("        return None")
            w("    parent = raw")
            w(f"    raw = raw.{name}")
    parent = value if len(steps) == 1 else "parent"
    model, name = steps[-1]
    serializer = field_serializer(model, name)
    w("if raw is not None and type(raw) not in _PLAIN_VALUES:")
    if serializer is None:
        w(f"    raw = _dump_field({parent}, {name!r}, raw)")
    else:  # dump_field's serializer, bound here (the parent's class was checked above)
        w(
            f"    raw = {w.value(serializer.to_python, 'serializer')}(raw, by_alias=True, exclude_none=True)"
        )


def _emit_raw(w: _Writer, source: _SourcePlan) -> None:
    """``raw``: the source's value before transforms (``fails`` on a rule that fails)."""
    kind = source.kind
    model_path = _model_path(source)
    if model_path is not None:
        _emit_model_path(w, *model_path)
    elif source.root is not None or source.relative:
        if source.relative:
            base = "row"
        else:
            base = w.root(source.root or "")
            w(f"if {base} is _UNREAD:")
            w(f"    {base} = tree.get({source.root!r})")
        steps = w.value(source.steps, "steps")
        walk = f"_walk({base}, {steps}) if {base} is not None else None" if source.steps else base
        if source.key is not None:  # SI.bookingNo, @.code: most paths
            w(f"raw = {base}.get({source.key!r}) if type({base}) is dict else {walk}")
        else:
            w(f"raw = {walk}")
    elif kind is SourceKind.CONST:
        w(f"raw = {source.argument!r}")
    elif kind is SourceKind.CONFIG:
        w(f"raw = getattr(config, {source.argument!r}, None)")
    else:  # a rule; an unknown name raises KeyError when read, as in the reference
        rule = w.value(RULES[source.argument], "rule") if source.argument in RULES else None
        w("try:")
        w(f"    raw = {rule or f'RULES[{source.argument!r}]'}(ctx)")
        w("except TransformFailed as exc:")
        w("    if fails is None:")
        w("        fails = []")
        w(f'    fails.append({source.label!r} + f": {{exc.reason}}")')
        w("    raw = None")


def _emit_source(w: _Writer, source: _SourcePlan, in_group: bool) -> None:
    """Sets ``value`` and ``prov`` when the source gives a value (the caller tests ``prov is None``)."""
    _emit_raw(w, source)
    w("if raw is not None and (raw or not isinstance(raw, _STR_OR_LIST)):")
    w.depth += 1
    w("try:")
    if not source.pipeline:
        w("    text = as_text(raw)")
    for number, (name, args) in enumerate(source.pipeline):
        function = (
            w.value(TRANSFORMS[name], "transform")
            if name in TRANSFORMS
            else f"TRANSFORMS[{name!r}]"
        )
        argument = "raw" if number == 0 else "derived"
        target = "derived, master" if number == 0 else "derived, step_master"
        w(f"    {target} = {function}({argument}, ctx, {w.value(args, 'args')})")
        if number:
            w("    master = step_master or master")
    if source.pipeline:
        w("    text = derived if type(derived) is str else str(derived)")
    w("except TransformFailed as exc:")
    w("    if fails is None:")
    w("        fails = []")
    w(f'    fails.append({source.label!r} + f": {{exc.reason}}")')
    w("else:")
    w("    if text:")
    w.depth += 2
    w("value = text")
    # a source that gives a value leaves no failures (the reference's _Resolution)
    w("fails = None")
    provenance = w.value(source.provenance, "provenance")
    plain = provenance
    if source.relative and in_group:  # _PlanRun.relative_provenance, its cache read here
        known = w.value(source.relative_provenance, "relative")
        plain = (
            f"({known}.get((group_source, index))"
            f" or _relative_provenance({w.value(source, 'source')}, group_source, index))"
            f" if group_source is not None else {provenance}"
        )
    if source.pipeline:
        label = (
            f"_substitute({w.value(source.source, 'spec')}, group_source, index)"
            if source.relative and in_group
            else repr(source.label)
        )
        kind = SourceKind.MASTER if source.kind is SourceKind.FORM else source.kind
        w("if master:")  # construct_trusted(Provenance, ...) written out
        w("    prov = _new(Provenance)")
        w("    _SET_DICT(prov, {")
        w(f'        "kind": {w.value(kind, "kind")}, "source": {label},')
        w(f'        "transform": {source.transform_label!r}, "master": master}})')
        w("    _SET_FIELDS_SET(prov, set(_PROVENANCE_FIELDS))")
        w("    _SET_EXTRA(prov, None)")
        w("    _SET_PRIVATE(prov, None)")
        w("else:")
        w(f"    prov = {plain}")
    else:
        w(f"prov = {plain}")
    w.depth -= 3


def _emit_item(w: _Writer, plan: _ItemPlan, in_group: bool) -> None:
    index = "index" if in_group else "None"
    item = w.value(plan.item, "item")
    w(f"# {plan.key}")
    w('value = ""')
    w("prov = None")
    w("fails = None")
    entry_key = w.value(plan.entry_keys, "entry_keys") + "[index]" if in_group else repr(plan.key)
    w(f"entered = entries.get({entry_key}) if entries else None")
    w("if entered:")
    w("    value = entered")
    w(f"    prov = Provenance(kind=ENTERED, source={entry_key})")
    if plan.only_on_correction:
        w("elif new:")
        w("    prov = _NOT_ENTERED_ON_NEW")
    w("else:")
    w.depth += 1
    emitted = False
    for source in plan.sources:
        if source.kind is SourceKind.PERSON:
            break
        if emitted:
            w("if prov is None:")
            w.depth += 1
        if source.kind is SourceKind.SYSTEM:
            w(f"prov = {w.value(source.provenance, 'provenance')}")
            w("fails = None")
        else:
            _emit_source(w, source, in_group)
        if emitted:
            w.depth -= 1
        emitted = True
        if source.kind is SourceKind.SYSTEM:
            break
    if not emitted:
        w("pass")
    w.depth -= 1
    # fitting: an ASCII value within the width is kept, its characters checked at the end with the others
    # of its class; anything else goes through the plan's check and the reference's fit()
    w("needs = False")
    w("if value:")
    w(f"    if value.isascii() and len(value) <= {plan.width}:")
    w(f"        {w.deferred(plan.numeric)}.append(value)")
    w("    else:")
    if plan.full_width_text:
        refused = w.value(plan.refused, "refused")
        w(
            f"        if {refused}(value) is not None or value.isascii()"
            f" or len(value.encode(charset)) > {plan.width}:"
        )
        w(f"            value, fits = fit({item}, {index}, value)")
        w("            needs = not fits")
    else:  # a non-ASCII value in a half-width or n item: refused (or cut) by fit()
        w(f"        value, fits = fit({item}, {index}, value)")
        w("        needs = not fits")
    if plan.required:
        w("if not value and (prov is None or prov.kind is not _SYSTEM):")
        w("    needs = True")
        w("    if fails:")
        w("        for failure in fails:")
        w(f'            issue({item}, {index}, "warning", failure)')
    dynamic = {"index": index, "value": "value", "provenance": "prov", "needs_person": "needs"}
    fields = ", ".join(
        f"{name!r}: {dynamic[name] if name in dynamic and (name != 'index' or in_group) else w.value(constant)}"
        for name, constant in plan.fields.items()
    )
    w("filled = _new(_FilledItem)")
    w(f"_SET_DICT(filled, {{{fields}}})")
    w("_SET_FIELDS_SET(filled, set(_FILLED_FIELDS))")
    w("_SET_EXTRA(filled, None)")
    w("_SET_PRIVATE(filled, None)")
    w("add(filled)")


def _emit_group_elements(w: _Writer, group: GroupSpec) -> None:
    """``elements`` and ``group_source`` as :meth:`_Engine.group_elements` finds them."""
    w("elements = None")
    w("group_source = None")
    for number, spec in enumerate(group.sources):
        source = _compile_source(spec, ())
        model_path = _model_path(source)
        if model_path is None and not (spec.is_path or spec.kind is SourceKind.RULE):
            continue  # gives nothing (the reference's ``found = None``)
        if number:
            w("if elements is None:")
            w.depth += 1
        if model_path is not None:
            _emit_model_path(w, *model_path)
        elif spec.is_path:
            w(f"raw = resolve_path(tree, {spec.argument!r})")
        else:
            rule = w.value(RULES[spec.argument], "rule") if spec.argument in RULES else None
            w("try:")
            w(f"    raw = {rule or f'RULES[{spec.argument!r}]'}(ctx)")
            w("except TransformFailed:")
            w("    raw = None")
        w("if isinstance(raw, list) and raw:")
        w("    elements = raw")
        w(f"    group_source = {source.label!r}")
        if number:
            w.depth -= 1
    w("if elements is None:")
    w("    elements = []")


def _emit_group(w: _Writer, plan: _GroupPlan) -> None:
    group = plan.group
    w(f"# group {group.key}")
    _emit_group_elements(w, group)
    w(f"if len(elements) > {group.max_repeats}:")
    message = f" repeats of {group.name_ja}, NACCS takes {group.max_repeats}"
    w(
        f'    issue({w.value(plan.members[0].item, "item")}, None, "error",'
        f" str(len(elements)) + {message!r})"
    )
    w(f"    elements = elements[:{group.max_repeats}]")
    if plan.one_blank_repeat:
        w("if not elements:")
        w("    elements = [None]")
    w("for index, row in enumerate(elements):")
    w.depth += 1
    w("ctx.element = row")
    for member in plan.members:
        _emit_item(w, member, in_group=True)
    w.depth -= 1


def _generate_fill(
    field_map: FieldMap, layout: tuple[_ItemPlan | _GroupPlan, ...]
) -> _GeneratedFill:
    """The map's prefill as one generated function (see above); None from it means: run the plan."""
    w = _Writer()
    after_group = True
    for element in layout:
        if isinstance(element, _ItemPlan):
            if after_group:
                w("ctx.element = None")
                after_group = False
            _emit_item(w, element, in_group=False)
        else:
            _emit_group(w, element)
            after_group = True
    body = w.lines
    w.lines = []
    if True in w.deferred_lists:
        w("if deferred_numeric and _NUMERIC_REFUSED(''.join(deferred_numeric)) is not None:")
        w("    return None")
    if False in w.deferred_lists:
        if half_width_is_printable_ascii():
            w("if deferred_text and not ''.join(deferred_text).isprintable():")
        else:
            w("if deferred_text and _TEXT_REFUSED(''.join(deferred_text)) is not None:")
        w("    return None")
    w("return _construct(NaccsForm, set(_FORM_FIELDS), {")
    w(f'    "code": {field_map.code!r}, "items": tuple(items), "issues": tuple(run.issues)}})')
    tail = w.lines
    head = [
        f"def fill_{field_map.code}(run):",
        "    ctx = run.ctx",
        "    tree = ctx.tree",
        "    config = ctx.config",
        "    entries = run.entries",
        "    new = run.new",
        "    charset = run.charset",
        "    fit = run.fit",
        "    issue = run.issue",
        "    items = []",
        "    add = items.append",
        "    row = None",
        "    group_source = None",
        *(f"    deferred_{'numeric' if numeric else 'text'} = []" for numeric in w.deferred_lists),
        *(f"    {local} = _UNREAD" for local in w.roots.values()),
        "    bundle = run.bundle",
    ]
    for part, (local, model) in w.parts.items():
        head.append(f"    {local} = bundle.{part}")
        head.append(f"    if {local} is not None and type({local}) is not {model}:")
        head.append("        return None")
    source = "\n".join([*head, *body, *tail]) + "\n"
    namespace: dict[str, Any] = {
        **w.namespace,
        "_UNREAD": _UNREAD,
        "_TEXT_REFUSED": disallowed_pattern(False).search,
        "_NUMERIC_REFUSED": disallowed_pattern(True).search,
        "_walk": _walk,
        "resolve_path": resolve_path,
        "_PLAIN_VALUES": PLAIN_VALUES,
        "_dump_field": dump_field,
        "_STR_OR_LIST": (str, list),
        "as_text": as_text,
        "TransformFailed": TransformFailed,
        "RULES": RULES,
        "TRANSFORMS": TRANSFORMS,
        "Provenance": Provenance,
        "ENTERED": ENTERED,
        "_NOT_ENTERED_ON_NEW": _NOT_ENTERED_ON_NEW,
        "_SYSTEM": SourceKind.SYSTEM,
        "_construct": construct_trusted,
        "_PROVENANCE_FIELDS": _PROVENANCE_FIELDS,
        "_relative_provenance": _PlanRun.relative_provenance,
        "_substitute": _substitute,
        "_new": BaseModel.__new__,
        "_FilledItem": FilledItem,
        "_FILLED_FIELDS": _FILLED_FIELDS,
        "_SET_DICT": _SET_DICT,
        "_SET_FIELDS_SET": _SET_FIELDS_SET,
        "_SET_EXTRA": _SET_EXTRA,
        "_SET_PRIVATE": _SET_PRIVATE,
        "NaccsForm": NaccsForm,
        "_FORM_FIELDS": _FORM_FIELDS,
    }
    exec(compile(source, f"<prefill of {field_map.code}>", "exec"), namespace)  # noqa: S102
    function: Callable[[_PlanRun], NaccsForm | None] = namespace[f"fill_{field_map.code}"]
    return _GeneratedFill(fill=function, source=source)


def autofill_report(form: NaccsForm) -> AutofillReport:
    """Auto-fill ratio over the normally-filled item slots (each repeat counted once per filled repeat)."""
    counted = [item for item in form.items if item.normally_filled]
    auto = [item for item in counted if item.auto_filled]
    by_source = Counter(str(item.provenance.kind) for item in auto if item.provenance is not None)
    return AutofillReport(
        code=form.code,
        normally_filled=len(counted),
        auto_filled=len(auto),
        remaining_for_person=tuple(item.entry_key for item in counted if not item.auto_filled),
        by_source=dict(sorted(by_source.items())),
    )


def check_field_map(field_map: FieldMap) -> list[str]:
    """Names in the map that the engine does not know (rules, config keys, transforms); empty when sound."""
    problems: list[str] = []

    def check_pipeline(where: str, pipeline: tuple[TransformSpec, ...]) -> None:
        problems.extend(
            f"{where}: unknown transform {step.name}"
            for step in pipeline
            if step.name not in TRANSFORMS
        )

    def check_source(where: str, source: Source) -> None:
        if source.kind is SourceKind.RULE and source.argument not in RULES:
            problems.append(f"{where}: unknown rule {source.argument}")
        if source.kind is SourceKind.CONFIG and source.argument not in CONFIG_KEYS:
            problems.append(f"{where}: unknown config key {source.argument}")
        check_pipeline(where, source.transform)

    for group in field_map.groups:
        for source in group.sources:
            check_source(f"{field_map.code} group {group.key}", source)
    for item in field_map.items:
        where = f"{field_map.code} item {item.key}"
        check_pipeline(where, item.transform)
        for source in item.sources:
            check_source(where, source)
    return problems
