"""The trade list at 1,000,000 trades: filtered keyset pages through the gateway, p99 < 20 ms.

**Data.** ``BENCH_TRADES`` trades (default 1,000,000) are bulk-loaded straight into the trades
database with ``INSERT … SELECT … FROM generate_series`` in chunks of 100,000: minutes, where a
million API calls would take hours on this box. The rows have the shape the trades service writes
(``trades.domain.trades.create_trade``): a ``trade`` row numbered from the trade number sequence,
with ports, vessel, voyage, ETD/ETA, carrier, B/L and booking, and the owner's ``trade_participant``
row (``trade_created_at`` copied from the trade); plus an accepted forwarder participant, so the
list's access rule (an active participant row of the caller's organisation) applies as for real
trades. Timeline entries, outbox rows and containers are not loaded: the list reads none of them.

Two years of trades, oldest first; status follows age as in life (older than 60 days: closed, 1 in
10 cancelled; younger: spread over the open statuses of the trade's direction); 2,000 owners; the
forwarder ``bench-forwarder-big`` takes part in every 10th trade (100,000 at full size), the other
forwarders in 1 of 400 each. A later run reuses the load when the database holds exactly that many
bulk trades (owners named ``bench-shipper-*``), and replaces it otherwise.

**Walks.** As that forwarder, through the gateway, each filter (``WALKS``, all offered by the API) is
paged with its ``next_cursor`` (limit 50) to its end or ``MAX_PAGES``; the latency of every page is
recorded. ``USERS`` walks run at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bench.api_system import latency_summary, participant_token, service_tree_at
from bench.full_stack import restart_with
from bench.gateway_hop import process_group_cpu_s
from shared.devstack.stack import BACKENDS, Stack

TARGET_P99_MS = 20.0
BIG_FORWARDER = "bench-forwarder-big"
BULK_OWNER = "bench-shipper-"  # owner_org_id prefix of every bulk-loaded trade
CHUNK = 100_000
PAGE = 50
MAX_PAGES = 40
USERS = 4
END = dt.datetime(
    2026, 12, 1, tzinfo=dt.UTC
)  # the newest bulk trade; the oldest is two years before

# One chunk: numbers $1..$2 of $3 in all; $4 the end of the two years; $5 the first trade number.
LOAD_CHUNK = f"""
WITH shaped AS MATERIALIZED (
    SELECT i, gen_random_uuid() AS id, created_at, direction,
           CASE
             WHEN created_at < $4::timestamptz - interval '60 days'
               THEN CASE WHEN (i / 10) % 10 = 3 THEN 'cancelled' ELSE 'closed' END
             WHEN direction = 'export'
               THEN (ARRAY['draft','booked','documents','customs','cleared','loaded','shipped',
                           'arrived','delivered'])[1 + (i * 7) % 9]
             ELSE (ARRAY['draft','booked','shipped','arrived','documents','customs','cleared',
                         'delivered'])[1 + (i * 7) % 8]
           END AS status,
           '{BULK_OWNER}' || (i % 2000) AS owner,
           CASE WHEN i % 10 = 0 THEN '{BIG_FORWARDER}'
                ELSE 'bench-forwarder-' || (i % 400) END AS forwarder,
           (ARRAY['JPTYO','JPYOK','JPUKB','JPOSA','JPNGO'])[1 + (i / 10) % 5] AS jp_port,
           (ARRAY['USLAX','NLRTM','SGSIN','CNSHA','DEHAM'])[1 + (i / 50) % 5] AS far_port,
           (created_at + make_interval(days => 3 + i % 25))::date AS etd
    FROM (
        SELECT i,
               $4::timestamptz - interval '730 days'
                 + make_interval(secs => i * (730.0 * 86400 / $3::int)) AS created_at,
               CASE WHEN (i / 3) % 5 < 3 THEN 'export' ELSE 'import' END AS direction
        FROM generate_series($1::int, $2::int) AS i
    ) AS numbered
), trades AS (
    INSERT INTO trade (id, trade_no, direction, status, owner_org_id, bl_no, booking_no,
                       carrier_scac, vessel_call_sign, vessel_name, voyage_no, place_of_receipt,
                       port_of_loading, port_of_discharge, place_of_delivery, etd, eta,
                       created_at, updated_at, created_by_user_id, version)
    SELECT id,
           CASE WHEN direction = 'export' THEN 'EXP' ELSE 'IMP' END
             || '-' || extract(year FROM created_at) || '-' || lpad(($5::bigint + i)::text, greatest(6, length(($5::bigint + i)::text)), '0'),
           direction, status, owner,
           'BLK' || lpad(i::text, 9, '0'), 'BKG' || lpad(i::text, 9, '0'),
           (ARRAY['MAEU','ONEY','HLCU','COSU','EGLV'])[1 + (i / 10) % 5],
           '9V' || lpad(((i / 7) % 50)::text, 4, '0'), 'BENCH VESSEL ' || ((i / 7) % 50),
           (i / 2000) || 'W',
           CASE WHEN direction = 'export' THEN jp_port ELSE far_port END,
           CASE WHEN direction = 'export' THEN jp_port ELSE far_port END,
           CASE WHEN direction = 'export' THEN far_port ELSE jp_port END,
           CASE WHEN direction = 'export' THEN far_port ELSE jp_port END,
           etd, etd + 10 + i % 20,
           created_at, created_at, 'bench-user-' || (i % 5000), 1
    FROM shaped
), owners AS (
    INSERT INTO trade_participant (id, trade_id, org_id, display_name, role, status, hidden,
                                   is_owner, sponsor_org_id, invited_by_user_id, trade_created_at,
                                   trade_status, trade_etd, invited_at, accepted_at)
    SELECT gen_random_uuid(), id, owner, 'Bench Owner',
           CASE WHEN direction = 'export' THEN 'shipper' ELSE 'consignee' END,
           'active', false, true, NULL, 'bench-user', created_at, status, etd, created_at,
           created_at
    FROM shaped
)
INSERT INTO trade_participant (id, trade_id, org_id, display_name, role, status, hidden, is_owner,
                               sponsor_org_id, invited_by_user_id, trade_created_at, trade_status,
                               trade_etd, invited_at, accepted_at)
