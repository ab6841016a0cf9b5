"""The trade's timeline, as JSON pages or as a streamed CSV export."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import SessionDep, get_session
from trades.api.deps import AccessDep, CallerDep
from trades.domain import timeline as timeline_service
from trades.domain import trades as trade_service
from trades.domain.pagination import MAX_PAGE_SIZE, decode_cursor, encode_cursor
from trades.schemas import Page, TimelineEntryRead

router = APIRouter(prefix="/api/v1/trades/{trade_id}/timeline", tags=["timeline"])

KindFilter = Annotated[
    list[str] | None, Query(description="Only these kinds, e.g. trade.status_changed")
]

# The CSV is read while the response streams, so its session must outlive the endpoint function:
# a request-scoped session (closed after the response is sent), unlike the function-scoped SessionDep.
StreamingSessionDep = Annotated[AsyncSession, Depends(get_session)]


@router.get("", response_model=Page[TimelineEntryRead])
async def list_timeline(
    session: SessionDep,
    access: AccessDep,
    kind: KindFilter = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100,
) -> Page[TimelineEntryRead]:
    """History of the trade, oldest first; filter by kind and time (`since` inclusive, `until` exclusive)."""
    entries, next_key = await timeline_service.list_entries(
        session,
        access=access,
        kinds=kind or [],
        since=since,
        until=until,
        after=decode_cursor(cursor),
        limit=limit,
    )
    return Page[TimelineEntryRead](
        items=[TimelineEntryRead.model_validate(e, from_attributes=True) for e in entries],
        next_cursor=encode_cursor(*next_key) if next_key else None,
    )


@router.get(
    ".csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The timeline as CSV"}},
)
async def export_timeline_csv(
    trade_id: uuid.UUID,
    session: StreamingSessionDep,
    caller: CallerDep,
    kind: KindFilter = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> StreamingResponse:
    """The (filtered) timeline as CSV, streamed page by page."""
    access = await trade_service.get_access(session, trade_id=trade_id, org_id=caller.org_id)
    access.require_active()

    async def body() -> AsyncIterator[str]:
        async for line in timeline_service.export_csv(
            session, access=access, kinds=kind or [], since=since, until=until
        ):
            yield line

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="timeline-{trade_id}.csv"'},
    )
