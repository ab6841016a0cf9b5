"""Vessel schedule updates (Colins-style, relayed by notifications) applied to the trades on that call.

An event ``vessel_schedule.updated`` names a vessel (call sign, else name; case-insensitive), a voyage
and optionally a port. Every open trade on that vessel and voyage gets the new ETD (when the port is
its port of loading, or no port is given) and ETA (when the port is its port of discharge, or no port
is given). Each changed trade gets a timeline entry (before/after) and a ``trade.updated`` event, in
the caller's transaction.

Idempotency: each (event, trade) pair is recorded once, as the timeline entry whose event id is
``uuid5(event source/id, trade id)``; a replay finds it and changes nothing.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import InvalidInput, field_error
from trades.db import repositories as repo
from trades.db.models import Trade
from trades.domain.events import Actor
from trades.domain.events import emit as emit_event
from trades.runtime import Runtime
from trades.schemas import IncomingEvent, IntakeResult

EVENT_TYPE = "vessel_schedule.updated"
LEFT_ALONE = ("closed", "cancelled")
PAIR_NAMESPACE = uuid.UUID("5b1f0d0e-6a52-4c55-9b59-0d6f8f2a4c11")


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return str(value).strip() or None if value is not None else None


def _day(data: dict[str, Any], key: str) -> date | None:
    value = data.get(key)
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value)).date()
    except ValueError:
        try:
            return date.fromisoformat(str(value))
        except ValueError as exc:
            raise InvalidInput(
                f"{key} is not a date", errors=[field_error(["data", key], "not a date")]
            ) from exc


def pair_event_id(event: IncomingEvent, trade_id: uuid.UUID) -> str:
    return str(uuid.uuid5(PAIR_NAMESPACE, f"{event.source}/{event.id}/{trade_id}"))


async def matching_trades(
    session: AsyncSession, *, call_sign: str | None, name: str | None, voyage: str
) -> list[Trade]:
    vessel = []
    if call_sign:
        vessel.append(func.upper(Trade.vessel_call_sign) == call_sign.upper())
    if name:
        # By name only where the trade has no call sign, or the event names none.
        by_name = func.upper(Trade.vessel_name) == name.upper()
        vessel.append(by_name if not call_sign else by_name & Trade.vessel_call_sign.is_(None))
    statement = (
        select(Trade)
        .where(
            Trade.voyage_no == voyage,
            or_(*vessel),
            Trade.status.not_in(LEFT_ALONE),
        )
        .order_by(Trade.id)
        .with_for_update()
    )
    return list((await session.scalars(statement)).all())


async def apply_vessel_schedule(
    session: AsyncSession, *, runtime: Runtime, event: IncomingEvent
) -> IntakeResult:
    data = event.data
    call_sign, name = _text(data, "vessel_call_sign"), _text(data, "vessel_name")
    voyage, port = _text(data, "voyage"), _text(data, "port")
    if not voyage or not (call_sign or name):
        raise InvalidInput(
            "A schedule update names a vessel (call sign or name) and a voyage",
            errors=[field_error(["data", "voyage"], "vessel and voyage required")],
        )
    etd, eta = _day(data, "etd"), _day(data, "eta")
    partner = _text(data, "partner") or event.source
    actor = Actor(user_id=_text(data, "client_id") or partner, org_id=_text(data, "org_id"))
    recorded_any = False
    first_entry: uuid.UUID | None = None
    for trade in await matching_trades(session, call_sign=call_sign, name=name, voyage=voyage):
        new: dict[str, date] = {}
        if etd is not None and (port is None or (trade.port_of_loading or "") == port.upper()):
            new["etd"] = etd
        if eta is not None and (port is None or (trade.port_of_discharge or "") == port.upper()):
            new["eta"] = eta
        changed = {
            k: {
                "before": getattr(trade, k).isoformat() if getattr(trade, k) else None,
                "after": v.isoformat(),
            }
            for k, v in new.items()
            if getattr(trade, k) != v
        }
        if not changed:
            continue
        before = {k: v["before"] for k, v in changed.items()}
        after = {k: v["after"] for k, v in changed.items()}
        entry_id = await repo.insert_timeline_entry(
            session,
            {
                "id": runtime.new_id(),
                "trade_id": trade.id,
                "occurred_at": event.occurred_at,
                "recorded_at": runtime.clock(),
                "kind": EVENT_TYPE,
                "summary": f"Vessel schedule from {partner}: changed {', '.join(sorted(changed))}",
                "actor_user_id": actor.user_id,
                "actor_org_id": actor.org_id,
                "subject_org_id": None,
                "before": before,
                "after": after,
                "source": event.source,
                "event_id": pair_event_id(event, trade.id),
            },
        )
        if entry_id is None:
            continue  # this event was already applied to this trade
        recorded_any = True
        first_entry = first_entry or entry_id
        for key, value in new.items():
            setattr(trade, key, value)
        trade.updated_at = runtime.clock()
        await session.flush()  # bumps the version: ETags read before now are stale (412)
        await emit_event(
            session,
            runtime=runtime,
            trade_id=trade.id,
            topic="trade.updated",
            data={
                "trade_no": trade.trade_no,
                "changed": changed,
                "version": trade.version,
                "cause": {"type": EVENT_TYPE, "source": event.source, "event_id": event.id},
            },
            actor=actor,
            summary=None,  # the timeline entry above tells the story
        )
    return IntakeResult(
        recorded=recorded_any, timeline_entry_id=first_entry, task_ids=[], status=None
    )
