"""The image's entrypoint and ``deploy/service_ops.py`` run here, against a real PostgreSQL.

Migrations on an empty database, waiting for them, two migrations at once (the advisory lock), a
missing database URL, and the default ``serve`` mode answering ``/healthz`` and ``/readyz`` with the
image's uvicorn flags. What a container would run, minus the container.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shared.devstack.postgres import PostgresHandle, drop_database, ensure_database

REPO = Path(__file__).resolve().parents[2]
ENTRYPOINT = REPO / "deploy" / "entrypoint.sh"
SERVICE_OPS = REPO / "deploy" / "service_ops.py"
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
