"""The whole system booted for the API scenarios (form read, form create, trade list).

``shared.devstack.stack`` starts every service as a real process on free ports, on the embedded
PostgreSQL in ``.data/pg-bench`` (or ``DATABASE_URL``), with databases named ``minato_bench_*``. The
databases are kept between runs (the 1M-trade load is reused), never those of ``make run`` or the
tests. Access logs are off, as in the gateway-hop scenario: the scenarios measure the request path.

Also here: tokens of a participant signed with the running gateway's key (what its token endpoint
signs), an open-loop driver (constant arrival rate, latency from the intended send time), and the
percentile arithmetic every scenario reports with.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import httpx

from bench.gateway_hop import gateway_token
from shared.devstack.postgres import database_url, start_postgres
from shared.devstack.stack import BACKENDS, REPO_ROOT, Stack, StackOptions

BENCH_DATA = REPO_ROOT / ".data" / "bench"
CONNECTIONS = 400  # max_connections of the embedded server while benchmarking
QUIET = {
    f"{prefix}{name}": value
    for prefix in ("GATEWAY_", "TRADES_", "FORMS_", "NACCS_BRIDGE_", "NOTIFICATIONS_")
    for name, value in (("ACCESS_LOG", "false"), ("LOG_LEVEL", "WARNING"))
}


@contextlib.contextmanager
def booted(database_prefix: str = "minato_bench", data_dir: Path = BENCH_DATA) -> Iterator[Stack]:
    """Every service as a real process; stopped (children by process group) when the block ends."""
    options = StackOptions(
        data_dir=data_dir,
        postgres_dir=REPO_ROOT / ".data" / "pg-bench",
        database_prefix=database_prefix,
        environment="test",
        pick_free_ports=True,
        log_dir=data_dir / "logs",
        extra_env=QUIET,
    )
    raise_connection_limit(options)
    stack = Stack(options)
    # The children run in their own sessions: a SIGTERM to us must still stop them (via finally).
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        stack.start()
        quiet_outboxes(stack)
        yield stack
    finally:
        stack.stop()
        signal.signal(signal.SIGTERM, previous)


OUTBOX_DRAIN_TIMEOUT_S = 900.0


def quiet_outboxes(stack: Stack, timeout_s: float = OUTBOX_DRAIN_TIMEOUT_S) -> float:
    """Wait until no service's outbox has an event left to deliver; the seconds it took.

    The bench databases are kept between runs, and form create's open loop leaves thousands of
    ``form.created`` events that the relays deliver after the run. Without this, the next run's
    scenarios shared the machine with that backlog (the trades process taking the events into the
    timeline while the trade list was measured: 4.8 ms of its CPU per page instead of 1.8).
    """
    started = time.monotonic()
    postgres = stack.postgres
    assert postgres is not None
    urls = [
        postgres.url_for(stack.database_name(spec)).replace("+asyncpg", "") for spec in BACKENDS
    ]
    while True:
        pending = sum(asyncio.run(_pending_outbox(url)) for url in urls)
        waited = time.monotonic() - started
        if pending == 0:
            if waited > 1:
                print(f"bench: outboxes drained in {waited:.0f} s", flush=True)
            return waited
        if waited > timeout_s:
            raise TimeoutError(f"{pending} outbox events still pending after {timeout_s:.0f} s")
        time.sleep(2)


async def _pending_outbox(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        exists = await conn.fetchval("SELECT to_regclass('outbox_message') IS NOT NULL")
        if not exists:
            return 0
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM outbox_message WHERE delivered_at IS NULL AND dead_at IS NULL"
            )
        )
    finally:
        await conn.close()


def service_tree_at(rev: str, service: str, into: Path) -> Path:
    """``services/<service>`` as it was at ``rev`` (``git archive``), to put first on a restarted
    process's ``PYTHONPATH``: the "before" of a before/after in the same run."""
    archive = subprocess.run(
        ["git", "archive", rev, f"services/{service}"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "services" / service


def raise_connection_limit(options: StackOptions) -> None:
    """The embedded server's 100 connections are too few for six services' pools under load.

    ``ALTER SYSTEM`` takes effect when the server next starts; a running embedded server nobody
    else uses is restarted here, so the scenarios never queue on ``too many clients``.
    """
    if os.environ.get("DATABASE_URL"):
        return  # a server someone else runs: theirs to configure
    forget_dead_users(options.postgres_dir)
    handle = start_postgres(options.postgres_dir)
    try:
        asyncio.run(_raise_limit(handle.admin_url))
    finally:
        handle.release()  # stops it when we were its only user: it starts again with the limit


def forget_dead_users(postgres_dir: Path) -> None:
    """pgserver stops the server when its last user lets go, counting users by pid in a file; a run
    that was killed never lets go, and the server would then outlive every later run. Forget those."""
    users = postgres_dir / ".handle_pids.json"
    if not users.exists():
        return
    pids = json.loads(users.read_text())
    alive = [pid for pid in pids if _running(pid)]
    if alive != pids:
        users.write_text(json.dumps(alive))


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def _raise_limit(admin_url: str) -> None:
    conn = await asyncpg.connect(database_url(admin_url, "postgres"))
    try:
        if int(await conn.fetchval("SHOW max_connections")) < CONNECTIONS:
            await conn.execute(f"ALTER SYSTEM SET max_connections = {CONNECTIONS}")
    finally:
        await conn.close()


def participant_token(stack: Stack, org: str, **claims: Any) -> str:
    """A user's token of organisation ``org`` (1 h), signed with the gateway's own key."""
    return gateway_token(stack.options.data_dir / "keys", org=org, **claims)


def new_org() -> str:
    return f"bench-org-{uuid.uuid4().hex[:12]}"


def seed_trades(client: httpx.Client, headers: dict[str, str], count: int) -> list[str]:
    """``count`` export trades created through the gateway, as an integrator would."""
    ids = []
    for n in range(count):
        response = client.post(
            "/api/v1/trades",
            json={
                "direction": "export",
                "owner_role": "shipper",
                "owner_display_name": "Bench Shipper",
                "bl_no": f"BENCHBL{n:06d}",
                "port_of_loading": "JPTYO",
                "port_of_discharge": "USLAX",
            },
            headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
        )
        response.raise_for_status()
        ids.append(response.json()["id"])
    return ids


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def latency_summary(latencies_ms: list[float]) -> dict[str, float]:
    ordered = sorted(latencies_ms)
    return {
        "count": float(len(ordered)),
        **{f"p{p}_ms".replace(".", "_"): percentile(ordered, p) for p in (50, 90, 99, 99.9)},
        "max_ms": ordered[-1] if ordered else 0.0,
    }


@dataclass
class OpenLoopResult:
    offered_per_s: float
    seconds: float
    latencies_ms: list[float]  # from the intended send time to the end of the response
    statuses: dict[int, int]
    errors: int
    late_starts: int  # requests the driver itself sent > 5 ms after their intended time

    def summary(self) -> dict[str, Any]:
        done = len(self.latencies_ms)
        return {
            "offered_per_s": self.offered_per_s,
            "seconds": self.seconds,
            "completed_per_s": done / self.seconds if self.seconds else 0.0,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "errors": self.errors,
            "driver_late_starts": self.late_starts,
            **latency_summary(self.latencies_ms),
        }


async def _open_loop(
    base_url: str,
    make_request: Callable[[int], tuple[str, str, dict[str, str], bytes | None]],
    *,
    rate_per_s: float,
    seconds: float,
    max_connections: int,
) -> OpenLoopResult:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    late = 0
    total = int(rate_per_s * seconds)
    connector = aiohttp.TCPConnector(limit=max_connections, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(base_url, connector=connector, timeout=timeout) as session:

        async def one(index: int, intended: float) -> None:
            nonlocal errors, late
            method, path, headers, body = make_request(index)
            if time.perf_counter() - intended > 0.005:
                late += 1
            try:
                async with session.request(method, path, headers=headers, data=body) as response:
                    await response.read()
                    statuses[response.status] = statuses.get(response.status, 0) + 1
            except (aiohttp.ClientError, TimeoutError):
                errors += 1
                return
            # Measured from when the request was due, not when it went out: a server that falls
            # behind makes the next requests wait, and that wait is latency a user sees.
            latencies.append((time.perf_counter() - intended) * 1000)

        start = time.perf_counter() + 0.05
        tasks = []
        for index in range(total):
            intended = start + index / rate_per_s
            delay = intended - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(index, intended)))
        await asyncio.gather(*tasks)
    return OpenLoopResult(rate_per_s, seconds, latencies, statuses, errors, late)


def open_loop(
    base_url: str,
    make_request: Callable[[int], tuple[str, str, dict[str, str], bytes | None]],
    *,
    rate_per_s: float,
    seconds: float,
    max_connections: int = 512,
) -> OpenLoopResult:
    """Send request ``i`` at ``start + i / rate`` whether or not earlier ones have answered."""
    return asyncio.run(
        _open_loop(
            base_url,
            make_request,
            rate_per_s=rate_per_s,
            seconds=seconds,
            max_connections=max_connections,
        )
    )
