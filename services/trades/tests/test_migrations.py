"""The migrations create exactly what the ORM models declare, and downgrade cleanly."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db import to_async_url
from shared.devstack.postgres import PostgresHandle, ensure_database
from shared.migrations import alembic_config, upgrade
from shared.testing.plugin import TEST_DATABASE_PREFIX
from trades.db.models import TradesBase

SERVICE_ROOT = Path(__file__).resolve().parents[1]


async def drift(url: str) -> list[Any]:
    engine = create_async_engine(to_async_url(url), poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}),
                    TradesBase.metadata,
                )
            )
    finally:
        await engine.dispose()


async def test_models_match_migrations_and_downgrade_works(postgres_server: PostgresHandle) -> None:
    # Its own database (named like the suite's, so parallel runs with other prefixes do not collide).
    name = f"{TEST_DATABASE_PREFIX}_trades_migrations"
    await asyncio.to_thread(ensure_database, postgres_server.admin_url, name, recreate=True)
    url = postgres_server.url_for(name)
    await asyncio.to_thread(upgrade, SERVICE_ROOT, url)
    assert await drift(url) == []
    config = alembic_config(SERVICE_ROOT, url)
    await asyncio.to_thread(command.downgrade, config, "base")
    await asyncio.to_thread(command.upgrade, config, "head")
    assert await drift(url) == []