SELECT gen_random_uuid(), id, forwarder, 'Bench Forwarder', 'forwarder', 'active', false, false,
       owner, 'bench-user', created_at, status, etd, created_at, created_at
FROM shaped
"""  # noqa: S608 - built from this module's constants only

# The indexes trades0006 and trades0007 add for status and ETD filters: dropped for the "before"
# walks of the same run, then rebuilt (as the migrations define them).
LIST_INDEXES = {
    "ix_trade_participant_org_status_listing": "(org_id, trade_status, trade_created_at DESC, "
    "trade_id DESC) WHERE status = 'active'",
    "ix_trade_participant_org_etd": "(org_id, trade_etd) INCLUDE (trade_created_at, trade_id) "
    "WHERE status = 'active'",
}
CREATE_LIST_INDEXES = [
    f"CREATE INDEX IF NOT EXISTS {name} ON trade_participant {definition}"
    for name, definition in LIST_INDEXES.items()
]
DROP_LIST_INDEXES = [f"DROP INDEX IF EXISTS {name}" for name in LIST_INDEXES]


def walks_for(count: int) -> dict[str, list[tuple[str, str]]]:
    """The filters walked (query strings of GET /api/v1/trades), named for the results."""
    voyage = count // 4000  # a voyage in the middle of the two years
    return {
        "newest": [],
        "status=customs": [("status", "customs")],
        "booked or documents, export": [
            ("status", "booked"),
            ("status", "documents"),
            ("direction", "export"),
        ],
        "etd 2 weeks, 6 months ago": [("etd_from", "2026-06-01"), ("etd_to", "2026-06-14")],
        "status=closed": [("status", "closed")],
        "vessel + voyage": [("vessel_call_sign", "9V0010"), ("voyage_no", f"{voyage}W")],
    }


def trades_database_url(stack: Stack) -> str:
    assert stack.postgres is not None
    spec = next(s for s in BACKENDS if s.name == "trades")
    return stack.postgres.url_for(stack.database_name(spec)).replace("+asyncpg", "")


async def _ensure_loaded(database_url: str, count: int) -> dict[str, Any]:
    conn = await asyncpg.connect(database_url)
    try:
        present = await conn.fetchval(
            "SELECT count(*) FROM trade WHERE owner_org_id LIKE $1", BULK_OWNER + "%"
        )
        if present == count:
            return {"trades": count, "reused": True, "load_seconds": 0.0}
        started = time.perf_counter()
        if present:
            # A different size (or an interrupted load): start again. Bench databases only.
            await conn.execute(
                "DELETE FROM trade_participant WHERE trade_id IN "
                "(SELECT id FROM trade WHERE owner_org_id LIKE $1)",
                BULK_OWNER + "%",
            )
            await conn.execute("DELETE FROM trade WHERE owner_org_id LIKE $1", BULK_OWNER + "%")
        # Numbers from the service's own sequence, taken in one block so the API never reuses one.
        first = await conn.fetchval(
            "SELECT setval('trade_number_seq', nextval('trade_number_seq') + $1)", count
        )
        first = int(first) - count
        for lo in range(1, count + 1, CHUNK):
            hi = min(count, lo + CHUNK - 1)
            async with conn.transaction():
                await conn.execute(LOAD_CHUNK, lo, hi, count, END, first)
        await conn.execute("VACUUM (ANALYZE) trade")
        await conn.execute("VACUUM (ANALYZE) trade_participant")
        return {
            "trades": count,
            "reused": False,
            "load_seconds": round(time.perf_counter() - started, 1),
        }
    finally:
        await conn.close()


async def _sizes(database_url: str) -> dict[str, Any]:
    conn = await asyncpg.connect(database_url)
    try:
        return {
            "trade_rows": int(await conn.fetchval("SELECT count(*) FROM trade")),
            "participant_rows": int(await conn.fetchval("SELECT count(*) FROM trade_participant")),
            "caller_trades": int(
                await conn.fetchval(
                    "SELECT count(*) FROM trade_participant WHERE org_id = $1 AND status = 'active'",
                    BIG_FORWARDER,
                )
            ),
            "database_size": await conn.fetchval(
                "SELECT pg_size_pretty(pg_database_size(current_database()))"
            ),
        }
    finally:
        await conn.close()


async def _walk(
    session: aiohttp.ClientSession, params: list[tuple[str, str]], headers: dict[str, str]
) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    cursor: str | None = None
    while len(pages) < MAX_PAGES:
        query = [*params, ("limit", str(PAGE)), *([("cursor", cursor)] if cursor else [])]
        started = time.perf_counter()
        async with session.get("/api/v1/trades", params=query, headers=headers) as response:
            body = await response.json()
            elapsed_ms = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise RuntimeError(f"trade list {params}: {response.status} {body}")
        pages.append({"ms": elapsed_ms, "items": len(body["items"])})
        cursor = body["next_cursor"]
        if cursor is None:
            break
    return pages


async def _walks(
    gateway_url: str, token: str, walks: dict[str, list[tuple[str, str]]], rounds: int
) -> dict[str, list[list[dict[str, Any]]]]:
    headers = {"Authorization": f"Bearer {token}"}
    results: dict[str, list[list[dict[str, Any]]]] = {name: [] for name in walks}
    jobs = [name for _ in range(rounds) for name in walks]
    queue: asyncio.Queue[str] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    async with aiohttp.ClientSession(gateway_url) as session:

        async def user() -> None:
            while not queue.empty():
                name = queue.get_nowait()
                results[name].append(await _walk(session, walks[name], headers))

        await _walk(session, walks["newest"], headers)  # warm-up
        await asyncio.gather(*(user() for _ in range(USERS)))
    return results


async def _sql(database_url: str, *statements: str) -> float:
    """Run DDL/maintenance statements; the seconds they took."""
    conn = await asyncpg.connect(database_url)
    try:
        started = time.perf_counter()
        for statement in statements:
            await conn.execute(statement)
        return time.perf_counter() - started
    finally:
        await conn.close()


def summarise(walks: dict[str, list[list[dict[str, Any]]]]) -> tuple[dict[str, Any], list[float]]:
    per_walk: dict[str, Any] = {}
    every: list[float] = []
    for name, runs in walks.items():
        latencies = [page["ms"] for pages in runs for page in pages]
        every += latencies
        per_walk[name] = {
            "pages_per_walk": max(len(pages) for pages in runs),
            "items_per_walk": max(sum(p["items"] for p in pages) for pages in runs),
            "last_page_ms": max(pages[-1]["ms"] for pages in runs),
            **latency_summary(latencies),
        }
    return per_walk, sorted(every)


def _measured_walks(
    stack: Stack, token: str, walks: dict[str, list[tuple[str, str]]], rounds: int
) -> tuple[dict[str, Any], list[float], dict[str, float]]:
    """The walks' pages and the CPU the gateway and trades process groups spent per page."""
    groups = {name: stack.processes[name].process.pid for name in ("gateway", "trades")}
    cpu_before = {name: process_group_cpu_s(pgid) for name, pgid in groups.items()}
    per_walk, every = summarise(asyncio.run(_walks(stack.gateway_url, token, walks, rounds)))
    cpu_ms_per_page = {
        name: round((process_group_cpu_s(pgid) - cpu_before[name]) * 1000 / max(1, len(every)), 2)
        for name, pgid in groups.items()
    }
    return per_walk, every, cpu_ms_per_page


