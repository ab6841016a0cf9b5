"""CPU per form create in the forms process, with few and with many forms per trade.

A smaller driver than ``bench.form_create`` for profiling and before/after comparisons: it boots the
whole system (``shared.devstack.stack``, databases ``minato_fcpu_*``), creates trades through the
gateway, and then, per condition, fills each trade with ``prefill`` forms and measures ``creates``
more at ``concurrency`` requests in flight: CPU seconds of the forms, trades and gateway process
groups (from ``/proc``) per create, creates/s and p50/p99. ``FCPU_PYSPY=path`` records a py-spy
flame graph (speedscope JSON) of the forms process during each measured phase.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.form_create_cpu

``FCPU_CONDITIONS`` (default ``0,100``): forms per trade before measuring; ``FCPU_CREATES`` (400),
``FCPU_TRADES`` (20), ``FCPU_CONCURRENCY`` (16).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench.api_system import booted, latency_summary, new_org, participant_token, seed_trades
from bench.form_read import FORM_VALUES
from bench.gateway_hop import process_group_cpu_s, pyspy_recording
from shared.devstack.stack import REPO_ROOT, Stack


async def _creates(
    url: str, headers: dict[str, str], trade_ids: list[str], count: int, concurrency: int
) -> tuple[list[float], dict[int, int]]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(count):
        queue.put_nowait(index)
    run = uuid.uuid4().hex[:8]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:

        async def worker() -> None:
            while not queue.empty():
                index = queue.get_nowait()
                key = f"{run}-{index}"
                started = time.perf_counter()
                response = await client.post(
                    f"/api/v1/forms/trades/{trade_ids[index % len(trade_ids)]}/documents",
                    json={"form_type": "UL040", "custom_id": key, "values": FORM_VALUES},
                    headers={**headers, "Idempotency-Key": key},
                )
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, statuses


def measure(
    stack: Stack,
    headers: dict[str, str],
    trade_ids: list[str],
    *,
    creates: int,
    concurrency: int,
    pyspy: str | None,
) -> dict[str, Any]:
    groups = {name: stack.processes[name].process.pid for name in ("gateway", "forms", "trades")}
    time.sleep(2)  # let the outbox relay finish the previous phase's events
    before = {name: process_group_cpu_s(pgid) for name, pgid in groups.items()}
    with pyspy_recording(groups["forms"], pyspy):
        started = time.perf_counter()
        latencies, statuses = asyncio.run(
            _creates(stack.gateway_url, headers, trade_ids, creates, concurrency)
        )
        elapsed = time.perf_counter() - started
        time.sleep(2)  # the relay's deliveries of these creates are part of their cost
        after = {name: process_group_cpu_s(pgid) for name, pgid in groups.items()}
    return {
        "creates": creates,
        "statuses": statuses,
        "per_s": creates / elapsed,
        **{k: round(v, 1) for k, v in latency_summary(latencies).items()},
        **{
            f"{name}_cpu_ms_per_create": round((after[name] - before[name]) * 1000 / creates, 2)
            for name in groups
        },
    }


def main() -> None:
    conditions = [int(c) for c in os.environ.get("FCPU_CONDITIONS", "0,100").split(",")]
    creates = int(os.environ.get("FCPU_CREATES", "400"))
    trades = int(os.environ.get("FCPU_TRADES", "20"))
    concurrency = int(os.environ.get("FCPU_CONCURRENCY", "16"))
    pyspy = os.environ.get("FCPU_PYSPY")
    data = REPO_ROOT / ".data" / "fcpu"
    with booted(database_prefix="minato_fcpu", data_dir=data) as stack:
        org = new_org()
        token = participant_token(stack, org, forms={"UL040": "readwrite"})
        headers = {"Authorization": f"Bearer {token}"}
        results = []
        for forms_per_trade in conditions:
            with httpx.Client(base_url=stack.gateway_url, timeout=30) as client:
                trade_ids = seed_trades(client, headers, trades)
            if forms_per_trade:
                asyncio.run(
                    _creates(
                        stack.gateway_url,
                        headers,
                        trade_ids,
                        forms_per_trade * trades,
                        concurrency,
                    )
                )
            measure(stack, headers, trade_ids, creates=50, concurrency=concurrency, pyspy=None)
            result = measure(
                stack,
                headers,
                trade_ids,
                creates=creates,
                concurrency=concurrency,
                pyspy=f"{pyspy}-{forms_per_trade}.json" if pyspy else None,
            )
            result["forms_per_trade_before"] = forms_per_trade
            results.append(result)
            print(json.dumps(result), flush=True)
        Path(data / "last.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
