"""The foundation's promises, checked against real processes through the real gateway."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil

from shared.devstack.postgres import drop_database
from shared.devstack.stack import ALL_SERVICES, BACKENDS, REPO_ROOT, Stack
from shared.testing.plugin import TEST_DATABASE_PREFIX


class TestHealthThroughGateway:
    def test_every_service_is_ready(self, gateway: httpx.Client) -> None:
        response = gateway.get("/health/services")
        assert response.status_code == 200, response.text
        services = response.json()["services"]
        assert set(services) == {spec.name for spec in BACKENDS}
        for name, status in services.items():
            assert status == {"status": "ok", "checks": {"database": "ok"}}, name

    def test_gateway_itself_is_ready(self, gateway: httpx.Client) -> None:
        assert gateway.get("/readyz").status_code == 200


class TestMergedOpenAPI:
    def test_lists_every_service_and_its_paths(self, gateway: httpx.Client, stack: Stack) -> None:
        merged = gateway.get("/openapi.json").json()
        assert "x-unavailable-services" not in merged
        assert {t["name"] for t in merged["tags"]} >= {"gateway", *(s.name for s in BACKENDS)}
        for spec in BACKENDS:
            own = httpx.get(stack.processes[spec.name].url + "/openapi.json").json()
            public = [
                p
                for p in own["paths"]
                if any(p == x or p.startswith(x + "/") for x in spec.route_prefixes)
            ]
            for path in public:
                assert path in merged["paths"], (spec.name, path)
                for operation in merged["paths"][path].values():
                    assert operation["tags"] == [spec.name]

    def test_docs_page_uses_the_merged_document(self, gateway: httpx.Client) -> None:
        response = gateway.get("/docs")
        assert response.status_code == 200
        assert "/openapi.json" in response.text


class TestErrorsThroughGateway:
    def test_unknown_route_is_a_404_problem(self, gateway: httpx.Client) -> None:
        response = gateway.get("/api/v2/nothing-here")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["code"] == "not_found"
        assert body["request_id"] == response.headers["x-request-id"]

    def test_unknown_path_under_a_service_is_that_services_404_problem(
        self, gateway: httpx.Client, auth_headers: dict[str, str]
    ) -> None:
        response = gateway.get(
            "/api/v1/notifications/no-such-thing",
            headers={**auth_headers, "X-Request-ID": "e2e-trace-1"},
        )
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        # The id the caller chose travelled through the gateway to the service and back.
        assert response.json()["request_id"] == "e2e-trace-1"

    def test_malformed_json_is_a_400_problem_from_the_service(
        self, gateway: httpx.Client, auth_headers: dict[str, str]
    ) -> None:
        response = gateway.post(
            "/api/v1/trades",
            content=b'{"direction": "export", "bl_number":',
            headers={**auth_headers, "Content-Type": "application/json"},
        )
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "malformed_json"

    def test_invalid_field_is_a_422_problem_naming_it(
        self, gateway: httpx.Client, auth_headers: dict[str, str]
    ) -> None:
        response = gateway.post(
            "/api/v1/trades", json={"direction": "sideways"}, headers=auth_headers
        )
        assert response.status_code == 422
        assert "direction" in {error["field"] for error in response.json()["errors"]}

    def test_proxied_route_needs_a_token(self, gateway: httpx.Client) -> None:
        response = gateway.get("/api/v1/trades")
        assert response.status_code == 401
        assert response.json()["code"] == "unauthenticated"


class TestObservability:
    def test_one_trace_id_in_the_logs_of_every_process_it_crossed(
        self, gateway: httpx.Client, stack: Stack, auth_headers: dict[str, str]
    ) -> None:
        trace_id = os.urandom(16).hex()
        traceparent = f"00-{trace_id}-{os.urandom(8).hex()}-01"
        gateway.get(
            "/api/v1/notifications/anything", headers={**auth_headers, "traceparent": traceparent}
        )
        for name in ("gateway", "notifications"):
            deadline = time.monotonic() + 5
            while trace_id not in (stack.processes[name].log_path or Path()).read_text():
                assert time.monotonic() < deadline, f"{name} never logged trace {trace_id}"
                time.sleep(0.1)
            lines = [
                json.loads(line)
                for line in stack.processes[name].log_path.read_text().splitlines()  # type: ignore[union-attr]
                if trace_id in line
            ]
            assert any(line.get("event") == "request" for line in lines), lines

    def test_every_process_serves_prometheus_metrics(self, stack: Stack) -> None:
        for spec in (*BACKENDS, ALL_SERVICES[0]):
            text = httpx.get(stack.processes[spec.name].url + "/metrics").text
            assert "minato_http_requests_total" in text, spec.name


class TestFaults:
    def test_stopped_service_is_a_502_problem_in_bounded_time(
        self, gateway: httpx.Client, stack: Stack, auth_headers: dict[str, str]
    ) -> None:
        stack.stop_process("forms")
        try:
            started = time.monotonic()
            response = gateway.get("/api/v1/forms/anything", headers=auth_headers)
            assert time.monotonic() - started < 5
            assert response.status_code == 502
            assert response.json()["code"] == "upstream_unavailable"
            health = gateway.get("/health/services")
            assert health.status_code == 503
            assert health.json()["services"]["forms"]["status"] == "unreachable"
        finally:
            stack.restart_service("forms")
        assert gateway.get("/health/services").status_code == 200

    def test_service_that_never_answers_is_a_504_problem(
        self, stack: Stack, auth_headers: dict[str, str]
    ) -> None:
        with black_hole_server() as port:
            variant = stack.start_gateway_variant(
                "gateway-slow",
                {
                    "GATEWAY_UPSTREAMS": json.dumps({"slow": f"http://127.0.0.1:{port}"}),
                    "GATEWAY_ROUTES": json.dumps({"/api/v1/slow": "slow"}),
                    "GATEWAY_UPSTREAM_READ_TIMEOUT_S": "1.0",
                },
            )
            try:
                started = time.monotonic()
                response = httpx.get(
                    variant.url + "/api/v1/slow/x", headers=auth_headers, timeout=10
                )
                elapsed = time.monotonic() - started
                assert response.status_code == 504
                assert response.json()["code"] == "upstream_timeout"
                assert 0.9 < elapsed < 3
            finally:
                stack.stop_process("gateway-slow")


@contextlib.contextmanager
def black_hole_server() -> Iterator[int]:
    """Accepts connections, reads, never answers: a hung upstream."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    stop = threading.Event()
    held: list[socket.socket] = []

    def accept_forever() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                held.append(conn)
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept_forever, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        listener.close()


