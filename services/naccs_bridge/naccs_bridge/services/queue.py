"""The send queue seen by a platform operator: every organisation's sends, counted per state, with
the oldest of each state (how long the queue has been stuck is what an operator looks at first)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from naccs_bridge.db.models import NaccsSendRow
from naccs_bridge.schemas import QueueOverview, QueueSend, QueueState
from naccs_bridge.services.sends import send_view

# Not finished yet: what "depth" counts.
OPEN_STATES = ("queued", "sending", "sent")


async def overview(
    session: AsyncSession,
    *,
    statuses: Sequence[str] | None,
    org_id: str | None,
    limit: int,
    now: datetime,
) -> QueueOverview:
    filters: list[ColumnElement[bool]] = []
    if statuses:
        filters.append(NaccsSendRow.status.in_(statuses))
    if org_id:
        filters.append(NaccsSendRow.org_id == org_id)
    counted = (
        await session.execute(
            select(NaccsSendRow.status, func.count(), func.min(NaccsSendRow.created_at))
            .where(*filters)
            .group_by(NaccsSendRow.status)
        )
    ).all()
    states = sorted(
        (
            QueueState(
                status=status,
                count=count,
                oldest_created_at=oldest,
                oldest_age_s=round((now - oldest).total_seconds(), 1),
            )
            for status, count, oldest in counted
        ),
        key=lambda state: state.status,
    )
    # Oldest first: the head of the queue is what is waiting longest.
    rows = (
        await session.scalars(
            select(NaccsSendRow)
            .where(*filters)
            .order_by(NaccsSendRow.created_at, NaccsSendRow.id)
            .limit(limit)
        )
    ).all()
    return QueueOverview(
        depth=sum(state.count for state in states if state.status in OPEN_STATES),
        states=states,
        items=[QueueSend(**send_view(row).model_dump(), org_id=row.org_id) for row in rows],
    )
