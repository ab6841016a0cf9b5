"""The migrations go up, down to the baseline and up again on a real database."""

from __future__ import annotations

import asyncio

import asyncpg
from alembic import command

from shared.devstack.postgres import PostgresHandle, drop_database, ensure_database
from shared.migrations import alembic_config
from shared.testing.plugin import REPO_ROOT, TEST_DATABASE_PREFIX

SERVICE_ROOT = REPO_ROOT / "services" / "notifications"


async def tables(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )
        return {row["tablename"] for row in rows}
    finally:
        await conn.close()


def test_upgrade_downgrade_upgrade(postgres_server: PostgresHandle) -> None:
    name = f"{TEST_DATABASE_PREFIX}_notifications_migrations"
    ensure_database(postgres_server.admin_url, name, recreate=True)
    url = postgres_server.url_for(name)
    config = alembic_config(SERVICE_ROOT, url)
    try:
        command.upgrade(config, "head")
        created = asyncio.run(tables(url))
        assert {"events", "event_audience", "webhook_endpoints", "webhook_deliveries"} <= created
        command.downgrade(config, "notifications0001")
        assert asyncio.run(tables(url)) == set()
        command.upgrade(config, "head")
        assert asyncio.run(tables(url)) == created
    finally:
        drop_database(postgres_server.admin_url, name)