class TestMakeRun:
    def test_run_comes_up_and_ctrl_c_leaves_nothing_behind(self) -> None:
        # Not under pytest's tmp dir: another pytest session resets that dir to 0700, which would lock
        # out the unprivileged user the embedded PostgreSQL runs as when we are root.
        data_dir = REPO_ROOT / ".data" / f"run-test-{os.getpid()}"
        env = {
            **os.environ,
            "MINATO_DATA_DIR": str(data_dir),
            "MINATO_DB_PREFIX": f"{TEST_DATABASE_PREFIX}_run_{os.getpid()}",
            "MINATO_FREE_PORTS": "1",
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "shared.devstack", "run"],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        output: list[str] = []
        try:
            gateway_url = None
            deadline = time.monotonic() + 60
            assert process.stdout is not None
            while time.monotonic() < deadline:
                line = process.stdout.readline()
                if not line:
                    break
                output.append(line)
                if "Gateway:" in line:
                    gateway_url = line.split("Gateway:")[1].strip()
                if "Press Ctrl-C" in line:
                    break
            assert gateway_url, "".join(output)
            assert httpx.get(gateway_url + "/health/services").status_code == 200
            descendants = psutil.Process(process.pid).children(recursive=True)
            assert len(descendants) >= 6  # 4 services + gateway + mail sink (+ postgres)
            process.send_signal(signal.SIGINT)
            rest, _ = process.communicate(timeout=30)
            output.append(rest)
            assert process.returncode == 0, "".join(output)
            _gone, alive = psutil.wait_procs(descendants, timeout=10)
            assert alive == [], [p.info if hasattr(p, "info") else p for p in alive]
            assert "Stopped." in "".join(output)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            shutil.rmtree(data_dir, ignore_errors=True)
            if os.environ.get("DATABASE_URL"):  # an external server keeps what we made: tidy up
                for spec in ALL_SERVICES:
                    drop_database(
                        os.environ["DATABASE_URL"], f"{env['MINATO_DB_PREFIX']}_{spec.name}"
                    )
