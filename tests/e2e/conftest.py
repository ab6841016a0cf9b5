"""The whole system as real processes: PostgreSQL, every service, the gateway and the SMTP sink.

One stack per test session, on free ports and its own databases (named after the test run's prefix and
pid, dropped at the end), so it never touches a running ``make run`` or another test run. Tests talk HTTP to the gateway like an integrator would.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from shared.devstack.stack import REPO_ROOT, Stack, StackOptions
from shared.testing.otlp import OtlpReceiver
from shared.testing.plugin import TEST_DATABASE_PREFIX


@pytest.fixture(scope="session")
def otlp_receiver() -> Iterator[OtlpReceiver]:
    """Where every process of the stack sends its traces (as to a collector)."""
    receiver = OtlpReceiver().start()
    yield receiver
    receiver.stop()


def e2e_stack_options(data_dir: Path, label: str, **overrides: Any) -> StackOptions:
    """A stack on free ports and its own databases (dropped at the end), beside any other."""
    settings: dict[str, Any] = {
        "data_dir": data_dir,
        "postgres_dir": REPO_ROOT / ".data" / "pg-test",
        "database_prefix": f"{TEST_DATABASE_PREFIX}_{label}_{os.getpid()}",
        "recreate_databases": True,
        "drop_databases_on_stop": True,
        "environment": "test",
        "pick_free_ports": True,
        "log_dir": data_dir / "logs",
        "upstream_read_timeout_s": 10.0,
    }
    settings.update(overrides)
    return StackOptions(**settings)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, otlp_receiver: OtlpReceiver) -> Iterator[Stack]:
    options = e2e_stack_options(
        tmp_path_factory.mktemp("e2e"),
        "e2e",
        # The whole suite runs traced, exporting over OTLP/HTTP like a deployment would.
        extra_env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.url,
            "OTEL_BSP_SCHEDULE_DELAY": "200",
        },
    )
    running = Stack(options)
    try:
        running.start()
    except Exception:
        for process in running.processes.values():
            print(f"--- {process.name} ---\n{process.log_tail()}")  # noqa: T201
        running.stop()
        raise
    yield running
    running.stop()


@pytest.fixture(scope="session")
def gateway_url(stack: Stack) -> str:
    return stack.gateway_url


@pytest.fixture
def gateway(gateway_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway_url, timeout=httpx.Timeout(15.0)) as client:
        yield client


def sign_with_gateway_key(stack: Stack, **claims: Any) -> str:
    """A token signed with the running gateway's own key, as its token endpoint would sign it."""
    key_path = sorted((stack.options.data_dir / "keys").glob("*.pem"))[-1]
    private_key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": "minato-gateway",
        "aud": "minato",
        "sub": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 300,
        "kind": "user",
        **claims,
    }
    return jwt.encode(body, private_key, algorithm="RS256", headers={"kid": key_path.stem})  # type: ignore[arg-type]


@pytest.fixture
def auth_headers(stack: Stack) -> dict[str, str]:
    return {"Authorization": f"Bearer {sign_with_gateway_key(stack, org=str(uuid.uuid4()))}"}


@pytest.fixture
def sign(stack: Stack) -> Callable[..., str]:
    """``sign(org=..., forms=...)``: a token signed with the running gateway's key."""
    return lambda **claims: sign_with_gateway_key(stack, **claims)
