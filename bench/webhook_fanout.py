"""Webhook fan-out: a burst of events through the real intake, signed deliveries to a local receiver.

Target (issue 9): >= 1,000 signed deliveries/s, none lost. The whole system runs (``bench.full_stack``),
with the one setting a single machine needs: ``NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE_TARGETS=true`` (the
receiver is on 127.0.0.1); everything else is the service's defaults. ``BENCH_WEBHOOK_ENDPOINTS``
endpoints (default 40, ten per organisation) subscribe to ``vessel_schedule.*``; ``BENCH_WEBHOOK_EVENTS``
events (default 250, each for all those organisations: 10,000 deliveries) are published the way the outbox relays publish them: ``POST /internal/events``
on the notifications service with a service token from the gateway's client-credentials grant, several
at a time. The receiver (``bench.webhook_receiver``, its own process) verifies every signature with the
``standardwebhooks`` library and counts each (endpoint, webhook-id).

Measured: deliveries/s from the first to the last delivery at the receiver, lost (expected and never
verified) and duplicate deliveries, bad signatures, the intake's events/s, and the notifications
process's CPU per delivery. ``BENCH_WEBHOOK_BASELINE_REV=<git rev>`` also runs that revision's
``services/notifications`` (restarted in the same system, same endpoints) for a before/after in one run;
``BENCH_WEBHOOK_BASELINE_TREE=DIR`` takes it from ``DIR/services/notifications`` instead.
``BENCH_WEBHOOK_PYSPY=PREFIX`` records py-spy (200 Hz, speedscope, ``--subprocesses``) on the
notifications process during each variant's burst, to ``PREFIX-<variant>.json``; CPU per delivery is
then inflated by the sampling, so compare profiles with profiles (``BENCH_WEBHOOK_PYSPY_NATIVE=1``
adds C frames).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.full_stack import (
    Receiver,
    restart_with,
    running_receiver,
    running_system,
    service_token,
    signed_token,
)
from bench.gateway_hop import (
    process_group_cpu_s,
    process_group_cpu_split_s,
    pyspy_recording,
)
from shared.devstack.stack import BACKENDS, REPO_ROOT, Stack

TARGET_DELIVERIES_PER_S = 1000.0
ENDPOINTS_PER_ORG = 10
NOTIFICATIONS = next(spec for spec in BACKENDS if spec.name == "notifications")
WEBHOOKS = "/api/v1/notifications/webhooks"


def schedule_event(orgs: list[str], index: int) -> dict[str, Any]:
    """A ``vessel_schedule.updated`` for some organisations, as notifications' Colins intake emits."""
    return {
        "id": str(uuid.uuid4()),
        "type": "vessel_schedule.updated",
        "version": 1,
        "occurred_at": dt.datetime.now(dt.UTC).isoformat(),
        "source": "bench",
        "trade_id": None,
        "org_ids": orgs,
        "data": {"vessel_name": "MINATO MARU", "voyage": f"{index % 1000:03d}E", "port": "JPTYO"},
    }


async def publish(
    url: str, token: str, events: list[dict[str, Any]], concurrency: int
) -> dict[str, float]:
    """Publish like a relay: each event until the service accepts it (201, or 200 for a replay)."""
    queue = list(reversed(events))
    retries = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal retries
        while queue:
            event = queue.pop()
            while True:
                try:
                    response = await client.post(url, json=event)
                    if response.status_code in (200, 201):
                        break
                except httpx.HTTPError:
                    pass
                retries += 1
                await asyncio.sleep(0.1)

    started = time.perf_counter()
    async with httpx.AsyncClient(
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
        limits=httpx.Limits(max_connections=concurrency),
    ) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "events_per_s": len(events) / seconds, "retries": float(retries)}


def wait_for_deliveries(
    receiver: Receiver, expected: int, idle_timeout_s: float = 30.0, timeout_s: float = 600.0
) -> dict[str, Any]:
    """Until every expected delivery arrived, or nothing new arrived for ``idle_timeout_s``."""
    deadline = time.monotonic() + timeout_s
    last_count, last_change = -1, time.monotonic()
    while True:
        stats = receiver.stats()
        if stats["unique"] >= expected:
            time.sleep(1.0)  # late duplicates would show here
            return receiver.stats(with_ids=True)
        if stats["unique"] != last_count:
            last_count, last_change = stats["unique"], time.monotonic()
        now = time.monotonic()
        if now - last_change > idle_timeout_s or now > deadline:
            return receiver.stats(with_ids=True)
        time.sleep(0.25)


