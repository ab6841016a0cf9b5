"""The event log (participants only) and the event catalogue."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from notifications.api.deps import OrgReaderDep, TradesDep, decode_cursor, encode_cursor, org_of
from notifications.db.models import Event
from notifications.db.repositories import EventRepository
from notifications.domain.catalogue import CATALOGUE
from notifications.domain.membership import member_can_access
from notifications.schemas import EventOut, EventPage, EventTypeOut
from shared.db import SessionDep
from shared.errors import PROBLEM_SCHEMA, NotFound

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])


def event_out(event: Event) -> EventOut:
    return EventOut(
        id=event.id,
        type=event.type,
        version=event.version,
        source=event.source,
        trade_id=event.trade_id,
        occurred_at=event.occurred_at,
        received_at=event.received_at,
        data=event.data,
    )


@router.get("/event-types", summary="The event catalogue with each type's data schema")
async def list_event_types() -> list[EventTypeOut]:
    return [
        EventTypeOut(
            type=entry.name,
            version=entry.version,
            summary=entry.summary,
            summary_ja=entry.summary_ja,
            trade_scoped=entry.trade_scoped,
            data_schema=entry.model.model_json_schema(),
        )
        for entry in CATALOGUE.values()
    ]


@router.get(
    "/events",
    summary="The event log: events your organisation may see, oldest first",
    responses={403: PROBLEM_SCHEMA},
)
async def list_events(
    principal: OrgReaderDep,
    session: SessionDep,
    trades: TradesDep,
    trade_id: uuid.UUID | None = None,
    type: Annotated[list[str] | None, Query(max_length=50)] = None,
    since: Annotated[datetime | None, Query(description="occurred at or after")] = None,
    until: Annotated[datetime | None, Query(description="occurred before")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> EventPage:
    org_id = org_of(principal)
    # A former participant no longer reads the trade's log. Unknown and not-participating look the
    # same (404). Every row is also guarded by the audience decided at intake.
    if trade_id is not None and await member_can_access(session, trades, trade_id, org_id) is False:
        raise NotFound("No such trade")
    parsed = decode_cursor(cursor, int)
    after = parsed[0] if parsed else None
    rows = await EventRepository(session).list_visible(
        org_id=org_id,
        trade_id=trade_id,
        event_types=type or [],
        since=since,
        until=until,
        after_position=after,
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return EventPage(
        items=[event_out(e) for e in rows],
        next_cursor=encode_cursor(rows[-1].position) if more and rows else None,
    )


@router.get("/events/{event_id}", summary="One event", responses={404: PROBLEM_SCHEMA})
async def get_event(event_id: uuid.UUID, principal: OrgReaderDep, session: SessionDep) -> EventOut:
    event = await EventRepository(session).get_visible(event_id, org_of(principal))
    if event is None:
        raise NotFound("No such event")
    return event_out(event)
