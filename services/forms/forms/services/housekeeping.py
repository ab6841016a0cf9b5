"""Periodic clean-up in the service process: expired Idempotency-Keys, long-delivered events.

Safe in every replica at once: both are plain ``DELETE ... WHERE`` on rows nobody needs any more.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import structlog
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from forms.db.models import idempotency_table, outbox_table
from forms.services.context import Clock
from shared import idempotency

log = structlog.get_logger("forms.housekeeping")


async def purge_expired_keys(engine: AsyncEngine, *, clock: Clock) -> int:
    async with AsyncSession(engine) as session, session.begin():
        return await idempotency.purge_expired(session, table=idempotency_table, now=clock())


async def purge_delivered_events(
    engine: AsyncEngine, *, clock: Clock, older_than: timedelta
) -> int:
    """Delivered events stay a while for inspection, then go."""
    async with engine.begin() as conn:
        result = await conn.execute(
            delete(outbox_table).where(outbox_table.c.delivered_at < clock() - older_than)
        )
    return int(result.rowcount or 0)


async def run(
    engine: AsyncEngine,
    stopping: asyncio.Event,
    *,
    clock: Clock,
    interval_s: float,
    delivered_retention: timedelta,
) -> None:
    while not stopping.is_set():
        try:
            keys = await purge_expired_keys(engine, clock=clock)
            events = await purge_delivered_events(
                engine, clock=clock, older_than=delivered_retention
            )
            if keys or events:
                log.info("housekeeping_purged", idempotency_keys=keys, delivered_events=events)
        except Exception:
            # The database may be restarting; the next round tries again.
            log.exception("housekeeping_failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=interval_s)
