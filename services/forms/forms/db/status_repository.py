"""Queries of the customs status write-back (``trade_naccs_status``, ``naccs_status_event``).

Like every repository here they only flush; the request's unit of work commits, so an event's
entries and its id are stored together or not at all.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from forms.db.models import NaccsStatusEvent, TradeNaccsStatus


async def take_event(
    session: AsyncSession,
    *,
    event_id: uuid.UUID,
    source: str,
    event_type: str,
    trade_id: uuid.UUID,
    entries: int,
    now: datetime,
) -> bool:
    """Note the event as taken; False when it was taken before (a redelivery)."""
    taken = await session.scalar(
        insert(NaccsStatusEvent)
        .values(
            event_id=event_id,
            source=source,
            event_type=event_type,
            trade_id=trade_id,
            entries=entries,
            received_at=now,
        )
        .on_conflict_do_nothing(index_elements=[NaccsStatusEvent.event_id])
        .returning(NaccsStatusEvent.event_id)
    )
    return taken is not None


async def upsert_status(
    session: AsyncSession,
    *,
    trade_id: uuid.UUID,
    procedure: str,
    number: str,
    state: str,
    state_rank: int,
    at: datetime,
    examination: str | None,
    permit_no: str | None,
    permitted_on: date | None,
    source: dict[str, Any],
    event_id: uuid.UUID,
    now: datetime,
) -> bool:
    """Store the entry unless the stored one is as late or later (one statement, so concurrent
    events of one procedure settle on the latest state whatever their order); True if it changed."""
    statement = insert(TradeNaccsStatus).values(
        trade_id=trade_id,
        procedure=procedure,
        number=number,
        state=state,
        state_rank=state_rank,
        at=at,
        examination=examination,
        permit_no=permit_no,
        permitted_on=permitted_on,
        source=source,
        event_id=event_id,
        updated_at=now,
    )
    incoming = statement.excluded
    changed = await session.scalar(
        statement.on_conflict_do_update(
            index_elements=[
                TradeNaccsStatus.trade_id,
                TradeNaccsStatus.procedure,
                TradeNaccsStatus.number,
            ],
            set_={
                "state": incoming.state,
                "state_rank": incoming.state_rank,
                "at": incoming.at,
                # A permit notice does not repeat the examination category the declaration had.
                "examination": func.coalesce(incoming.examination, TradeNaccsStatus.examination),
                "permit_no": func.coalesce(incoming.permit_no, TradeNaccsStatus.permit_no),
                "permitted_on": func.coalesce(incoming.permitted_on, TradeNaccsStatus.permitted_on),
                "source": incoming.source,
                "event_id": incoming.event_id,
                "change_seq": func.nextval("trade_naccs_status_change_seq"),
                "updated_at": incoming.updated_at,
            },
            where=tuple_(incoming.state_rank, incoming.at)
            > tuple_(TradeNaccsStatus.state_rank, TradeNaccsStatus.at),
        ).returning(TradeNaccsStatus.change_seq)
    )
    return changed is not None


async def statuses_of_trade(session: AsyncSession, trade_id: uuid.UUID) -> list[TradeNaccsStatus]:
    result = await session.scalars(
        select(TradeNaccsStatus)
        .where(TradeNaccsStatus.trade_id == trade_id)
        .order_by(TradeNaccsStatus.procedure, TradeNaccsStatus.at, TradeNaccsStatus.number)
        .execution_options(populate_existing=True)
    )
    return list(result)
