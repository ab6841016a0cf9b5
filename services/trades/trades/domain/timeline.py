"""The trade's timeline: append-only history, fed by its own changes and by other services' events."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import InvalidInput, field_error
from trades.db import repositories as repo
from trades.db.models import TimelineEntry
from trades.domain import schedules
from trades.domain import tasks as task_service
from trades.domain import trades as trade_service
from trades.domain.access import TradeAccess
from trades.domain.errors import TradeNotFound
from trades.runtime import Runtime
from trades.schemas import IncomingEvent, IntakeResult

CSV_COLUMNS = (
    "occurred_at",
    "kind",
    "summary",
    "actor_org_id",
    "actor_user_id",
    "subject_org_id",
    "source",
    "event_id",
    "before",
    "after",
)
CSV_PAGE_SIZE = 500

# How other services' events read on the timeline when they carry no ``summary`` of their own.
# ``{name}`` takes the field from the event data; a missing field leaves the event type as summary.
SUMMARIES: dict[str, str] = {
    "form.created": "Form {form_type} created",
    "form.updated": "Form {form_type} updated",
    "form.sent": "Form {form_type} sent",
    "form.unsent": "Form {form_type} taken back",
    "form.acknowledged": "Form {form_type} acknowledged",
    "form.cancelled": "Form {form_type} cancelled",
    "form.deleted": "Form {form_type} deleted",
    "shared_items.updated": "Shared items changed",
    "shared_items.locked": "Shared items locked by {form_type}",
    "shared_items.unlocked": "Shared items unlocked by {form_type}",
    "receiving_slip.created": "Container receiving slip created",
    "receiving_slip.updated": "Container receiving slip updated",
    "naccs.result": "NACCS result {result_code}",
    "naccs.permit": "Customs permit ({direction}) for declaration {declaration_no}",
}


async def list_entries(
    session: AsyncSession,
    *,
    access: TradeAccess,
    kinds: Sequence[str],
    since: datetime | None,
    until: datetime | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> tuple[list[TimelineEntry], tuple[datetime, uuid.UUID] | None]:
    """Entries oldest first; those by or about hidden participants the caller may not see are left out."""
    access.require_active()
    rows = await repo.list_timeline(
        session,
        access.trade_id,
        kinds=kinds,
        since=since,
        until=until,
        hidden_org_ids=sorted(access.hidden_org_ids),
        after=after,
        limit=limit + 1,
    )
    page = rows[:limit]
    next_key = (page[-1].occurred_at, page[-1].id) if len(rows) > limit else None
    return page, next_key


def _json_cell(value: Any) -> str:
    return "" if value is None else orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _csv_line(values: Sequence[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue()


async def export_csv(
    session: AsyncSession,
    *,
    access: TradeAccess,
    kinds: Sequence[str],
    since: datetime | None,
    until: datetime | None,
) -> AsyncIterator[str]:
    """The filtered timeline as CSV (RFC 4180), read page by page so memory stays flat."""
    access.require_active()
    yield "\ufeff" + _csv_line(CSV_COLUMNS)  # BOM: spreadsheet software then reads UTF-8 (Japanese)
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        rows = await repo.list_timeline(
            session,
            access.trade_id,
            kinds=kinds,
            since=since,
            until=until,
            hidden_org_ids=sorted(access.hidden_org_ids),
            after=after,
            limit=CSV_PAGE_SIZE,
        )
        for entry in rows:
            yield _csv_line(
                [
                    entry.occurred_at.isoformat(),
                    entry.kind,
                    entry.summary,
                    entry.actor_org_id or "",
                    entry.actor_user_id or "",
                    entry.subject_org_id or "",
                    entry.source,
                    entry.event_id,
                    _json_cell(entry.before),
                    _json_cell(entry.after),
                ]
            )
        if len(rows) < CSV_PAGE_SIZE:
            return
        after = (rows[-1].occurred_at, rows[-1].id)


def _text(data: dict[str, Any], key: str, limit: int) -> str | None:
    value = data.get(key)
    return str(value)[:limit] if value is not None else None


def summarize(event_type: str, data: dict[str, Any]) -> str:
    given = _text(data, "summary", 2000)
    if given:
        return given
    template = SUMMARIES.get(event_type)
    if template is None:
        return event_type
    try:
        return template.format_map({k: v for k, v in data.items() if isinstance(v, str | int)})
    except (KeyError, ValueError):
        return event_type


def _object(data: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = data.get(key)
    return value if isinstance(value, dict) else None


async def record_external_event(
    session: AsyncSession, *, runtime: Runtime, event: IncomingEvent
) -> IntakeResult:
    """Record another service's event once per (source, id), then run the status and task rules.

    A replayed event is acknowledged (so the sender stops retrying) but changes nothing.
    """
    if event.type == schedules.EVENT_TYPE:
        return await schedules.apply_vessel_schedule(session, runtime=runtime, event=event)
    if event.trade_id is None:
        raise InvalidInput(
            "This event names no trade", errors=[field_error(["trade_id"], "required")]
        )
    trade = await repo.get_trade(session, event.trade_id, for_update=True)
    if trade is None:
        raise TradeNotFound()
    data = event.data
    actor = _object(data, "actor") or {}
    entry_id = await repo.insert_timeline_entry(
        session,
        {
            "id": runtime.new_id(),
            "trade_id": trade.id,
            "occurred_at": event.occurred_at,
            "recorded_at": runtime.clock(),
            "kind": event.type,
            "summary": summarize(event.type, data),
            "actor_user_id": _text(actor, "user_id", 128),
            "actor_org_id": _text(actor, "org_id", 64),
            "subject_org_id": _text(data, "subject_org_id", 64),
            "before": _object(data, "before"),
            "after": _object(data, "after"),
            "source": event.source,
            "event_id": event.id,
        },
    )
    if entry_id is None:
        return IntakeResult(recorded=False, timeline_entry_id=None, task_ids=[], status=None)
    status = await trade_service.apply_status_rules(
        session, runtime=runtime, trade=trade, event=event
    )
    task_ids = await task_service.apply_rules(session, runtime=runtime, trade=trade, event=event)
    return IntakeResult(recorded=True, timeline_entry_id=entry_id, task_ids=task_ids, status=status)
