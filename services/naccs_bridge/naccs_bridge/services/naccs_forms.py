"""NACCS forms: one per business code per trade, prefilled by the domain engine, and what NACCS said.

The prefill reads the trade bundle kept with the form, the organisation's master data, the numbers that
earlier business codes of the same trade returned (ECR's 輸出管理番号 fills EDA, EDA's 申告番号 fills
EDC) and a person's entries. It is recomputed on every read, so a master-data fix shows at once.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from naccs_bridge.db.models import MasterRecordRow, NaccsFormRow
from naccs_bridge.domain.bundle import TradeBundle
from naccs_bridge.domain.charset import Charset
from naccs_bridge.domain.errors import UnknownBusinessCode
from naccs_bridge.domain.loading import load_catalogue, load_field_map
from naccs_bridge.domain.prefill import NaccsForm, autofill_report, prefill
from naccs_bridge.domain.result_codes import MappedResult, map_result_notice
from naccs_bridge.domain.specs import FieldMap
from naccs_bridge.domain.telegram import ResultNotice
from naccs_bridge.domain.transforms import PrefillConfig
from naccs_bridge.schemas import (
    AutofillView,
    FormItemView,
    MasterKind,
    NaccsFormView,
    ResultView,
)
from naccs_bridge.services.runtime import Runtime
from shared.errors import InvalidInput, NotFound, field_error

# The number a business code's acceptance returns, as the later codes of the trade read it.
PREVIOUS_FROM_CODE: dict[str, str] = {
    "SIR": "nsiNo",
    "ECR": "exportControlNo",
    "EDA": "exportDeclarationNo",
    "IDA": "importDeclarationNo",
    "OLC": "bondedTransportApprovalNo",
}
MASTER_TREE_KEYS: dict[MasterKind, str] = {
    MasterKind.COMPANIES: "companies",
    MasterKind.PRODUCTS: "products",
    MasterKind.VESSELS: "vessels",
    MasterKind.BONDED_AREAS: "bondedAreas",
    MasterKind.PORTS: "ports",
}


class UnknownCode(NotFound):
    code = "unknown_business_code"
    title = "Unknown NACCS business code"


def field_map_for(code: str) -> FieldMap:
    try:
        return load_field_map(code.strip().upper())
    except UnknownBusinessCode as exc:
        raise UnknownCode(
            f"{code} is not one of the {len(load_catalogue())} business codes"
        ) from exc


async def find_form(session: AsyncSession, trade_id: uuid.UUID, code: str) -> NaccsFormRow | None:
    row: NaccsFormRow | None = await session.scalar(
        select(NaccsFormRow).where(NaccsFormRow.trade_id == trade_id, NaccsFormRow.code == code)
    )
    return row


async def master_tree(session: AsyncSession, org_id: str) -> dict[str, list[dict[str, Any]]]:
    rows = (
        await session.scalars(
            select(MasterRecordRow)
            .where(MasterRecordRow.org_id == org_id)
            .order_by(MasterRecordRow.kind, MasterRecordRow.key)
        )
    ).all()
    tree: dict[str, list[dict[str, Any]]] = {key: [] for key in MASTER_TREE_KEYS.values()}
    for row in rows:
        tree[MASTER_TREE_KEYS[MasterKind(row.kind)]].append(row.data)
    return tree


async def previous_results(session: AsyncSession, trade_id: uuid.UUID) -> dict[str, str]:
    rows = (
        await session.execute(
            select(NaccsFormRow.code, NaccsFormRow.reference_no).where(
                NaccsFormRow.trade_id == trade_id,
                NaccsFormRow.code.in_(PREVIOUS_FROM_CODE),
                NaccsFormRow.reference_no.is_not(None),
            )
        )
    ).all()
    return {PREVIOUS_FROM_CODE[code]: str(ref) for code, ref in rows}


async def compute(
    session: AsyncSession,
    row: NaccsFormRow,
    *,
    org_id: str,
    today: date,
    charset: str,
    declarant_user_code: str | None = None,
) -> NaccsForm:
    """The form as it stands: the domain prefill over bundle + master + previous results + entries.

    ``declarant_user_code`` is the viewer's own 利用者コード (申告予定者): the form shows what would be
    sent if they sent it."""
    tree = dict(row.bundle)
    tree["master"] = await master_tree(session, org_id)
    tree["previous"] = {
        **dict(tree.get("previous") or {}),
        **await previous_results(session, row.trade_id),
    }
    tree["entries"] = dict(row.entries)
    tree["processing"] = row.processing
    try:
        bundle = TradeBundle.model_validate(tree)
    except ValidationError as exc:
        raise InvalidInput(
            "The trade data does not have the expected shape",
            errors=[
                field_error(["bundle", *[str(p) for p in e["loc"]]], e["msg"]) for e in exc.errors()
            ],
        ) from exc
    config = PrefillConfig(today=today, declarant_user_code=declarant_user_code)
    return prefill(field_map_for(row.code), bundle, config, charset=Charset(charset))


def result_views(results: list[dict[str, Any]]) -> list[ResultView]:
    return [ResultView.model_validate(r) for r in results]


def view(row: NaccsFormRow, form: NaccsForm) -> NaccsFormView:
    results = result_views(row.last_results)
    items: list[FormItemView] = []
    for item in form.items:
        provenance = item.provenance
        items.append(
            FormItemView(
                key=item.key,
                entry_key=item.entry_key,
                item_id=item.item_id,
                name_ja=item.name_ja,
                name_en=item.name_en,
                group=item.group,
                index=item.index,
                presence=item.presence,
                value=item.value,
                source=provenance.source if provenance else None,
                source_kind=str(provenance.kind) if provenance else None,
                transform=provenance.transform if provenance else None,
                master=provenance.master if provenance else None,
                needs_person=item.needs_person,
                issues=[
                    f"{issue.severity}: {issue.message}"
                    for issue in form.issues
                    if issue.item_key == item.key and issue.index == item.index
                ],
                results=[
                    r
                    for r in results
                    if item.key in r.item_keys
                    and (r.repeat_no is None or item.index is None or r.repeat_no - 1 == item.index)
                ],
            )
        )
    report = autofill_report(form)
    entry = load_catalogue().get(row.code)
    return NaccsFormView(
        id=row.id,
        trade_id=row.trade_id,
        code=row.code,
        name_ja=entry.name_ja if entry else row.code,
        status=row.status,
        processing=row.processing,
        reference_no=row.reference_no,
        version=row.version,
        ready_to_send=form.ready_to_send,
        pending_for_person=[i.entry_key for i in form.pending_for_person],
        items=items,
        issues=[issue.model_dump(mode="json") for issue in form.issues],
        results=results,
        autofill=AutofillView(
            code=report.code,
            normally_filled=report.normally_filled,
            auto_filled=report.auto_filled,
            ratio=round(report.ratio, 4),
            remaining_for_person=list(report.remaining_for_person),
            by_source=report.by_source,
        ),
        updated_at=row.updated_at,
        permitted_at=row.permitted_at,
    )


def apply_notice(row: NaccsFormRow, notice: ResultNotice, now: datetime) -> list[MappedResult]:
    """What NACCS said, on the form: accepted/rejected, the number it gave, errors on their items."""
    mapped = list(map_result_notice(notice, field_map_for(row.code)))
    row.last_results = [m.model_dump(mode="json") for m in mapped]
    if notice.accepted:
        row.status = "accepted"
        if notice.reference_no:
            row.reference_no = notice.reference_no[:35]
    else:
        row.status = "rejected"
    row.version += 1
    row.updated_at = now
    return mapped


async def with_trade_number(
    runtime: Runtime, bundle: dict[str, Any], *, trade_id: uuid.UUID, org_id: str
) -> dict[str, Any]:
    """The bundle with the trade's number in its shared items (``shared.tradeNo``), which the
    declarations send as 社内整理用番号 so the filer finds the trade from NACCS's answers. The
    forms service's bundle cannot carry it (the number is the trades service's); a number the
    caller's bundle gives is kept."""
    shared = bundle.get("shared")
    if isinstance(shared, dict) and shared.get("tradeNo"):
        return bundle
    number = await runtime.trades.trade_number(trade_id, org_id)
    if number is None:
        return bundle
    return {**bundle, "shared": {**(shared if isinstance(shared, dict) else {}), "tradeNo": number}}
