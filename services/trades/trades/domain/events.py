"""The trade's own events: one outbox row (for other services) and, for history, one timeline entry.

Both are written in the caller's transaction with the same event id, so the timeline and what other
services hear can never disagree. Payloads are versioned per topic (``EVENT_VERSIONS``); a breaking
change to a payload gets a new version number and consumers dispatch on ``(type, version)``.

``audience_org_ids`` in a payload tells consumers (notifications) who may learn of the event: ``None``
means every participant; a list means only those organisations (events about hidden participants).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared import outbox
from trades.db import repositories as repo
from trades.db.models import outbox_table
from trades.runtime import Runtime

SOURCE = "trades"

EVENT_VERSIONS: dict[str, int] = {
    "trade.created": 1,
    "trade.updated": 1,
    "trade.status_changed": 1,
    "participant.invited": 1,
    "participant.added": 1,
    "participant.declined": 1,
    "participant.left": 1,
    "participant.removed": 1,
    "task.assigned": 1,
    "task.updated": 1,
    "task.commented": 1,
    "message.posted": 1,
}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: a user (or partner client) of an organisation, or a service."""

    user_id: str | None
    org_id: str | None

    def as_json(self) -> dict[str, str | None]:
        return {"user_id": self.user_id, "org_id": self.org_id}


async def emit(
    session: AsyncSession,
    *,
    runtime: Runtime,
    trade_id: uuid.UUID,
    topic: str,
    data: Mapping[str, Any],
    actor: Actor,
    summary: str | None,
    subject_org_id: str | None = None,
    audience_org_ids: Sequence[str] | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> uuid.UUID:
    """Write the event to the outbox and, when ``summary`` is given, to the trade's timeline."""
    event_id = runtime.new_id()
    now = runtime.clock()
    payload = {
        **data,
        "actor": actor.as_json(),
        "audience_org_ids": list(audience_org_ids) if audience_org_ids is not None else None,
    }
    await outbox.add_event(
        session,
        table=outbox_table,
        topic=topic,
        version=EVENT_VERSIONS[topic],
        payload=payload,
        trade_id=trade_id,
        event_id=event_id,
        occurred_at=now,
    )
    if summary is not None:
        await repo.insert_timeline_entry(
            session,
            {
                "id": runtime.new_id(),
                "trade_id": trade_id,
                "occurred_at": now,
                "recorded_at": now,
                "kind": topic,
                "summary": summary,
                "actor_user_id": actor.user_id,
                "actor_org_id": actor.org_id,
                "subject_org_id": subject_org_id,
                "before": dict(before) if before is not None else None,
                "after": dict(after) if after is not None else None,
                "source": SOURCE,
                "event_id": str(event_id),
            },
        )
    return event_id
