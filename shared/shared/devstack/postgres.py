"""A real PostgreSQL for dev and tests: ``DATABASE_URL`` when given, else one embedded from ``pgserver``."""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# pgserver hands every caller in a process the same server object and stops it at the first
# cleanup() of that process; our handles count their users so the last one stops it.
_embedded_users: dict[Path, int] = {}


@dataclass
class PostgresHandle:
    """An admin URL for a server, and how to let go of it."""

    admin_url: str
    embedded: bool
    _server: Any = field(default=None, repr=False)

    def url_for(self, database: str) -> str:
        return database_url(self.admin_url, database)

    def release(self) -> None:
        """Let go of the server; the embedded one stops when no handle and no other process uses it."""
        if self._server is None:
            return
        key = Path(self._server.pgdata)
        _embedded_users[key] -= 1
        if _embedded_users[key] == 0:
            del _embedded_users[key]
            self._server.cleanup()  # pgserver stops it unless another process still uses it
        self._server = None


def database_url(admin_url: str, database: str) -> str:
    return make_url(admin_url).set(database=database).render_as_string(hide_password=False)


def start_postgres(data_dir: Path, *, external_url: str | None = None) -> PostgresHandle:
    """Use ``external_url`` (normally ``DATABASE_URL``) or start/attach to the embedded server."""
    url = external_url if external_url is not None else os.environ.get("DATABASE_URL")
    if url:
        return PostgresHandle(admin_url=url, embedded=False)
    import pgserver  # imported late: it is only needed when no server is given

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode="stop")  # type: ignore[attr-defined]
    key = Path(server.pgdata)
    _embedded_users[key] = _embedded_users.get(key, 0) + 1
    return PostgresHandle(admin_url=server.get_uri("postgres"), embedded=True, _server=server)


def _check_name(name: str) -> str:
    if not _DB_NAME.match(name):
        raise ValueError(f"unsafe database name: {name!r}")
    return name


async def _admin_connect(admin_url: str) -> asyncpg.Connection:
    return await asyncpg.connect(database_url(admin_url, "postgres").replace("+asyncpg", ""))


async def ensure_database_async(admin_url: str, name: str, *, recreate: bool = False) -> None:
    name = _check_name(name)
    conn = await _admin_connect(admin_url)
    try:
        if recreate:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            except asyncpg.DuplicateDatabaseError:
                pass  # created concurrently by another process: fine
    finally:
        await conn.close()


def ensure_database(admin_url: str, name: str, *, recreate: bool = False) -> None:
    asyncio.run(ensure_database_async(admin_url, name, recreate=recreate))


async def server_version(admin_url: str) -> str:
    conn = await _admin_connect(admin_url)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


async def drop_database_async(admin_url: str, name: str) -> None:
    conn = await _admin_connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{_check_name(name)}" WITH (FORCE)')
    finally:
        await conn.close()


def drop_database(admin_url: str, name: str) -> None:
    asyncio.run(drop_database_async(admin_url, name))
