"""The image's entrypoint and ``deploy/service_ops.py`` run here, against a real PostgreSQL.

Migrations on an empty database, waiting for them, two migrations at once (the advisory lock), a
missing database URL, and the default ``serve`` mode answering ``/healthz`` and ``/readyz`` with the
image's uvicorn flags. What a container would run, minus the container.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from shared.db import to_async_url
from shared.devstack.postgres import PostgresHandle, drop_database, ensure_database

REPO = Path(__file__).resolve().parents[2]
ENTRYPOINT = REPO / "deploy" / "entrypoint.sh"
SERVICE_OPS = REPO / "deploy" / "service_ops.py"
INIT_SCRIPT = REPO / "deploy" / "postgres" / "init-databases.sh"
MIGRATIONS_TIMEOUT_S = 60


@pytest.fixture
def empty_trades_database(postgres_server: PostgresHandle) -> Iterator[str]:
    name = f"minato_test_deploy_trades_{os.getpid()}"
    ensure_database(postgres_server.admin_url, name, recreate=True)
    yield postgres_server.url_for(name)
    drop_database(postgres_server.admin_url, name)


def run_ops(*args: str, url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "TRADES_DATABASE_URL": url}
    return subprocess.Popen(
        [sys.executable, str(SERVICE_OPS), *args],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    output, _ = process.communicate(timeout=MIGRATIONS_TIMEOUT_S)
    return process.returncode, output


def test_migrate_and_wait_migrations(empty_trades_database: str) -> None:
    url = empty_trades_database
    code, output = finish(run_ops("wait-migrations", "trades", "--timeout", "0", url=url))
    assert code == 1, output
    # Two at once (a retried Job, two init containers): the advisory lock puts them in a row.
    first, second = run_ops("migrate", "trades", url=url), run_ops("migrate", "trades", url=url)
    for process in (first, second):
        code, output = finish(process)
        assert code == 0, output
    code, output = finish(run_ops("wait-migrations", "trades", "--timeout", "0", url=url))
    assert code == 0, output
    assert "schema is current" in output


def test_migrate_without_a_database_url_fails() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADES_")}
    result = subprocess.run(
        [sys.executable, str(SERVICE_OPS), "migrate", "trades"],
        env=env,
        capture_output=True,
        text=True,
        timeout=MIGRATIONS_TIMEOUT_S,
        check=False,
    )
    assert result.returncode != 0
    assert "TRADES_DATABASE_URL is not set" in result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_entrypoint_serves_the_service(empty_trades_database: str) -> None:
    """The image's default command, run here: uvicorn with the image's flags, /healthz and /readyz."""
    url = empty_trades_database
    code, output = finish(run_ops("migrate", "trades", url=url))
    assert code == 0, output
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TRADES_")},
        "SERVICE": "trades",
        "PORT": str(port),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "TRADES_DATABASE_URL": url,
        "TRADES_JWKS_URL": "http://127.0.0.1:9/.well-known/jwks.json",
        "TRADES_ENVIRONMENT": "prod",
    }
    process = subprocess.Popen(
        ["/bin/sh", str(ENTRYPOINT)],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=2) as client:
            while True:
                assert process.poll() is None, process.communicate()[0]
                with contextlib.suppress(httpx.TransportError):
                    if client.get("/healthz").status_code == 200:
                        break
                assert time.monotonic() < deadline, "no /healthz within 30 s"
                time.sleep(0.1)
            assert client.get("/healthz").json()["service"] == "trades"
            assert client.get("/readyz").json()["checks"] == {"database": "ok"}
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    output = process.communicate()[0]
    # uvicorn re-raises the SIGTERM it handled once it has shut down cleanly.
    assert process.returncode in (0, -15), output
    assert "Application shutdown complete" in output


def psql_binary() -> str:
    import pgserver  # the embedded PostgreSQL's wheel ships psql

    bundled = Path(pgserver.__file__).parent / "pginstall" / "bin" / "psql"
    found = str(bundled) if bundled.exists() else shutil.which("psql")
    if not found:
        pytest.skip("no psql")
    return found


def test_postgres_init_script_makes_one_private_database_per_service(
    postgres_server: PostgresHandle,
) -> None:
    """deploy/postgres/init-databases.sh, as the postgres image runs it, against a real server."""
    url = make_url(postgres_server.admin_url)
    suffix = os.getpid()
    services = [f"initdb_a_{suffix}", f"initdb_b_{suffix}"]
    env = {
        "PATH": f"{Path(psql_binary()).parent}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "POSTGRES_USER": url.username or "postgres",
        "PGPASSWORD": url.password or "",
        "PGHOST": str(url.query.get("host") or url.host or ""),
        "PGPORT": str(url.port or 5432),
        "MINATO_SERVICES": " ".join(services),
        **{f"MINATO_DB_PASSWORD_{s}": f"pw-{s}" for s in services},
    }
    admin = create_async_engine(
        to_async_url(postgres_server.admin_url), poolclass=NullPool, isolation_level="AUTOCOMMIT"
    )

    async def query(sql: str) -> list[tuple[object, ...]]:
        async with admin.connect() as connection:
            result = await connection.execute(text(sql))
            return [tuple(row) for row in result] if result.returns_rows else []

    try:
        result = subprocess.run(
            ["/bin/bash", str(INIT_SCRIPT)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        a, b = (f"minato_{s}" for s in services)
        owners = asyncio.run(
            query(
                f"SELECT datname, pg_get_userbyid(datdba) FROM pg_database WHERE datname IN ('{a}', '{b}')"
            )
        )
        assert sorted(owners) == [(a, a), (b, b)]
        crossing = asyncio.run(
            query(
                f"SELECT has_database_privilege('{a}', '{b}', 'CONNECT'),"
                f" has_database_privilege('{a}', '{a}', 'CONNECT')"
            )
        )
        assert crossing == [(False, True)]
        # Missing password: the script stops instead of making a role without one.
        env.pop(f"MINATO_DB_PASSWORD_{services[0]}")
        env["MINATO_SERVICES"] = services[0]
        failed = subprocess.run(
            ["/bin/bash", str(INIT_SCRIPT)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert failed.returncode != 0
        assert f"MINATO_DB_PASSWORD_{services[0]}" in failed.stderr
    finally:
        for service in services:
            drop_database(postgres_server.admin_url, f"minato_{service}")
            asyncio.run(query(f'DROP ROLE IF EXISTS "minato_{service}"'))
        asyncio.run(admin.dispose())