async def delivery_log(database_url: str, event_ids: list[str]) -> dict[str, int]:
    """What the notifications service's own delivery log says about the burst: deliveries per status
    and last error (a delivery the receiver never verified shows here as pending with its error)."""
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        rows = await conn.fetch(
            """
            SELECT status || ' ' || coalesce(last_status_code::text, '')
                   || ' ' || coalesce(left(last_error, 60), '') AS outcome, count(*) AS n
            FROM webhook_deliveries WHERE event_id = ANY($1::uuid[]) GROUP BY 1 ORDER BY 2 DESC
            """,
            event_ids,
        )
    finally:
        await conn.close()
    return {row["outcome"].strip(): row["n"] for row in rows}


def burst(
    stack: Stack,
    receiver: Receiver,
    *,
    orgs: list[str],
    hook_paths: list[str],
    events: int,
    concurrency: int,
    pyspy: str | None = None,
) -> dict[str, Any]:
    notifications = stack.processes["notifications"]
    intake = notifications.url + "/internal/events"
    token = service_token(stack, "trades")
    # Warm-up: connections, caches, the dispatcher's first poll; then count from zero.
    warm = [schedule_event(orgs, i) for i in range(2)]
    asyncio.run(publish(intake, token, warm, concurrency))
    wait_for_deliveries(receiver, len(warm) * len(hook_paths), idle_timeout_s=60)
    receiver.reset()

    batch = [schedule_event(orgs, i) for i in range(events)]
    expected = events * len(hook_paths)
    # --native (C frames) has to stop the process for each sample.
    native = ("--native",) if os.environ.get("BENCH_WEBHOOK_PYSPY_NATIVE") else ("--nonblocking",)
    with pyspy_recording(notifications.process.pid, pyspy, "--subprocesses", *native):
        cpu_before = process_group_cpu_s(notifications.process.pid)
        split_before = process_group_cpu_split_s(notifications.process.pid)
        published_at = time.time()
        intake_result = asyncio.run(publish(intake, token, batch, concurrency))
        stats = wait_for_deliveries(receiver, expected)
        cpu_s = process_group_cpu_s(notifications.process.pid) - cpu_before
        split_after = process_group_cpu_split_s(notifications.process.pid)

    wanted = {str(e["id"]) for e in batch}
    seen = {path: set(stats["ids"].get(path, [])) for path in hook_paths}
    lost = sum(len(wanted - ids) for ids in seen.values())
    strangers = sum(len(ids - wanted) for ids in seen.values())
    assert stack.postgres is not None
    database = stack.postgres.url_for(stack.database_name(NOTIFICATIONS))
    log = asyncio.run(delivery_log(database, sorted(wanted)))
    first, last = stats["first_at"], stats["last_at"]
    window = (last - first) if first is not None and last is not None else 0.0
    rate = (stats["unique"] - 1) / window if window > 0 else 0.0
    return {
        "events": events,
        "endpoints": len(hook_paths),
        "expected_deliveries": expected,
        "delivered": stats["unique"],
        "lost": lost,
        "unexpected_ids": strangers,
        "duplicates": stats["duplicates"],
        "bad_signatures": stats["bad_signatures"],
        "deliveries_per_s": round(rate, 1),
        "first_to_last_delivery_s": round(window, 3),
        "publish_to_last_delivery_s": round(last - published_at, 3) if last else None,
        "intake_events_per_s": round(intake_result["events_per_s"], 1),
        "intake_seconds": round(intake_result["seconds"], 3),
        "intake_retries": intake_result["retries"],
        "delivery_log": log,
        "notifications_cpu_s": round(cpu_s, 2),
        "notifications_cpu_user_s": round(split_after[0] - split_before[0], 2),
        "notifications_cpu_system_s": round(split_after[1] - split_before[1], 2),
        "notifications_cpu_us_per_delivery": round(cpu_s * 1e6 / stats["unique"], 1)
        if stats["unique"]
        else None,
    }


