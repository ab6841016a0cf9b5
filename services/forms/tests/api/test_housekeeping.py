"""Housekeeping: expired Idempotency-Keys and long-delivered events are purged; nothing else."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from forms.db.models import idempotency_table, outbox_table
from forms.services import housekeeping
from shared.db import to_async_url

from .conftest import START


async def test_purges_only_what_has_expired(database_url: str) -> None:
    engine = create_async_engine(to_async_url(database_url), poolclass=NullPool)
    now = START + timedelta(days=400)  # later than anything other tests leave behind
    principal = f"org-housekeeping-{uuid.uuid4().hex}"
    old_event, fresh_event, pending_event = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    try:
        async with engine.begin() as conn:
            for key, expires in (
                ("old", now - timedelta(seconds=1)),
                ("live", now + timedelta(hours=1)),
            ):
                await conn.execute(
                    insert(idempotency_table).values(
                        principal=principal, key=key, fingerprint="f",
                        created_at=expires - timedelta(hours=24), expires_at=expires,
                    )
                )  # fmt: skip
            for event_id, delivered in (
                (old_event, now - timedelta(days=8)),
                (fresh_event, now - timedelta(days=1)),
                (pending_event, None),
            ):
                await conn.execute(
                    insert(outbox_table).values(
                        id=event_id, topic="form.created", version=1, payload={},
                        occurred_at=now - timedelta(days=9), next_attempt_at=now,
                        delivered_at=delivered,
                    )
                )  # fmt: skip

        assert await housekeeping.purge_expired_keys(engine, clock=lambda: now) >= 1
        assert (
            await housekeeping.purge_delivered_events(
                engine, clock=lambda: now, older_than=timedelta(days=7)
            )
            >= 1
        )

        async with engine.connect() as conn:
            keys = await conn.scalars(
                select(idempotency_table.c.key).where(idempotency_table.c.principal == principal)
            )
            assert list(keys) == ["live"]
            left = set(
                await conn.scalars(
                    select(outbox_table.c.id).where(
                        outbox_table.c.id.in_([old_event, fresh_event, pending_event])
                    )
                )
            )
            assert left == {fresh_event, pending_event}
    finally:
        await engine.dispose()
