"""Gateway hop: the same trivial upstream, reached directly, through nginx, and through our gateway.

Targets (issue 9): gateway throughput >= 0.6 x nginx proxying the same upstream; added p50 latency at
concurrency 1 <= 0.3 ms. Everything runs on this machine; wrk shares the two cores with the servers, so
the numbers are reported as ratios measured in the same run.

Besides req/s, each run records the CPU time the proxy process (and the upstream) spent per request,
read from /proc: it is what the hop costs, and it drifts far less than req/s when other work shares the
machine. ``BENCH_GATEWAYS`` picks the gateway variants (default ``native,aiohttp``: the proxy clients
of ``GATEWAY_PROXY_CLIENT``); ``gateway`` in the results is the first one. ``BENCH_BASELINE_TREE``
names a directory holding an older ``shared/`` and ``services/gateway/`` (``git archive <rev> shared
services/gateway | tar -x -C DIR``): it runs as ``gateway-baseline``, for a before/after in one run.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization

from shared.devstack.stack import REPO_ROOT, free_port

NGINX_CONF = """
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  upstream bench {{ server 127.0.0.1:{upstream_port}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://bench;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}
}}
"""


def wait_http(url: str, headers: dict[str, str] | None = None, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, headers=headers, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(url)


@contextlib.contextmanager
def pyspy_recording(pid: int, output: str | None, *options: str) -> Iterator[None]:
    """py-spy (200 Hz, speedscope JSON to ``output``) on ``pid`` while the block runs; nothing
    when ``output`` is None. ``options`` default to ``--nonblocking`` (the process never stops)."""
    if output is None:
        yield
        return
    spy = subprocess.Popen(
        [
            str(REPO_ROOT / ".venv/bin/py-spy"),
            "record",
            "--pid",
            str(pid),
            "--rate",
            "200",
            "--format",
            "speedscope",
            "--output",
            output,
            *(options or ("--nonblocking",)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1)  # attached before the measured work starts
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)


def process_group_cpu_split_s(pgid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of every live process in a process group (ours start their own);
    system time is mostly the sockets."""
    tick = os.sysconf("SC_CLK_TCK")
    user = system = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        # after the command: state ppid pgrp session ... utime(12) stime(13)
        if int(fields[2]) == pgid:
            user += int(fields[11]) / tick
            system += int(fields[12]) / tick
    return user, system


def process_group_cpu_s(pgid: int) -> float:
    """User + system CPU seconds of every live process in a process group."""
    return sum(process_group_cpu_split_s(pgid))


def parse_wrk(output: str) -> dict[str, float]:
    def to_ms(value: str) -> float:
        number, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
        return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    result = {"requests_per_s": rps}
    for pct in ("50", "90", "99"):
        match = re.search(rf"\s{pct}(?:\.000)?%\s+([\d.]+\w+)", output)
        if match:
            result[f"p{pct}_ms"] = to_ms(match.group(1))
    total = re.search(r"(\d+) requests in", output)
    result["requests"] = float(total.group(1)) if total else 0.0
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    result["non_2xx"] = float(errors.group(1)) if errors else 0.0
    return result


def wrk(
    url: str,
    *,
    connections: int,
    threads: int,
    seconds: int,
    token: str | None,
    cpu_of: dict[str, int] | None = None,
    script: Path | None = None,
    script_args: list[str] | None = None,
) -> dict[str, float]:
    """One wrk run; ``cpu_of`` names process groups whose CPU per request is recorded (in us).

    ``script`` is a wrk Lua script (e.g. one building a unique POST body per request), given
    ``script_args`` after ``--``.
    """
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if token:
        argv[1:1] = ["-H", f"Authorization: Bearer {token}"]
    if script is not None:
        argv[1:1] = ["-s", str(script)]
        argv += ["--", *(script_args or [])]
    before = {name: process_group_cpu_s(pgid) for name, pgid in (cpu_of or {}).items()}
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    after = {name: process_group_cpu_s(pgid) for name, pgid in (cpu_of or {}).items()}
    result = parse_wrk(out)
    for name in before:
        if result["requests"]:
            result[f"{name}_cpu_us_per_req"] = round(
                (after[name] - before[name]) * 1e6 / result["requests"], 1
            )
    return result