def baseline_tree(rev: str, into: Path) -> Path:
    """``services/notifications`` at ``rev``, to put first on the restarted process's PYTHONPATH."""
    archive = subprocess.run(
        ["git", "archive", rev, "services/notifications"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "services" / "notifications"


def run(
    events: int | None = None, endpoints: int | None = None, baseline_rev: str | None = None
) -> dict[str, Any]:
    events = events or int(os.environ.get("BENCH_WEBHOOK_EVENTS", "250"))
    endpoints = endpoints or int(os.environ.get("BENCH_WEBHOOK_ENDPOINTS", "40"))
    baseline_rev = baseline_rev or os.environ.get("BENCH_WEBHOOK_BASELINE_REV") or None
    concurrency = int(os.environ.get("BENCH_WEBHOOK_PUBLISHERS", "16"))
    pyspy = os.environ.get("BENCH_WEBHOOK_PYSPY") or None
    tree_dir = Path(tempfile.mkdtemp(prefix="minato-bench-notifications-"))
    try:
        with (
            running_receiver() as receiver,
            running_system({"NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true"}) as stack,
        ):
            # A partner organisation may have 20 endpoints: the fan-out spreads over several.
            orgs = [str(uuid.uuid4()) for _ in range(math.ceil(endpoints / ENDPOINTS_PER_ORG))]
            hook_paths = [f"/hook/{index}" for index in range(endpoints)]
            secrets = {}
            with httpx.Client(base_url=stack.gateway_url, timeout=30) as gateway:
                for index, path in enumerate(hook_paths):
                    org = orgs[index // ENDPOINTS_PER_ORG]
                    token = signed_token(stack, org=org, roles=["org_admin"])
                    created = gateway.post(
                        WEBHOOKS,
                        json={"url": receiver.url + path, "event_types": ["vessel_schedule.*"]},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    created.raise_for_status()
                    secrets[path] = created.json()["secret"]
            receiver.add_secrets(secrets)

            variants: dict[str, dict[str, Any]] = {}
            given_tree = os.environ.get("BENCH_WEBHOOK_BASELINE_TREE")
            if given_tree:
                baseline_rev = baseline_rev or given_tree
            if baseline_rev:
                tree = (
                    Path(given_tree) / "services" / "notifications"
                    if given_tree
                    else baseline_tree(baseline_rev, tree_dir)
                )
                pythonpath = os.pathsep.join(
                    p for p in (str(tree), os.environ.get("PYTHONPATH", "")) if p
                )
                restart_with(stack, "notifications", {"PYTHONPATH": pythonpath})
                variants["baseline"] = {
                    "rev": baseline_rev,
                    **burst(
                        stack,
                        receiver,
                        orgs=orgs,
                        hook_paths=hook_paths,
                        events=events,
                        concurrency=concurrency,
                        pyspy=f"{pyspy}-baseline.json" if pyspy else None,
                    ),
                }
                restart_with(stack, "notifications", {})
            variants["current"] = burst(
                stack,
                receiver,
                orgs=orgs,
                hook_paths=hook_paths,
                events=events,
                concurrency=concurrency,
                pyspy=f"{pyspy}-current.json" if pyspy else None,
            )
    finally:
        shutil.rmtree(tree_dir, ignore_errors=True)
    current = variants["current"]
    return {
        "scenario": "webhook_fanout",
        "settings": {
            "events": events,
            "endpoints": endpoints,
            "publishers": concurrency,
            "notifications_env": {"NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true"},
        },
        "variants": variants,
        "target_deliveries_per_s": TARGET_DELIVERIES_PER_S,
        "met": current["deliveries_per_s"] >= TARGET_DELIVERIES_PER_S
        and current["lost"] == 0
        and current["bad_signatures"] == 0,
    }


def markdown(result: dict[str, Any]) -> list[str]:
    settings = result["settings"]
    lines = [
        f"## Webhook fan-out: {settings['events']:,} events × {settings['endpoints']} endpoints, "
        "signed deliveries to a local receiver",
        "",
        "Events through notifications' service-authenticated intake (as the outbox relays send "
        f"them, {settings['publishers']} at a time); every signature verified (`standardwebhooks`). "
        "Deliveries/s from the first to the last delivery at the receiver; CPU: the notifications "
        "process (intake and dispatch) per delivery.",
        "",
        "| variant | deliveries/s | delivered | lost | duplicates | bad signatures | intake events/s "
        "| notifications CPU µs/delivery |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in result["variants"].items():
        label = f"{name} (`{row['rev']}`)" if "rev" in row else name
        lines.append(
            f"| {label} | {row['deliveries_per_s']:,.0f} | {row['delivered']:,} | {row['lost']:,} | "
            f"{row['duplicates']:,} | {row['bad_signatures']:,} | {row['intake_events_per_s']:,.0f} | "
            f"{row['notifications_cpu_us_per_delivery'] or 0:,.0f} |"
        )
    current = result["variants"]["current"]
    lines += [
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
        f"| ≥ {result['target_deliveries_per_s']:,.0f} signed deliveries/s, none lost | "
        f"{current['deliveries_per_s']:,.0f} /s, {current['lost']} lost | "
        f"{'met' if result['met'] else 'missed'} |",
        "",
    ]
    if current["lost"]:
        lines += [f"Delivery log of the burst: {current.get('delivery_log')}", ""]
    return lines


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