def run(stack: Stack, *, rounds: int = 3) -> dict[str, Any]:
    count = int(os.environ.get("BENCH_TRADES", "1000000"))
    database_url = trades_database_url(stack)
    load = asyncio.run(_ensure_loaded(database_url, count))
    sizes = asyncio.run(_sizes(database_url))
    token = participant_token(stack, BIG_FORWARDER)
    walks = walks_for(count)
    before: dict[str, Any] | None = None
    if os.environ.get("BENCH_TRADE_LIST_BEFORE", "1") == "1":
        # Before trades0006/0007, in the same run: the same walks with their indexes dropped.
        asyncio.run(_sql(database_url, *DROP_LIST_INDEXES))
        try:
            before_walks, before_every = summarise(
                asyncio.run(_walks(stack.gateway_url, token, walks, 1))
            )
            before = {
                "walks": before_walks,
                "overall": latency_summary(before_every),
                "latencies_ms": before_every,
            }
        finally:
            build_s = asyncio.run(
                _sql(database_url, *CREATE_LIST_INDEXES, "ANALYZE trade_participant")
            )
        before["index_build_seconds"] = round(build_s, 1)
    else:
        asyncio.run(_sql(database_url, *CREATE_LIST_INDEXES))
    code_before: dict[str, Any] | None = None
    baseline_rev = os.environ.get("BENCH_TRADES_BASELINE_REV") or None
    if baseline_rev:
        # The same walks, same data and indexes, with the trades service of another revision.
        with tempfile.TemporaryDirectory(prefix="minato-bench-trades-") as tree_dir:
            tree = service_tree_at(baseline_rev, "trades", Path(tree_dir))
            pythonpath = os.pathsep.join(p for p in (str(tree), os.environ.get("PYTHONPATH")) if p)
            restart_with(stack, "trades", {"PYTHONPATH": pythonpath})
            try:
                old_walks, old_every, old_cpu = _measured_walks(stack, token, walks, rounds)
            finally:
                restart_with(stack, "trades", {})
        code_before = {
            "rev": baseline_rev,
            "walks": old_walks,
            "overall": latency_summary(old_every),
            "cpu_ms_per_page": old_cpu,
            "latencies_ms": old_every,
        }
    per_walk, every, cpu_ms_per_page = _measured_walks(stack, token, walks, rounds)
    overall = latency_summary(every)
    return {
        "scenario": "trade_list",
        "load": load,
        "sizes": sizes,
        "page_size": PAGE,
        "max_pages": MAX_PAGES,
        "users": USERS,
        "rounds": rounds,
        "filters": {name: dict(params) for name, params in walks.items()},
        "before_list_indexes": before,
        "before_code": code_before,
        "walks": per_walk,
        "overall": overall,
        "cpu_ms_per_page": cpu_ms_per_page,
        "latencies_ms": every,
        "target": f"p99 < {TARGET_P99_MS} ms",
        "met": overall["p99_ms"] < TARGET_P99_MS,
    }