def gateway_token(keys_dir: Path, **claims: Any) -> str:
    """A user token signed with the gateway's newest key; ``claims`` adds to or replaces the defaults."""
    key_path = sorted(keys_dir.glob("*.pem"))[-1]
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    now = int(time.time())
    defaults = {
        "iss": "minato-gateway",
        "aud": "minato",
        "sub": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 3600,
        "kind": "user",
    }
    return jwt.encode(
        {**defaults, **claims},
        key,  # type: ignore[arg-type]
        algorithm="RS256",
        headers={"kid": key_path.stem},
    )


def gateway_argv(python: str, server: str, port: int) -> list[str]:
    if server == "uvicorn":
        return [
            python,
            "-m",
            "uvicorn",
            "--factory",
            "gateway.app:create_app",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
    if server == "granian":
        return [
            python,
            "-m",
            "granian",
            "--interface",
            "asgi",
            "--http",
            "1",
            *os.environ.get("BENCH_GRANIAN_ARGS", "").split(),
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
            "gateway.app:create_app",
        ]
    raise ValueError(f"unknown server {server!r}")


def run(seconds: int = 10, repeats: int = 3, gateways: list[str] | None = None) -> dict[str, Any]:
    if not shutil.which("wrk") or not shutil.which("nginx"):
        raise SystemExit(
            "wrk and nginx are needed: make bench installs them (apt-get install wrk nginx-light)"
        )
    work = Path(tempfile.mkdtemp(prefix="minato-bench-"))
    procs: list[subprocess.Popen[bytes]] = []
    upstream_port, nginx_port = free_port(), free_port()
    python = sys.executable
    try:
        procs.append(
            subprocess.Popen(
                [
                    python,
                    "-m",
                    "uvicorn",
                    "bench.upstream:app",
                    "--port",
                    str(upstream_port),
                    "--no-access-log",
                    "--log-level",
                    "warning",
                    "--timeout-keep-alive",
                    "65",
                ],
                cwd=REPO_ROOT,
                start_new_session=True,
            )
        )
        floor_port = free_port()
        procs.append(
            subprocess.Popen(
                [
                    python,
                    "-m",
                    "uvicorn",
                    "bench.upstream:floor",
                    "--port",
                    str(floor_port),
                    "--no-access-log",
                    "--log-level",
                    "warning",
                ],
                cwd=REPO_ROOT,
                start_new_session=True,
            )
        )
        (work / "nginx.conf").write_text(
            NGINX_CONF.format(dir=work, upstream_port=upstream_port, port=nginx_port)
        )
        procs.append(
            subprocess.Popen(
                ["nginx", "-c", str(work / "nginx.conf"), "-g", "daemon off;"],
                start_new_session=True,
            )
        )
        env = {
            **os.environ,
            "GATEWAY_ENVIRONMENT": "test",
            "GATEWAY_KEYS_DIR": str(work / "keys"),
            "GATEWAY_ACCESS_LOG": "false",
            "GATEWAY_LOG_LEVEL": "WARNING",
            "GATEWAY_UPSTREAMS": json.dumps({"bench": f"http://127.0.0.1:{upstream_port}"}),
            "GATEWAY_ROUTES": json.dumps({"/api/v1/bench": "bench"}),
        }
        path = "/api/v1/bench/ok"
        targets = {
            "direct": f"http://127.0.0.1:{upstream_port}{path}",
            "nginx": f"http://127.0.0.1:{nginx_port}{path}",
        }
        # uvicorn answering by itself: what the server alone costs per request (the gateway's floor)
        targets["uvicorn-floor"] = f"http://127.0.0.1:{floor_port}{path}"
        cpu_groups = {
            "direct": {"upstream": procs[0].pid},
            "uvicorn-floor": {"proxy": procs[1].pid},
            "nginx": {"proxy": procs[2].pid},
        }
        variants = gateways or ["native", "aiohttp"]
        for index, variant in enumerate(variants):
            port = free_port()
            client, _, server = variant.partition("+")
            procs.append(
                subprocess.Popen(
                    gateway_argv(python, server or "uvicorn", port),
                    cwd=REPO_ROOT,
                    env={**env, "GATEWAY_PROXY_CLIENT": client},
                    start_new_session=True,
                )
            )
            name = "gateway" if index == 0 else f"gateway-{variant}"
            targets[name] = f"http://127.0.0.1:{port}{path}"
            cpu_groups[name] = {"proxy": procs[-1].pid}
            wait_http(f"http://127.0.0.1:{port}/healthz")
        baseline_tree = os.environ.get("BENCH_BASELINE_TREE")
        if baseline_tree:
            port = free_port()
            tree = Path(baseline_tree)
            pythonpath = os.pathsep.join([str(tree / "shared"), str(tree / "services" / "gateway")])
            procs.append(
                subprocess.Popen(
                    gateway_argv(python, "uvicorn", port),
                    cwd=REPO_ROOT,
                    env={**env, "PYTHONPATH": pythonpath},
                    start_new_session=True,
                )
            )
            targets["gateway-baseline"] = f"http://127.0.0.1:{port}{path}"
            cpu_groups["gateway-baseline"] = {"proxy": procs[-1].pid}
            wait_http(f"http://127.0.0.1:{port}/healthz")
        for name, group in cpu_groups.items():
            if name != "uvicorn-floor":
                group.setdefault("upstream", procs[0].pid)
        wait_http(f"http://127.0.0.1:{upstream_port}{path}")
        wait_http(f"http://127.0.0.1:{nginx_port}{path}")
        wait_http(targets["uvicorn-floor"])
        token = gateway_token(work / "keys")
        for name, url in targets.items():
            if name.startswith("gateway"):
                wait_http(url, {"Authorization": f"Bearer {token}"})
        samples: dict[str, dict[str, list[dict[str, float]]]] = {
            n: {"c64": [], "c1": []} for n in targets
        }
        for url in targets.values():  # warm-up
            wrk(url, connections=16, threads=2, seconds=2, token=token)
        for _ in range(repeats):
            for name, url in targets.items():
                samples[name]["c64"].append(
                    wrk(
                        url,
                        connections=64,
                        threads=2,
                        seconds=seconds,
                        token=token,
                        cpu_of=cpu_groups[name],
                    )
                )
                samples[name]["c1"].append(
                    wrk(url, connections=1, threads=1, seconds=max(3, seconds // 2), token=token)
                )

        def median(values: list[float]) -> float:
            ordered = sorted(values)
            return ordered[len(ordered) // 2]

        summary: dict[str, dict[str, Any]] = {
            name: {
                "requests_per_s_c64": median([s["requests_per_s"] for s in runs["c64"]]),
                "p99_ms_c64": median([s.get("p99_ms", 0.0) for s in runs["c64"]]),
                "p50_ms_c1": median([s.get("p50_ms", 0.0) for s in runs["c1"]]),
                "non_2xx": sum(s["non_2xx"] for s in runs["c64"] + runs["c1"]),
                **{
                    key: median([s.get(key, 0.0) for s in runs["c64"]])
                    for key in ("proxy_cpu_us_per_req", "upstream_cpu_us_per_req")
                    if key in runs["c64"][0]
                },
                "runs": runs,
            }
            for name, runs in samples.items()
        }
        gw, ng, direct = summary["gateway"], summary["nginx"], summary["direct"]
        return {
            "scenario": "gateway_hop",
            "seconds_per_run": seconds,
            "repeats": repeats,
            "results": summary,
            "ratios": {
                "gateway_over_nginx_throughput": gw["requests_per_s_c64"]
                / ng["requests_per_s_c64"],
                "gateway_over_direct_throughput": gw["requests_per_s_c64"]
                / direct["requests_per_s_c64"],
                "gateway_added_p50_ms_c1": gw["p50_ms_c1"] - direct["p50_ms_c1"],
                "nginx_added_p50_ms_c1": ng["p50_ms_c1"] - direct["p50_ms_c1"],
                **{
                    f"{name}_over_nginx_throughput": row["requests_per_s_c64"]
                    / ng["requests_per_s_c64"]
                    for name, row in summary.items()
                    if name.startswith("gateway-")
                },
            },
            "targets": {
                "gateway_over_nginx_throughput": ">= 0.6",
                "gateway_added_p50_ms_c1": "<= 0.3",
            },
        }
    finally:
        for proc in reversed(procs):
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    print(json.dumps(run(seconds=int(os.environ.get("BENCH_SECONDS", "5")), repeats=1), indent=2))
