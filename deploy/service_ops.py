"""What a service's container does besides serving: ``python deploy/service_ops.py MODE SERVICE``.

- ``migrate``: apply the service's Alembic migrations to ``<PREFIX>DATABASE_URL`` (the prefix is the
  one its ``config.Settings`` reads, e.g. ``TRADES_``). Holds a PostgreSQL advisory lock meanwhile, so
  two runs at once (a Job retried while the first still runs, an init container per replica) apply
  them one after the other instead of racing.
- ``wait-migrations``: exit 0 as soon as the database has every migration this image knows (or a
  newer revision this image does not know, as during a rollback), 1 after ``--timeout`` seconds. A
  Deployment's init container, so new pods never serve against an old schema.
- ``init-keys`` (gateway): create a signing key in ``GATEWAY_KEYS_DIR`` when it holds none; a
  deployment whose keys come from a secret store does not need it.

Only the database URL is read, not the whole ``Settings``: migrations need no other secret.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db import to_async_url
from shared.migrations import alembic_config, upgrade

# pg_advisory_lock key (any constant; advisory locks are per database, each service has its own).
MIGRATION_LOCK_KEY = 0x6D696E61746F  # "minato"

T = TypeVar("T")


def log(message: str) -> None:
    print(f"service_ops: {message}", file=sys.stderr, flush=True)  # noqa: T201 - a CLI


def env_prefix(service: str) -> str:
    settings_class = importlib.import_module(f"{service}.config").Settings
    return str(settings_class.model_config.get("env_prefix", ""))


def database_url(service: str) -> str:
    name = env_prefix(service) + "DATABASE_URL"
    url = os.environ.get(name, "")
    if not url:
        raise SystemExit(f"{name} is not set")
    return url


def service_root(service: str) -> Path:
    """Where alembic.ini and migrations/ are: /app/services/<service> in the image."""
    default = Path(__file__).resolve().parents[1] / "services" / service
    return Path(os.environ.get("SERVICE_ROOT", str(default)))


async def _on_connection(url: str, work: Callable[[Connection], T]) -> T:
    engine = create_async_engine(
        to_async_url(url), poolclass=pool.NullPool, isolation_level="AUTOCOMMIT"
    )
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(work)
    finally:
        await engine.dispose()


def migrate(service: str) -> None:
    url, root = database_url(service), service_root(service)

    def locked_upgrade(connection: Connection) -> None:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        try:
            # upgrade() runs its own event loop: give it a thread of its own.
            error: list[BaseException] = []

            def run() -> None:
                try:
                    upgrade(root, url)
                except BaseException as exc:
                    error.append(exc)

            thread = threading.Thread(target=run, name="alembic-upgrade")
            thread.start()
            thread.join()
            if error:
                raise error[0]
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})

    log(f"{service}: applying migrations from {root}")
    asyncio.run(_on_connection(url, locked_upgrade))
    log(f"{service}: database at head")


def schema_is_current(service: str) -> bool:
    url, root = database_url(service), service_root(service)
    script = ScriptDirectory.from_config(alembic_config(root, url))

    def current(connection: Connection) -> set[str]:
        return set(MigrationContext.configure(connection).get_current_heads())

    applied: set[str] = set()
    for head in asyncio.run(_on_connection(url, current)):
        if not _known(script, head):
            log(f"{service}: database at {head}, newer than this image: going on")
            return True
        applied.update(rev.revision for rev in script.iterate_revisions(head, "base"))
    return set(script.get_heads()) <= applied


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except Exception:
        return False


def wait_migrations(service: str, timeout_s: float, interval_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if schema_is_current(service):
                log(f"{service}: schema is current")
                return 0
            log(f"{service}: waiting for migrations")
        except (OSError, ConnectionError) as exc:
            log(f"{service}: database not reachable yet ({exc})")
        if time.monotonic() >= deadline:
            log(f"{service}: schema still not current after {timeout_s:.0f} s")
            return 1
        time.sleep(interval_s)


def init_keys(service: str) -> None:
    if service != "gateway":
        raise SystemExit("init-keys is for the gateway image")
    keys = importlib.import_module("gateway.keys")
    keys_dir = Path(os.environ.get("GATEWAY_KEYS_DIR", "/var/lib/minato/keys"))
    existing = keys.load_keys(keys_dir)
    if existing:
        log(f"{len(existing)} signing key(s) in {keys_dir}, newest {existing[-1].kid}")
        return
    log(f"created signing key {keys.generate_key(keys_dir).kid} in {keys_dir}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("mode", choices=["migrate", "wait-migrations", "init-keys"])
    parser.add_argument("service", help="the service package, e.g. trades")
    parser.add_argument("--timeout", type=float, default=300.0, help="wait-migrations: seconds")
    parser.add_argument("--interval", type=float, default=2.0, help="wait-migrations: poll seconds")
    args = parser.parse_args(argv)
    if args.mode == "migrate":
        migrate(args.service)
        return 0
    if args.mode == "wait-migrations":
        return wait_migrations(args.service, args.timeout, args.interval)
    init_keys(args.service)
    return 0


if __name__ == "__main__":
    sys.exit(main())
