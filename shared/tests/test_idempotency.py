"""Idempotency-Key storage on a real PostgreSQL: replay, reuse with another body, in-flight duplicates."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import MetaData, Table, event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from shared import idempotency
from shared.db import to_async_url

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.fixture
async def engine(shared_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(to_async_url(shared_database_url))
    yield engine
    await engine.dispose()


@pytest.fixture
async def table(engine: AsyncEngine) -> AsyncIterator[Table]:
    metadata = MetaData()
    table = idempotency.make_idempotency_table(metadata, f"idem_{uuid.uuid4().hex[:10]}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield table
    async with engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)


async def begin(
    session: AsyncSession, table: Table, fingerprint: str, now: datetime = NOW
) -> idempotency.StoredResponse | None:
    return await idempotency.begin(
        session, table=table, principal="user:o1:u1", key="k-1", fingerprint=fingerprint, now=now
    )


async def complete(session: AsyncSession, table: Table) -> None:
    await idempotency.complete(
        session, table=table, principal="user:o1:u1", key="k-1", status_code=201,
        body={"id": "t1"}, headers={"Location": "/t1"},
    )  # fmt: skip


class TestFingerprint:
    def test_ignores_key_order_but_not_values(self) -> None:
        a = idempotency.request_fingerprint("POST", "/x", {"a": 1, "b": 2})
        assert a == idempotency.request_fingerprint("post", "/x", {"b": 2, "a": 1})
        assert a != idempotency.request_fingerprint("POST", "/x", {"a": 1, "b": 3})
        assert a != idempotency.request_fingerprint("POST", "/y", {"a": 1, "b": 2})

    @pytest.mark.parametrize("key", ["", " ", "x" * 256, "キー", "a\tb"])
    def test_rejects_unusable_keys(self, key: str) -> None:
        with pytest.raises(idempotency.InvalidIdempotencyKey):
            idempotency.validate_key(key)


class TestBegin:
    async def test_first_use_runs_then_replays(self, engine: AsyncEngine, table: Table) -> None:
        async with AsyncSession(engine) as session, session.begin():
            assert await begin(session, table, "f1") is None
            await complete(session, table)
        async with AsyncSession(engine) as session, session.begin():
            stored = await begin(session, table, "f1")
        assert stored == idempotency.StoredResponse(201, {"id": "t1"}, {"Location": "/t1"})

    async def test_same_key_other_request_is_refused(
        self, engine: AsyncEngine, table: Table
    ) -> None:
        async with AsyncSession(engine) as session, session.begin():
            await begin(session, table, "f1")
            await complete(session, table)
        async with AsyncSession(engine) as session, session.begin():
            with pytest.raises(idempotency.IdempotencyKeyReused):
                await begin(session, table, "f2")

    async def test_concurrent_duplicate_gets_409_without_waiting(
        self, engine: AsyncEngine, table: Table
    ) -> None:
        async with AsyncSession(engine) as first, AsyncSession(engine) as second:
            await first.begin()
            assert await begin(first, table, "f1") is None  # still running: not committed
            await second.begin()
            with pytest.raises(idempotency.IdempotencyRequestInProgress):
                await begin(second, table, "f1")
            await second.rollback()
            await complete(first, table)
            await first.commit()

    async def test_a_failed_request_leaves_no_key(self, engine: AsyncEngine, table: Table) -> None:
        async with AsyncSession(engine) as session:
            await session.begin()
            assert await begin(session, table, "f1") is None
            await session.rollback()  # the handler failed: the key goes with the change
        async with AsyncSession(engine) as session, session.begin():
            assert await begin(session, table, "f2") is None
            count = await session.scalar(select(func.count()).select_from(table))
        assert count == 1

    async def test_expired_key_runs_again(self, engine: AsyncEngine, table: Table) -> None:
        async with AsyncSession(engine) as session, session.begin():
            await begin(session, table, "f1")
            await complete(session, table)
        later = NOW + idempotency.DEFAULT_RETENTION + timedelta(seconds=1)
        async with AsyncSession(engine) as session, session.begin():
            assert await begin(session, table, "f2", now=later) is None
        async with AsyncSession(engine) as session, session.begin():
            purged = await idempotency.purge_expired(
                session, table=table, now=later + idempotency.DEFAULT_RETENTION
            )
        assert purged == 1

    async def test_a_stored_key_being_replayed_elsewhere_is_in_progress(
        self, engine: AsyncEngine, table: Table
    ) -> None:
        # The key is stored AND another transaction holds its lock (replaying, or running again
        # after expiry): nothing is inserted, and the lock, not the row, decides the answer.
        async with AsyncSession(engine) as session, session.begin():
            await begin(session, table, "f1")
            await complete(session, table)
        async with AsyncSession(engine) as first, AsyncSession(engine) as second:
            await first.begin()
            assert await begin(first, table, "f1") is not None  # replaying: holds the lock
            await second.begin()
            with pytest.raises(idempotency.IdempotencyRequestInProgress):
                await begin(second, table, "f1")
            await second.rollback()
            await first.rollback()

    async def test_a_new_key_is_one_statement(self, engine: AsyncEngine, table: Table) -> None:
        # Every creating POST pays for the reservation: the lock and the insert are one round trip.
        statements: list[str] = []

        def count(*args: object) -> None:
            statements.append(str(args[2]))

        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            async with AsyncSession(engine) as session, session.begin():
                statements.clear()
                assert await begin(session, table, "f1") is None
                reserved = list(statements)
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", count)
        assert len(reserved) == 1, reserved
        assert "pg_try_advisory_xact_lock" in reserved[0], reserved
        assert "INSERT" in reserved[0], reserved
