"""Mapping NACCS 処理結果コード back to the items and form fields that caused them, with readable messages.

Cyber Port paints the failing fields red ✅ [S11]; this module gives the bridge the same: the item of the
business code's field map named by the code's 項目略称, and the trade-form paths that item was filled from.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict

from naccs_bridge.domain.errors import UnknownBusinessCode
from naccs_bridge.domain.loading import load_catalogue, load_field_map, validate_file
from naccs_bridge.domain.specs import FieldMap, ItemSpec, Source, SourceKind, StrictModel
from naccs_bridge.domain.telegram import ResultCode, ResultNotice
from naccs_bridge.domain.transforms import RULE_INPUTS

Severity = Literal["success", "warning", "error", "message"]


class CategoryMessage(StrictModel):
    severity: Severity
    ja: str
    en: str


class CodeMessage(StrictModel):
    code: str
    ja: str
    en: str
    business_code: str | None = None
    verified: bool = False
    retryable: bool = False


class ResultCodeTable(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    categories: dict[str, CategoryMessage]
    codes: tuple[CodeMessage, ...] = ()

    def find(self, code: str, business_code: str) -> CodeMessage | None:
        candidates = [c for c in self.codes if c.code == code]
        scoped = [c for c in candidates if c.business_code == business_code]
        general = [c for c in candidates if c.business_code is None]
        matches = scoped or general
        return matches[0] if matches else None


@cache
def load_result_code_table() -> ResultCodeTable:
    return validate_file("result_codes.toml", ResultCodeTable)


class MappedResult(StrictModel):
    """One result code, explained: which items and form fields it points at and what to tell the user."""

    raw: str
    code: str
    severity: Severity
    item_id: str | None
    repeat_no: int | None
    item_keys: tuple[str, ...]
    form_fields: tuple[
        str, ...
    ]  # trade-form / shared-item paths to fix, e.g. "SI.shipper", "IV.lines.1.description"
    master_tables: tuple[str, ...]  # master data that decided the value, e.g. "companies"
    message_ja: str
    message_en: str
    verified: bool
    retryable: bool = False


def _paths(source: Source) -> list[str]:
    """The form paths a non-relative source reads (a rule: the paths it is documented to read)."""
    if source.kind is SourceKind.RULE:
        return list(RULE_INPUTS.get(source.argument, ()))
    if source.is_path and source.kind is not SourceKind.PREVIOUS and not source.is_relative:
        return [source.argument]
    return []


def form_fields_of(field_map: FieldMap, item: ItemSpec, index: int | None) -> tuple[str, ...]:
    """The form paths an item is filled from, in source order, with the repeat index filled in:
    ``@.description`` of repeat 2 in a group read from ``IV.lines`` is ``IV.lines.1.description``."""
    fields: list[str] = []
    group = field_map.group(item.group) if item.group is not None else None
    for source in item.sources:
        if not source.is_relative:
            candidates = _paths(source)
        elif group is None:
            candidates = []
        else:
            candidates = []
            for group_source in group.sources:
                if group_source.kind is SourceKind.RULE:
                    candidates.extend(_paths(group_source))  # the rule's inputs, not its output
                elif group_source.is_path:
                    where = (
                        group_source.argument
                        if index is None
                        else f"{group_source.argument}.{index}"
                    )
                    candidates.append(where + source.argument[1:])
        fields.extend(path for path in candidates if path not in fields)
    return tuple(fields)


def master_tables_of(item: ItemSpec) -> tuple[str, ...]:
    tables: list[str] = []
    for source in item.sources:
        for step in source.transform or item.transform:
            table = {
                "company": "companies",
                "call_sign": "vessels",
                "stat_quantity": "products",
            }.get(
                step.name, str(step.args.get("table", "")) if step.name == "master_lookup" else ""
            )
            if table and table not in tables:
                tables.append(table)
    return tuple(tables)


def map_result_code(
    result: ResultCode, field_map: FieldMap, table: ResultCodeTable | None = None
) -> MappedResult:
    table = table or load_result_code_table()
    category = table.categories.get("0" if result.is_success else result.category)
    specific = table.find(result.code, field_map.code)
    items = field_map.items_by_id(result.item_id) if result.item_id else []
    index = result.repeat_no - 1 if result.repeat_no else None
    fields: list[str] = []
    masters: list[str] = []
    for item in items:
        fields.extend(f for f in form_fields_of(field_map, item, index) if f not in fields)
        masters.extend(t for t in master_tables_of(item) if t not in masters)
    if items:
        item_ja = "・".join(i.name_ja for i in items)
        item_en = " / ".join(i.name_en for i in items)
    elif result.item_id:
        item_ja = item_en = f"item {result.item_id}"
    else:
        item_ja, item_en = "入力内容", "the input"
    if specific is not None:
        message_ja, message_en = specific.ja, specific.en
    elif category is not None:
        message_ja = category.ja.format(item_ja=item_ja, item_en=item_en)
        message_en = category.en.format(item_ja=item_ja, item_en=item_en)
    else:
        message_ja = f"処理結果コード {result.code} が返されました（{item_ja}）。"
        message_en = f"NACCS returned result code {result.code} ({item_en})."
    severity: Severity = category.severity if category is not None else "error"
    return MappedResult(
        raw=result.raw,
        code=result.code,
        severity=severity,
        item_id=result.item_id,
        repeat_no=result.repeat_no,
        item_keys=tuple(i.key for i in items),
        form_fields=tuple(fields),
        master_tables=tuple(masters),
        message_ja=message_ja,
        message_en=message_en,
        verified=specific.verified if specific is not None else False,
        retryable=specific.retryable if specific is not None else False,
    )


def map_result_notice(notice: ResultNotice, field_map: FieldMap) -> tuple[MappedResult, ...]:
    return tuple(map_result_code(code, field_map) for code in notice.codes)


class ResultInterpretation(StrictModel):
    """What a result notice means for the trade: accepted or not, what to write back, what to show."""

    code: str
    accepted: bool
    writes: dict[str, str]  # e.g. {"exportControlNo": "1ECR2611220001"} on an accepted ECR
    errors: tuple[MappedResult, ...]
    warnings: tuple[MappedResult, ...]
    retryable: bool  # only system-busy style errors: sending again unchanged may succeed


def interpret_result_notice(notice: ResultNotice) -> ResultInterpretation:
    """Map a 処理結果通知 of any catalogued code to write-backs and per-item messages."""
    entry = load_catalogue().get(notice.header.business_code)
    if entry is None:
        raise UnknownBusinessCode(notice.header.business_code)
    mapped = map_result_notice(notice, load_field_map(entry.code))
    errors = tuple(m for m in mapped if m.severity == "error")
    writes: dict[str, str] = {}
    if notice.accepted and entry.result_reference and notice.reference_no:
        writes[entry.result_reference] = notice.reference_no
    return ResultInterpretation(
        code=entry.code,
        accepted=notice.accepted,
        writes=writes,
        errors=errors,
        warnings=tuple(m for m in mapped if m.severity == "warning"),
        retryable=bool(errors) and all(m.retryable for m in errors),
    )
