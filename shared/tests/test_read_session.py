"""The read-only unit of work (``shared.db.get_read_session``): no transaction around its statements."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shared.db import make_read_sessionmaker, make_sessionmaker, to_async_url


@pytest.fixture
async def engine(shared_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(to_async_url(shared_database_url), pool_size=1, max_overflow=0)
    yield engine
    await engine.dispose()


async def test_each_statement_is_its_own_transaction(engine: AsyncEngine) -> None:
    # now() is the start of the transaction: equal for two statements in one, not in autocommit.
    async with make_read_sessionmaker(engine)() as session:
        first = await session.scalar(text("SELECT now()"))
        await session.execute(text("SELECT pg_sleep(0.01)"))
        second = await session.scalar(text("SELECT now()"))
    assert first != second


async def test_the_pooled_connection_goes_back_to_transactions(engine: AsyncEngine) -> None:
    # One connection in the pool: the unit of work after a read must get a real transaction.
    async with make_read_sessionmaker(engine)() as session:
        await session.execute(text("SELECT 1"))
    async with make_sessionmaker(engine)() as session, session.begin():
        first = await session.scalar(text("SELECT now()"))
        await session.execute(text("SELECT pg_sleep(0.01)"))
        second = await session.scalar(text("SELECT now()"))
    assert first == second
