"""Alembic, the same way for every service: ``env.py`` calls ``run_migrations``; tools call ``upgrade``."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db import to_async_url


def alembic_config(service_root: Path, database_url: str) -> Config:
    config = Config(str(service_root / "alembic.ini"))
    config.set_main_option("script_location", str(service_root / "migrations"))
    config.attributes["database_url"] = database_url
    return config


def upgrade(service_root: Path, database_url: str, revision: str = "head") -> None:
    """Apply a service's migrations. Synchronous: call it from a thread when a loop is running."""
    command.upgrade(alembic_config(service_root, database_url), revision)


def run_migrations(target_metadata: MetaData) -> None:
    """The body of every service's ``migrations/env.py`` (online, async engine, ``run_sync``)."""
    config = context.config
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL given to alembic")

    def do_run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            compare_type=True,
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_async_engine(to_async_url(url), poolclass=pool.NullPool)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(do_run)
        finally:
            await engine.dispose()

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(run_async())
