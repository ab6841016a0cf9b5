"""pytest plugin for every service (loaded with ``-p shared.testing.plugin``).

A real PostgreSQL for the whole session (``DATABASE_URL`` when set, otherwise the embedded one from
``pgserver``), one migrated database per service (Alembic, never ``create_all``, so migrations are
tested on every run), and per test a connection whose outer transaction is rolled back at the end:
the app's commits become savepoint releases (``join_transaction_mode="create_savepoint"``).

A service's ``conftest.py`` declares which database it wants::

    @pytest.fixture(scope="session")
    def database_url(migrated_database): return migrated_database("trades")
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from shared.db import get_read_session, get_session, to_async_url
from shared.devstack.postgres import (
    PostgresHandle,
    drop_database,
    ensure_database,
    start_postgres,
)
from shared.migrations import upgrade
from shared.testing.tokens import TestIssuer

REPO_ROOT = Path(__file__).resolve().parents[3]
# Unique per test run (and dropped at its end), so concurrent runs on one server never drop each
# other's databases. Set MINATO_TEST_DB_PREFIX to keep a run's databases for inspection.
_KEEP_DATABASES = "MINATO_TEST_DB_PREFIX" in os.environ
TEST_DATABASE_PREFIX = os.environ.get("MINATO_TEST_DB_PREFIX", f"minato_test_{os.getpid()}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresHandle]:
    handle = start_postgres(REPO_ROOT / ".data" / "pg-test")
    yield handle
    handle.release()


@pytest.fixture(scope="session")
def migrated_database(postgres_server: PostgresHandle) -> Iterator[Callable[[str], str]]:
    """``migrated_database("trades")`` → URL of a fresh database with trades' migrations applied."""
    ready: dict[str, str] = {}

    def make(service: str) -> str:
        if service not in ready:
            name = f"{TEST_DATABASE_PREFIX}_{service}"
            ensure_database(postgres_server.admin_url, name, recreate=True)
            url = postgres_server.url_for(name)
            upgrade(REPO_ROOT / "services" / service, url)
            ready[service] = url
        return ready[service]

    yield make
    if not _KEEP_DATABASES:
        for service in ready:
            drop_database(postgres_server.admin_url, f"{TEST_DATABASE_PREFIX}_{service}")


@pytest.fixture(scope="session")
def token_issuer() -> TestIssuer:
    return TestIssuer()


@pytest.fixture
async def db_connection(database_url: str) -> AsyncIterator[AsyncConnection]:
    # One engine per test: asyncpg connections belong to the event loop that made them.
    engine = create_async_engine(to_async_url(database_url), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            transaction = await connection.begin()
            try:
                yield connection
            finally:
                if transaction.is_active:
                    await transaction.rollback()
    finally:
        await engine.dispose()


@pytest.fixture
async def db_session(db_connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
    session = AsyncSession(
        bind=db_connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        await session.close()


def use_test_session(app: FastAPI, session: AsyncSession) -> None:
    """Make the app's unit of work run inside the test's rolled-back transaction."""

    async def test_unit_of_work() -> AsyncIterator[AsyncSession]:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()
        finally:
            session.expunge_all()

    async def test_read() -> AsyncIterator[AsyncSession]:
        yield session

    app.dependency_overrides[get_session] = test_unit_of_work
    app.dependency_overrides[get_read_session] = test_read


async def asgi_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client bound to the app in process, with its lifespan running."""
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client
