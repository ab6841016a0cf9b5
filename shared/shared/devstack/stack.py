"""Start every Minato process on one machine, wait until each is ready, stop them all cleanly.

Order: PostgreSQL (given or embedded) → one database per service → each service's Alembic migrations
→ SMTP sink → services → gateway. Every child runs in its own session so that stopping is ours to
order: on Ctrl-C or SIGTERM we terminate the children, wait, kill stragglers, then stop the database.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from shared.devstack.postgres import (
    PostgresHandle,
    drop_database,
    ensure_database,
    start_postgres,
)
from shared.migrations import upgrade

REPO_ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class ServiceSpec:
    name: str  # import package and directory name
    env_prefix: str
    default_port: int
    route_prefixes: tuple[str, ...] = ()  # public paths the gateway sends to this service

    @property
    def root(self) -> Path:
        return REPO_ROOT / "services" / self.name

    @property
    def factory(self) -> str:
        return f"{self.name}.app:create_app"


GATEWAY = ServiceSpec("gateway", "GATEWAY_", 8000)
BACKENDS: tuple[ServiceSpec, ...] = (
    ServiceSpec("trades", "TRADES_", 8001, ("/api/v1/trades",)),
    ServiceSpec("forms", "FORMS_", 8002, ("/api/v1/forms", "/api/v1/form-types")),
    ServiceSpec("naccs_bridge", "NACCS_BRIDGE_", 8003, ("/api/v1/naccs",)),
    ServiceSpec("notifications", "NOTIFICATIONS_", 8004, ("/api/v1/notifications",)),
)
# NACCS itself in development: an external system in miniature (own process and database), so the
# gateway does not route to it and it gets no service client. Started before the services.
NACCS_STANDIN = ServiceSpec("naccs_standin", "NACCS_STANDIN_", 8010)
ALL_SERVICES: tuple[ServiceSpec, ...] = (GATEWAY, *BACKENDS, NACCS_STANDIN)
# Dev only (never in test or prod): the gateway seeds this platform operator and logs its login.
DEMO_OPERATOR_EMAIL = "operator@demo.minato.dev"
DEMO_OPERATOR_PASSWORD = "minato-demo-operator-2026"  # noqa: S105 - a published dev-only login


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass
class StackOptions:
    data_dir: Path = REPO_ROOT / ".data"
    postgres_dir: Path = REPO_ROOT / ".data" / "pg"
    database_prefix: str = "minato"
    recreate_databases: bool = False
    drop_databases_on_stop: bool = False
    environment: str = "dev"
    pick_free_ports: bool = False
    log_dir: Path | None = None  # None: children write to our stdout/stderr
    upstream_read_timeout_s: float = 30.0
    extra_env: Mapping[str, str] = field(default_factory=dict)
    # Processes per service (gateway included; the NACCS stand-in, an outside system, stays one).
    # Replica 1 is ``trades`` on trades' port, replica k is ``trades-k`` on that port + 100 * (k-1).
    replicas: int = 1


def options_from_env() -> StackOptions:
    """``make run`` settings a person may change: where data lives, database names, ports."""
    data_dir = Path(os.environ.get("MINATO_DATA_DIR", str(REPO_ROOT / ".data")))
    return StackOptions(
        data_dir=data_dir,
        postgres_dir=data_dir / "pg",
        database_prefix=os.environ.get("MINATO_DB_PREFIX", "minato"),
        pick_free_ports=os.environ.get("MINATO_FREE_PORTS", "") == "1",
        replicas=max(1, int(os.environ.get("MINATO_REPLICAS", "1") or "1")),
    )


@dataclass
class RunningProcess:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path | None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class Stack:
    def __init__(self, options: StackOptions | None = None) -> None:
        self.options = options or StackOptions()
        self.postgres: PostgresHandle | None = None
        self.processes: dict[str, RunningProcess] = {}
        self.ports: dict[str, int] = {}
        self._log_files: list[IO[bytes]] = []
        self._stopped: set[str] = set()  # stopped on purpose (fault tests): not waited for
        # One service client per backend (``svc-<name>``), with a secret made for this run only.
        self.service_secrets: dict[str, str] = {
            spec.name: secrets.token_urlsafe(32) for spec in BACKENDS
        }

    # -- database -------------------------------------------------------------------------------
    def database_name(self, service: ServiceSpec) -> str:
        return f"{self.options.database_prefix}_{service.name}"

    def prepare_databases(self, only: ServiceSpec | None = None) -> None:
        self.postgres = start_postgres(self.options.postgres_dir)
        for service in ALL_SERVICES if only is None else (only,):
            name = self.database_name(service)
            ensure_database(self.postgres.admin_url, name, recreate=self.options.recreate_databases)
            upgrade(service.root, self.postgres.url_for(name))

    # -- processes ------------------------------------------------------------------------------
    def _port(self, key: str, default: int) -> int:
        if key not in self.ports:
            if self.options.pick_free_ports or not port_is_free(default):
                self.ports[key] = free_port()
            else:
                self.ports[key] = default
        return self.ports[key]

    def replica_count(self, service: ServiceSpec) -> int:
        return 1 if service is NACCS_STANDIN else max(1, self.options.replicas)

    def replica_name(self, service: ServiceSpec, index: int) -> str:
        return service.name if index == 0 else f"{service.name}-{index + 1}"

    def replica_urls(self, service: ServiceSpec) -> list[str]:
        """Every replica's URL, the first one first (the one a single-process stack has)."""
        return [
            f"http://127.0.0.1:"
            f"{self._port(self.replica_name(service, i), service.default_port + 100 * i)}"
            for i in range(self.replica_count(service))
        ]

    def _replica_of(self, name: str) -> tuple[ServiceSpec, int]:
        for spec in ALL_SERVICES:
            for index in range(self.replica_count(spec)):
                if self.replica_name(spec, index) == name:
                    return spec, index
        raise KeyError(name)

    def _spawn(self, name: str, argv: list[str], env: Mapping[str, str], port: int) -> None:
        log_path = None
        stdout: IO[bytes] | None = None
        if self.options.log_dir is not None:
            self.options.log_dir.mkdir(parents=True, exist_ok=True)
            log_path = self.options.log_dir / f"{name}.log"
            stdout = log_path.open("ab")
            self._log_files.append(stdout)
        process = subprocess.Popen(  # noqa: S603 - our own argv
            argv,
            env={**os.environ, **env},
            cwd=REPO_ROOT,
            stdout=stdout,
            stderr=subprocess.STDOUT if stdout else None,
            start_new_session=True,
        )
        self.processes[name] = RunningProcess(name, process, port, log_path)
        self._stopped.discard(name)

    def service_env(self, service: ServiceSpec) -> dict[str, str]:
        assert self.postgres is not None
        prefix = service.env_prefix
        gateway_port = self._port(GATEWAY.name, GATEWAY.default_port)
        replicas = {spec: self.replica_urls(spec) for spec in ALL_SERVICES}
        env = {
            f"{prefix}SERVICE_NAME": service.name,
            f"{prefix}ENVIRONMENT": self.options.environment,
            f"{prefix}DATABASE_URL": self.postgres.url_for(self.database_name(service)),
            f"{prefix}JWKS_URL": f"http://127.0.0.1:{gateway_port}/.well-known/jwks.json",
            f"{prefix}LOG_JSON": "true",
            # Mail goes to the dev SMTP sink; links in mail and events point at the gateway.
            f"{prefix}SMTP_HOST": "127.0.0.1",
            f"{prefix}SMTP_PORT": str(self.ports.get("smtp", 8025)),
            f"{prefix}PUBLIC_BASE_URL": f"http://127.0.0.1:{gateway_port}",
            # Where the others are, for service-to-service calls: `<prefix>TRADES_URL`, ... A service's
            # Settings declares the ones it uses (e.g. `trades_url`); the rest are ignored.
            **{
                f"{prefix}{spec.env_prefix}URL": replicas[spec][0]
                for spec in ALL_SERVICES
                if spec is not service
            },
        }
        if self.options.replicas > 1:
            # Calls to a first replica's URL are spread over all of them (shared.http.PeerReplicas).
            env[f"{prefix}PEER_REPLICAS"] = json.dumps(
                {urls[0]: urls for urls in replicas.values() if len(urls) > 1}
            )
        if service is GATEWAY:
            upstreams = {
                spec.name: replicas[spec] if len(replicas[spec]) > 1 else replicas[spec][0]
                for spec in BACKENDS
            }
            routes = {
                prefix_path: spec.name for spec in BACKENDS for prefix_path in spec.route_prefixes
            }
            env.update(
                {
                    "GATEWAY_UPSTREAMS": json.dumps(upstreams),
                    "GATEWAY_ROUTES": json.dumps(routes),
                    "GATEWAY_UPSTREAM_READ_TIMEOUT_S": str(self.options.upstream_read_timeout_s),
                    "GATEWAY_KEYS_DIR": str(self.options.data_dir / "keys"),
                    "GATEWAY_PUBLIC_URL": f"http://127.0.0.1:{gateway_port}",
                    "GATEWAY_SERVICE_CLIENTS": json.dumps(self.service_secrets),
                }
            )
            if self.options.environment == "dev":
                env.update(
                    {
                        "GATEWAY_DEMO_OPERATOR_EMAIL": DEMO_OPERATOR_EMAIL,
                        "GATEWAY_DEMO_OPERATOR_PASSWORD": DEMO_OPERATOR_PASSWORD,
                        "GATEWAY_OPERATOR_REQUIRE_TOTP": "false",
                    }
                )
        elif service is not NACCS_STANDIN:
            # How this service gets its own token (shared.service_auth.ServiceTokenProvider).
            env.update(
                {
                    f"{prefix}TOKEN_URL": f"http://127.0.0.1:{gateway_port}/api/v1/auth/token",
                    f"{prefix}SERVICE_CLIENT_ID": f"svc-{service.name}",
                    f"{prefix}SERVICE_CLIENT_SECRET": self.service_secrets[service.name],
                }
            )
        if service.name == "naccs_bridge":
            env["NACCS_BRIDGE_NACCS_URL"] = env["NACCS_BRIDGE_NACCS_STANDIN_URL"]
        env.update(self.options.extra_env)
        return env

    def start_service(self, service: ServiceSpec, replica: int = 0) -> None:
        name = self.replica_name(service, replica)
        port = self._port(name, service.default_port + 100 * replica)
        argv = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            service.factory,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
            "--timeout-graceful-shutdown",
            "5",
            # Longer than the gateway pool's keep-alive, so the gateway closes idle connections first.
            "--timeout-keep-alive",
            "65",
        ]
        self._spawn(name, argv, self.service_env(service), port)

    def start_smtp_sink(self) -> None:
        smtp_port = self._port("smtp", 8025)
        http_port = self._port("smtp_http", 8026)
        argv = [
            sys.executable,
            "-m",
            "shared.devstack.smtp_sink",
            "--smtp-port",
            str(smtp_port),
            "--http-port",
            str(http_port),
            "--maildir",
            str(self.options.data_dir / "mail" / self.options.database_prefix),
        ]
        self._spawn("smtp-sink", argv, {}, http_port)

    def wait_ready(self, timeout_s: float = 60.0, only: Collection[str] | None = None) -> None:
        deadline = time.monotonic() + timeout_s
        with httpx.Client(timeout=httpx.Timeout(2.0)) as client:
            for running in self.processes.values():
                if running.name in self._stopped or (only is not None and running.name not in only):
                    continue
                path = "/healthz" if running.name == "smtp-sink" else "/readyz"
                while True:
                    if running.process.poll() is not None:
                        raise RuntimeError(
                            f"{running.name} exited with {running.process.returncode}\n"
                            + running.log_tail()
                        )
                    try:
                        if client.get(running.url + path).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{running.name} not ready\n" + running.log_tail())
                    time.sleep(0.1)

    def restart_service(self, name: str) -> None:
        """Start a stopped service (or replica, e.g. ``trades-2``) again on the same port (fault tests)."""
        spec, replica = self._replica_of(name)
        self.stop_process(name)
        self.start_service(spec, replica)
        self.wait_ready()

    def start_gateway_variant(self, name: str, env: Mapping[str, str]) -> RunningProcess:
        """A second gateway process with some settings changed (e.g. an upstream that never answers)."""
        port = free_port()
        self.ports[name] = port
        argv = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            GATEWAY.factory,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        self._spawn(name, argv, {**self.service_env(GATEWAY), **env}, port)
        self.wait_ready()
        return self.processes[name]

    def start(self) -> None:
        self.prepare_databases()
        self.start_smtp_sink()
        self.start_service(NACCS_STANDIN)
        for service in BACKENDS:
            for replica in range(self.replica_count(service)):
                self.start_service(service, replica)
        self.start_service(GATEWAY)
        if self.replica_count(GATEWAY) > 1:
            # The first gateway makes the dev signing key; the others start once it is there.
            self.wait_ready(only={GATEWAY.name})
            for replica in range(1, self.replica_count(GATEWAY)):
                self.start_service(GATEWAY, replica)
        self.wait_ready()

    def stop_process(self, name: str, timeout_s: float = 10.0) -> None:
        self._stopped.add(name)
        running = self.processes.get(name)
        if running is None or running.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(running.process.pid, signal.SIGTERM)
        try:
            running.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(running.process.pid, signal.SIGKILL)
            running.process.wait(5)

    def stop(self) -> None:
        # All asked at once (each drains its own work), then waited for: the slowest sets the pace.
        for name in reversed(list(self.processes)):
            running = self.processes[name]
            if running.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(running.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10.0
        for name in reversed(list(self.processes)):
            self._stopped.add(name)
            process = self.processes[name].process
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        for log_file in self._log_files:
            log_file.close()
        self._log_files.clear()
        if self.postgres is not None:
            if self.options.drop_databases_on_stop:
                for service in ALL_SERVICES:
                    drop_database(self.postgres.admin_url, self.database_name(service))
            self.postgres.release()
            self.postgres = None

    @property
    def gateway_url(self) -> str:
        return self.processes[GATEWAY.name].url

    @contextlib.contextmanager
    def running(self) -> Iterator[Stack]:
        try:
            self.start()
            yield self
        finally:
            self.stop()
