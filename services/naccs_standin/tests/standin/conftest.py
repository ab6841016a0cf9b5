from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from naccs_standin.app import create_app
from naccs_standin.config import Settings
from naccs_standin.processing import reset_state
from shared.db import to_async_url
from shared.testing.plugin import asgi_client

USER_ID = "MNT01001"
PASSWORD = "pass1234"


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(scope="session")
def standin_database_url(migrated_database) -> str:  # type: ignore[no-untyped-def]
    return migrated_database("naccs_standin")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 22, 9, 0, tzinfo=UTC))


async def reset(url: str) -> None:
    engine = create_async_engine(to_async_url(url), poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            await reset_state(conn)
    finally:
        await engine.dispose()


@pytest.fixture
async def standin(standin_database_url: str, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    """The stand-in app in process with its real database, emptied before each test."""
    await reset(standin_database_url)
    settings = Settings(
        database_url=standin_database_url,
        seed=7,
        permit_delay_s=60,
        users={USER_ID: PASSWORD},
        log_json=False,
        access_log=False,
    )
    async for client in asgi_client(create_app(settings, clock=clock)):
        yield client
