"""Create a form through the gateway: the form, its first version and its outbox row, one transaction.

Targets (issue 9): ≥ 800 creates/s closed-loop, and p99 < 50 ms at 500 creates/s offered open-loop.

* **Closed loop**: wrk with a Lua script (``CREATE_LUA``) that builds a unique body and
  ``Idempotency-Key`` per request, 32 connections, each sending its next request when the last
  answered: the system's throughput.
* **Open loop**: wrk cannot send at a fixed rate regardless of answers, so ``bench.api_system.
  open_loop`` (asyncio + aiohttp) sends request *i* at ``start + i / rate`` and measures each latency
  from that intended time. A slow answer therefore delays nothing it should not: the requests due
  meanwhile still go out, and their wait is counted (no coordinated omission).

Creates are spread over ``TRADES`` trades made through the API first (a create locks its trade's
shared items, so one trade would measure lock contention, not the service). Afterwards the forms
database is asked how many forms and outbox rows those trades got: every 201 must have both.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.api_system import new_org, open_loop, participant_token, seed_trades
from bench.form_read import FORM_VALUES
from bench.gateway_hop import wrk
from shared.devstack.stack import BACKENDS, Stack

TARGET_CLOSED_PER_S = 800
OPEN_RATE_PER_S = 500
TARGET_OPEN_P99_MS = 50
TRADES = 200
CONNECTIONS = 32

CREATE_LUA = """
-- One unique create per request: custom id and Idempotency-Key from the run, thread and counter.
local threads = 0
local counter = 0
local trades = {}
local run = ""
local body_head = '{"form_type":"UL040","custom_id":"'
local body_tail = ""

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  run = args[1]
  for id in string.gmatch(args[2], "[^,]+") do trades[#trades + 1] = id end
  body_tail = '","values":' .. args[3] .. '}'
end

-- wrk.format replaces wrk.headers (the -H Authorization) when given a table: carry them over.
local function headers_with(key)
  local headers = {["Content-Type"] = "application/json", ["Idempotency-Key"] = key}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  return headers
end

function request()
  counter = counter + 1
  local key = run .. "-" .. tid .. "-" .. counter
  local trade = trades[(counter * 2 + tid) % #trades + 1]
  return wrk.format("POST", "/api/v1/forms/trades/" .. trade .. "/documents",
    headers_with(key), body_head .. key .. body_tail)
end
"""


async def _written(database_url: str, trade_ids: list[str]) -> dict[str, int]:
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        ids = [uuid.UUID(t) for t in trade_ids]
        forms = await conn.fetchval(
            "SELECT count(*) FROM form_document WHERE trade_id = ANY($1::uuid[])", ids
        )
        outbox = await conn.fetchval(
            "SELECT count(*) FROM outbox_message WHERE trade_id = ANY($1::uuid[]) AND topic = 'form.created'",
            ids,
        )
        return {"forms": int(forms), "outbox_form_created": int(outbox)}
    finally:
        await conn.close()


def run(stack: Stack, *, seconds: int = 10, repeats: int = 3) -> dict[str, Any]:
    org = new_org()
    token = participant_token(stack, org, forms={"UL040": "readwrite"})
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=stack.gateway_url, timeout=15) as client:
        trade_ids = seed_trades(client, headers, TRADES)
    pids = {name: running.process.pid for name, running in stack.processes.items()}
    groups = {"gateway": pids["gateway"], "forms": pids["forms"], "trades": pids["trades"]}
    work = Path(tempfile.mkdtemp(prefix="minato-bench-create-"))
    script = work / "create.lua"
    script.write_text(CREATE_LUA)
    values = json.dumps(FORM_VALUES, separators=(",", ":"))

    def closed(run_seconds: int, connections: int) -> dict[str, float]:
        return wrk(
            stack.gateway_url,
            connections=connections,
            threads=2,
            seconds=run_seconds,
            token=token,
            cpu_of=groups,
            script=script,
            script_args=[uuid.uuid4().hex[:8], ",".join(trade_ids), values],
        )

    closed(3, 8)  # warm-up
    closed_runs = [closed(seconds, CONNECTIONS) for _ in range(repeats)]
    for result in closed_runs:  # only creates that were answered 201 count as throughput
        answered = result["requests"] or 1.0
        result["created_per_s"] = result["requests_per_s"] * (1 - result["non_2xx"] / answered)
    closed_runs.sort(key=lambda s: s["created_per_s"])
    closed_median = closed_runs[len(closed_runs) // 2]

    body_values = FORM_VALUES
    open_run = uuid.uuid4().hex[:8]

    def make_request(index: int) -> tuple[str, str, dict[str, str], bytes | None]:
        key = f"{open_run}-{index}"
        body = {"form_type": "UL040", "custom_id": key, "values": body_values}
        return (
            "POST",
            f"/api/v1/forms/trades/{trade_ids[index % len(trade_ids)]}/documents",
            {**headers, "Content-Type": "application/json", "Idempotency-Key": key},
            json.dumps(body).encode(),
        )

    open_seconds = max(10, seconds * 2)
    opened = open_loop(
        stack.gateway_url, make_request, rate_per_s=OPEN_RATE_PER_S, seconds=open_seconds
    )
    assert stack.postgres is not None
    forms_spec = next(spec for spec in BACKENDS if spec.name == "forms")
    written = asyncio.run(
        _written(stack.postgres.url_for(stack.database_name(forms_spec)), trade_ids)
    )
    open_summary = opened.summary()
    latencies = sorted(opened.latencies_ms)
    created_ok = int(
        sum(r["requests"] - r["non_2xx"] for r in closed_runs)
    )  # the warm-up's creates are in the database too
    met_closed = closed_median["created_per_s"] >= TARGET_CLOSED_PER_S
    met_open = (
        open_summary["p99_ms"] < TARGET_OPEN_P99_MS
        and not opened.errors
        and set(opened.statuses) == {201}
    )
    return {
        "scenario": "form_create",
        "seconds_per_run": seconds,
        "repeats": repeats,
        "connections": CONNECTIONS,
        "trades": TRADES,
        "closed_loop": {
            "requests_per_s": closed_median["created_per_s"],
            "answered_per_s": closed_median["requests_per_s"],
            "p50_ms": closed_median.get("p50_ms", 0.0),
            "p99_ms": closed_median.get("p99_ms", 0.0),
            "non_2xx": sum(r["non_2xx"] for r in closed_runs),
            **{k: v for k, v in closed_median.items() if k.endswith("_cpu_us_per_req")},
            "runs": closed_runs,
        },
        "open_loop": {**open_summary, "latency_histogram_ms": histogram(latencies)},
        "written": {**written, "closed_loop_creates_answered_2xx": created_ok},
        "targets": {
            "closed_loop_per_s": f">= {TARGET_CLOSED_PER_S}",
            "open_loop_p99_ms": f"< {TARGET_OPEN_P99_MS} at {OPEN_RATE_PER_S}/s",
        },
        "met_closed": met_closed,
        "met_open": met_open,
        "met": met_closed and met_open,
    }


def histogram(sorted_ms: list[float], points: int = 200) -> list[list[float]]:
    """The latency CDF at ``points`` evenly spaced ranks: ``[percent, ms]`` (for the chart)."""
    if not sorted_ms:
        return []
    n = len(sorted_ms)
    return [
        [round(100 * i / points, 2), round(sorted_ms[min(n - 1, (n * i) // points)], 3)]
        for i in range(points + 1)
    ]


def markdown(result: dict[str, Any]) -> list[str]:
    closed, opened = result["closed_loop"], result["open_loop"]
    cpu = {p: closed.get(f"{p}_cpu_us_per_req") for p in ("gateway", "forms", "trades")}
    written = result["written"]
    return [
        "## Create a form through the gateway (form + version + outbox row, one transaction)",
        "",
        f"Closed loop: wrk -c{result['connections']} with a Lua script (unique custom id and "
        f"Idempotency-Key per request), median of {result['repeats']} × "
        f"{result['seconds_per_run']} s, spread over {result['trades']} trades. Open loop: "
        f"asyncio + aiohttp at a constant {opened['offered_per_s']:.0f}/s for "
        f"{opened['seconds']:.0f} s, latency from the intended send time.",
        "",
        "| loop | req/s | p50 ms | p99 ms | p99.9 ms | max ms | CPU µs/req gateway / forms / trades |",
        "|---|---|---|---|---|---|---|",
        f"| closed (c={result['connections']}) | {closed['requests_per_s']:,.0f} | "
        f"{closed['p50_ms']:.1f} | {closed['p99_ms']:.1f} | | | "
        + " / ".join("" if v is None else f"{v:.0f}" for v in cpu.values())
        + " |",
        f"| open ({opened['offered_per_s']:.0f}/s offered) | {opened['completed_per_s']:,.0f} "
        f"answered | {opened['p50_ms']:.1f} | {opened['p99_ms']:.1f} | {opened['p99_9_ms']:.1f} | "
        f"{opened['max_ms']:.1f} | |",
        "",
        f"Open loop statuses {opened['statuses']}, transport errors {opened['errors']}, sends the "
        f"driver itself started > 5 ms late: {opened['driver_late_starts']}. Written in these "
        f"trades: {written['forms']:,} forms, {written['outbox_form_created']:,} `form.created` "
        "outbox rows.",
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
        f"| closed loop ≥ {TARGET_CLOSED_PER_S} creates/s | {closed['requests_per_s']:,.0f} /s | "
        f"{'met' if result['met_closed'] else 'missed'} |",
        f"| p99 < {TARGET_OPEN_P99_MS} ms at {OPEN_RATE_PER_S}/s open loop | "
        f"{opened['p99_ms']:.1f} ms | {'met' if result['met_open'] else 'missed'} |",
        "",
    ]
