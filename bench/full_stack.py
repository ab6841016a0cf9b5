"""The whole system for the webhook fan-out and export-journey scenarios: every service booted by
``shared.devstack.stack`` (embedded PostgreSQL in ``.data/pg-bench``, or ``DATABASE_URL``) on free
ports, with fresh databases (``minato_benchrun_<pid>_*``) dropped at the end; service tokens; and the
webhook receiver process (``bench.webhook_receiver``).

Everything is started in its own session and stopped by the context managers, so ``make bench``
leaves nothing running.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization

from bench.gateway_hop import wait_http
from shared.devstack.stack import ALL_SERVICES, REPO_ROOT, Stack, StackOptions, free_port

BENCH_POSTGRES_DIR = REPO_ROOT / ".data" / "pg-bench"


@contextlib.contextmanager
def running_system(extra_env: Mapping[str, str]) -> Iterator[Stack]:
    """Every process of the system; ``extra_env`` is what a scenario changes from the defaults."""
    work = Path(tempfile.mkdtemp(prefix="minato-bench-system-"))
    options = StackOptions(
        data_dir=work,
        postgres_dir=BENCH_POSTGRES_DIR,
        database_prefix=f"minato_benchrun_{os.getpid()}",
        recreate_databases=True,
        drop_databases_on_stop=True,
        environment="test",
        pick_free_ports=True,
        log_dir=work / "logs",
        extra_env=dict(extra_env),
    )
    stack = Stack(options)
    try:
        try:
            stack.start()
        except Exception:
            for process in stack.processes.values():
                print(f"--- {process.name} ---\n{process.log_tail()}", file=sys.stderr)
            raise
        yield stack
    finally:
        stack.stop()
        shutil.rmtree(work, ignore_errors=True)


def restart_with(stack: Stack, name: str, env: Mapping[str, str]) -> None:
    """Restart one service with some environment changed; the other processes keep running."""
    spec = next(s for s in ALL_SERVICES if s.name == name)
    saved = stack.options.extra_env
    stack.stop_process(name)
    stack.options.extra_env = {**saved, **env}
    try:
        stack.start_service(spec)
    finally:
        stack.options.extra_env = saved
    running = stack.processes[name]
    deadline = time.monotonic() + 60
    while True:
        if running.process.poll() is not None:
            raise RuntimeError(f"{name} exited\n{running.log_tail()}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(running.url + "/readyz", timeout=2).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} not ready\n{running.log_tail()}")
        time.sleep(0.1)


def signed_token(stack: Stack, **claims: Any) -> str:
    """A user token (1 h) signed with the running gateway's own key, as tests/e2e sign them."""
    key_path = sorted((stack.options.data_dir / "keys").glob("*.pem"))[-1]
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": "minato-gateway",
        "aud": "minato",
        "sub": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 3600,
        "kind": "user",
        **claims,
    }
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": key_path.stem})  # type: ignore[arg-type]


def service_token(stack: Stack, service: str) -> str:
    """A service's own token from the gateway's client-credentials grant, as its outbox relay gets it."""
    response = httpx.post(
        stack.gateway_url + "/api/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": f"svc-{service}",
            "client_secret": stack.service_secrets[service],
        },
        timeout=10,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


class Receiver:
    """Talks to ``bench.webhook_receiver`` running in its own process (see there)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = httpx.Client(base_url=url, timeout=30)

    def add_secrets(self, secrets: Mapping[str, str]) -> None:
        self.client.post("/secrets", json=dict(secrets)).raise_for_status()

    def reset(self) -> None:
        self.client.post("/reset").raise_for_status()

    def stats(self, with_ids: bool = False) -> dict[str, Any]:
        response = self.client.get("/stats", params={"ids": "1"} if with_ids else None)
        response.raise_for_status()
        stats: dict[str, Any] = response.json()
        return stats


@contextlib.contextmanager
def running_receiver() -> Iterator[Receiver]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.webhook_receiver:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
            "--lifespan",
            "off",
            "--timeout-keep-alive",
            "65",
        ],
        cwd=REPO_ROOT,
        start_new_session=True,
    )
    receiver = Receiver(f"http://127.0.0.1:{port}")
    try:
        wait_http(receiver.url + "/healthz")
        yield receiver
    finally:
        receiver.client.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