def markdown(result: dict[str, Any]) -> list[str]:
    sizes, load = result["sizes"], result["load"]
    loaded = (
        "reused from an earlier run"
        if load["reused"]
        else f"bulk-loaded in {load['load_seconds']:.0f} s"
    )
    lines = [
        f"## Trade list at {load['trades']:,} trades: filtered keyset pages through the gateway",
        "",
        f"{sizes['trade_rows']:,} trades, {sizes['participant_rows']:,} participant rows "
        f"({loaded}; database {sizes['database_size']}). Caller: a forwarder in "
        f"{sizes['caller_trades']:,} of them. Each filter paged by `next_cursor` (limit "
        f"{result['page_size']}) to its end or {result['max_pages']} pages, {result['rounds']} "
        f"times, {result['users']} walks at once.",
        "",
        "| filter | pages | trades | p50 ms | p99 ms | max ms | last page ms | before: p99 ms "
        "| before: max ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    before = result.get("before_list_indexes") or {"walks": {}}
    for name, row in result["walks"].items():
        old = before["walks"].get(name)
        lines.append(
            f"| {name} | {row['pages_per_walk']} | {row['items_per_walk']:,} | {row['p50_ms']:.1f} | "
            f"{row['p99_ms']:.1f} | {row['max_ms']:.1f} | {row['last_page_ms']:.1f} | "
            + (f"{old['p99_ms']:.1f} | {old['max_ms']:.1f} |" if old else " | |")
        )
    overall = result["overall"]
    lines += [
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
        f"| p99 < {TARGET_P99_MS:.0f} ms over every page | {overall['p99_ms']:.1f} ms "
        f"({overall['count']:.0f} pages, p50 {overall['p50_ms']:.1f} ms) | "
        f"{'met' if result['met'] else 'missed'} |",
        "",
        "CPU per page (after, from /proc, PostgreSQL not counted): "
        + ", ".join(f"{name} {ms:.1f} ms" for name, ms in result["cpu_ms_per_page"].items())
        + ".",
        "",
    ]
    code_before = result.get("before_code")
    if code_before:
        lines += [
            f"Before, the trades service of `{code_before['rev']}` (same run, same data and "
            f"indexes, {result['rounds']} rounds): p99 {code_before['overall']['p99_ms']:.1f} ms, "
            f"p50 {code_before['overall']['p50_ms']:.1f} ms over "
            f"{code_before['overall']['count']:.0f} pages; CPU per page "
            + ", ".join(
                f"{name} {ms:.1f} ms" for name, ms in code_before["cpu_ms_per_page"].items()
            )
            + ". Per filter, p99 ms before → after: "
            + "; ".join(
                f"{name} {row['p99_ms']:.1f} → {result['walks'][name]['p99_ms']:.1f}"
                for name, row in code_before["walks"].items()
            )
            + ".",
            "",
        ]
    if before.get("overall"):
        lines += [
            f"Before (trades0006/0007's indexes dropped, same run, one round): p99 "
            f"{before['overall']['p99_ms']:.1f} ms over {before['overall']['count']:.0f} pages; "
            f"rebuilding them took {before['index_build_seconds']:.0f} s.",
            "",
        ]
    return lines
