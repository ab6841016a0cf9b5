"""The whole export journey through the gateway, many at once: trade → S/I → ECR → send → EDA → EDC →
permit → the permit on the trade's timeline → its webhook delivered.

Target (issue 9): >= 50 journeys/s, p99 < 1 s. Every process runs (``bench.full_stack``), with the
NACCS stand-in permitting at once (``NACCS_STANDIN_PERMIT_DELAY_S=0``; its default is 60 s) and
webhooks to 127.0.0.1 allowed; everything else is the services' defaults.

Set up once, not timed: ``BENCH_JOURNEY_NACCS_USERS`` (default 10) forwarder organisations, each a
real admin (operator CLI → organisation → invitation → TOTP, the helpers of
``tests/e2e/test_naccs_e2e.py``) with their own linked NACCS 利用者ID (the bridge sends one telegram at a
time per 利用者ID), the organisation's NACCS master data, and a webhook endpoint for ``naccs.*`` served
by a receiver inside this driver's event loop (``bench.webhook_receiver``'s app: every signature
verified with ``standardwebhooks``). ``BENCH_JOURNEYS`` (200) journeys run,
``BENCH_JOURNEY_CONCURRENCY`` (50) at a time, spread over the forwarders.

One journey, timed step by step, is the e2e test's API sequence:

1. ``trade``: ``POST /api/v1/trades``;
2. ``ecr``: ``PUT .../naccs/trades/{id}/forms/ECR`` with the S/I, booking and invoice as the prefill
   bundle (the e2e test's ``BUNDLE``), ``POST .../sends``, and the send's ``naccs.result`` webhook;
   then ``eda`` and ``edc`` the same way (EDA with the broker's entries);
3. ``permit``: the ``naccs.permit`` webhook (the stand-in's 輸出許可通知, picked up by the bridge's
   output poller, relayed to notifications), then ``timeline``: ``GET .../timeline?kind=naccs.permit``
   until the permit is on the trade's timeline (relayed to the trades service).

The driver waits on webhooks, as an integrator at this volume would, instead of polling each send (which
would be most of the load). After each send's webhook, one ``GET /api/v1/naccs/sends/{id}`` reads the
service's own timestamps, so each send step splits into queue wait (queued → sent), NACCS (sent →
finished) and notification (finished → webhook at the receiver).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.util
import json
import math
import os
import time
import uuid
from collections.abc import Callable
from types import ModuleType
from typing import Any

import httpx
import uvicorn
from standardwebhooks import Webhook

from bench import webhook_receiver
from bench.full_stack import running_system
from shared.devstack.stack import REPO_ROOT, Stack, free_port

TARGET_JOURNEYS_PER_S = 50.0
TARGET_P99_S = 1.0
NACCS_E2E = REPO_ROOT / "tests" / "e2e" / "test_naccs_e2e.py"
STEPS = ("trade", "ecr", "eda", "edc", "permit", "timeline")


def e2e_helpers() -> ModuleType:
    """tests/e2e/test_naccs_e2e.py: the realistic export bundle, master data and the admin set-up."""
    spec = importlib.util.spec_from_file_location("naccs_e2e_helpers", NACCS_E2E)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[max(1, math.ceil(pct / 100 * len(ordered))) - 1]


def parse_time(value: str | None) -> float | None:
    return dt.datetime.fromisoformat(value).timestamp() if value else None


class Webhooks:
    """Waits for webhooks by key: ``send:<send id>`` (naccs.result) and ``permit:<trade id>``."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.waiting: dict[str, asyncio.Event] = {}

    def on_payload(self, payload: dict[str, Any]) -> None:
        data = payload.get("data") or {}
        if payload["type"] == "naccs.result" and data.get("send_id"):
            self.mark(f"send:{data['send_id']}")
        elif payload["type"] == "naccs.permit" and payload.get("trade_id"):
            self.mark(f"permit:{payload['trade_id']}")

    def mark(self, key: str) -> None:
        self.arrived.setdefault(key, time.time())
        event = self.waiting.pop(key, None)
        if event is not None:
            event.set()

    async def wait(self, key: str, timeout_s: float) -> float:
        if key not in self.arrived:
            event = self.waiting.setdefault(key, asyncio.Event())
            await asyncio.wait_for(event.wait(), timeout_s)
        return self.arrived[key]


class Journey:
    def __init__(
        self,
        client: httpx.AsyncClient,
        user: dict[str, str],
        helpers: ModuleType,
        webhooks: Webhooks,
    ) -> None:
        self.client = client
        self.user = user
        self.helpers = helpers
        self.webhooks = webhooks
        self.steps: dict[str, float] = {}
        self.sends: dict[str, dict[str, float]] = {}

    async def call(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> Any:
        response = await self.client.request(
            method, path, headers={**self.user, **(headers or {})}, **kwargs
        )
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response.json()

    async def step(self, name: str, work: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        result = await work()
        self.steps[name] = time.perf_counter() - started
        return result

    async def send(self, trade_id: str, code: str, body: dict[str, Any]) -> None:
        base = f"/api/v1/naccs/trades/{trade_id}/forms/{code}"
        form = await self.call("PUT", base, json=body)
        if not form["ready_to_send"]:
            raise RuntimeError(f"{code} not ready: {form['pending_for_person']}")
        send = await self.call("POST", base + "/sends")
        arrived = await self.webhooks.wait(f"send:{send['id']}", 60)
        status = await self.call("GET", f"/api/v1/naccs/sends/{send['id']}")
        if status["status"] != "result_stored" or not status["result"]["accepted"]:
            raise RuntimeError(f"{code} send: {status['status']} {status['result']}")
        created, sent, finished = (
            parse_time(status[key]) for key in ("created_at", "sent_at", "finished_at")
        )
        if created and sent and finished:
            self.sends[code] = {
                "queued_s": sent - created,
                "naccs_s": finished - sent,
                "webhook_s": arrived - finished,
            }

    async def run(self) -> float:
        helpers, started = self.helpers, time.perf_counter()
        trade = await self.step(
            "trade",
            lambda: self.call(
                "POST",
                "/api/v1/trades",
                json={
                    "direction": "export",
                    "owner_role": "forwarder",
                    "owner_display_name": "Minato FW",
                },
                headers={"Idempotency-Key": str(uuid.uuid4())},
            ),
        )
        trade_id = trade["id"]
        # The S/I, booking and invoice travel as the bundle of each PUT, as in the e2e test.
        inline = {"bundle": helpers.BUNDLE}
        await self.step("ecr", lambda: self.send(trade_id, "ECR", inline))
        await self.step(
            "eda", lambda: self.send(trade_id, "EDA", {**inline, "entries": helpers.EDA_ENTRIES})
        )
        await self.step("edc", lambda: self.send(trade_id, "EDC", inline))
        await self.step("permit", lambda: self.webhooks.wait(f"permit:{trade_id}", 60))

        async def on_timeline() -> None:
            while True:
                timeline = await self.call(
                    "GET", f"/api/v1/trades/{trade_id}/timeline", params={"kind": "naccs.permit"}
                )
                if timeline["items"]:
                    return
                await asyncio.sleep(0.05)

        await self.step("timeline", on_timeline)
        return time.perf_counter() - started


async def drive(
    stack: Stack,
    users: list[dict[str, str]],
    helpers: ModuleType,
    *,
    journeys: int,
    concurrency: int,
) -> dict[str, Any]:
    webhooks = Webhooks()
    arrivals = webhook_receiver.ARRIVALS
    arrivals.on_payload = webhooks.on_payload
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            webhook_receiver.app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes only this flag
        await asyncio.sleep(0.05)
    async with httpx.AsyncClient(
        base_url=stack.gateway_url,
        timeout=60,
        limits=httpx.Limits(max_connections=concurrency * 2),
    ) as client:
        for index, user in enumerate(users):  # each organisation subscribes its own endpoint
            path = f"/hook/journeys-{index}"
            created = await client.post(
                "/api/v1/notifications/webhooks",
                json={"url": f"http://127.0.0.1:{port}{path}", "event_types": ["naccs.*"]},
                headers=user,
            )
            created.raise_for_status()
            arrivals.verifiers[path] = Webhook(created.json()["secret"])

        for user in users:  # warm-up, not counted
            await Journey(client, user, helpers, webhooks).run()

        done: list[Journey] = []
        latencies: list[float] = []
        failures: list[str] = []
        remaining = journeys

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                journey = Journey(client, users[remaining % len(users)], helpers, webhooks)
                try:
                    latencies.append(await journey.run())
                    done.append(journey)
                except Exception as exc:  # a failed journey is counted and named, not fatal
                    failures.append(f"{type(exc).__name__}: {exc}"[:300])

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
        bad_signatures = arrivals.bad_signatures
    server.should_exit = True
    await serving
    arrivals.on_payload = None

    steps = {
        name: {
            "p50_s": round(percentile([j.steps[name] for j in done if name in j.steps], 50), 3),
            "p99_s": round(percentile([j.steps[name] for j in done if name in j.steps], 99), 3),
            "mean_s": round(
                sum(j.steps.get(name, 0.0) for j in done) / len(done) if done else 0.0, 3
            ),
        }
        for name in STEPS
        if any(name in j.steps for j in done)
    }
    send_parts = {
        f"{code}.{part}": round(
            percentile([j.sends[code][part] for j in done if code in j.sends], 50), 3
        )
        for code in ("ECR", "EDA", "EDC")
        for part in ("queued_s", "naccs_s", "webhook_s")
    }
    return {
        "journeys": journeys,
        "completed": len(done),
        "failed": len(failures),
        "failures": sorted(set(failures))[:5],
        "bad_signatures": bad_signatures,
        "concurrency": concurrency,
        "naccs_users": len(users),
        "seconds": round(seconds, 2),
        "journeys_per_s": round(len(done) / seconds, 2) if seconds else 0.0,
        "p50_s": round(percentile(latencies, 50), 3),
        "p90_s": round(percentile(latencies, 90), 3),
        "p99_s": round(percentile(latencies, 99), 3),
        "steps": steps,
        "send_parts_p50_s": send_parts,
        "slowest_step": max(steps, key=lambda name: steps[name]["mean_s"]) if steps else None,
    }


def linked_forwarder(
    gateway: httpx.Client, stack: Stack, helpers: ModuleType, user_code: str
) -> dict[str, str]:
    """A forwarder organisation's admin with a linked NACCS 利用者ID and the organisation's master data."""
    user: dict[str, str] = helpers.a_forwarder_admin(gateway, stack)
    me = gateway.get("/api/v1/users/me", headers=user).json()
    gateway.put(
        f"/api/v1/users/{me['id']}/naccs-credentials",
        json={"user_code": user_code, "identifier": "001", "password": "naccsBch"},
        headers=user,
    ).raise_for_status()
    for kind, csv in (
        ("companies", helpers.COMPANIES_CSV),
        ("products", helpers.PRODUCTS_CSV),
        ("bonded_areas", helpers.BONDED_AREAS_CSV),
        ("vessels", helpers.VESSELS_CSV),
    ):
        gateway.post(
            f"/api/v1/naccs/master/{kind}/import",
            content=csv.encode(),
            headers={**user, "Content-Type": "text/csv"},
        ).raise_for_status()
    return user


def run(
    journeys: int | None = None, concurrency: int | None = None, naccs_users: int | None = None
) -> dict[str, Any]:
    journeys = journeys or int(os.environ.get("BENCH_JOURNEYS", "200"))
    concurrency = concurrency or int(os.environ.get("BENCH_JOURNEY_CONCURRENCY", "50"))
    # The bridge sends one telegram at a time per 利用者ID (NACCS's rule), so the journeys spread over
    # this many forwarders, each with its own linked 利用者ID.
    naccs_users = naccs_users or int(os.environ.get("BENCH_JOURNEY_NACCS_USERS", "10"))
    env = {
        "NACCS_STANDIN_PERMIT_DELAY_S": "0",
        "NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
    }
    helpers = e2e_helpers()
    with running_system(env) as stack:
        with httpx.Client(base_url=stack.gateway_url, timeout=30) as gateway:
            users = [
                linked_forwarder(gateway, stack, helpers, f"MNB{index:02d}")
                for index in range(naccs_users)
            ]
        result = asyncio.run(
            drive(stack, users, helpers, journeys=journeys, concurrency=concurrency)
        )
    return {
        "scenario": "export_journey",
        "settings": {"env": env},
        **result,
        "target_journeys_per_s": TARGET_JOURNEYS_PER_S,
        "target_p99_s": TARGET_P99_S,
        "met": result["failed"] == 0
        and result["journeys_per_s"] >= TARGET_JOURNEYS_PER_S
        and result["p99_s"] < TARGET_P99_S,
    }


def markdown(result: dict[str, Any]) -> list[str]:
    lines = [
        f"## Export journey: trade → ECR → EDA → EDC → permit on the timeline + its webhook "
        f"({result['journeys']} journeys, {result['concurrency']} at a time, "
        f"{result['naccs_users']} forwarders with their own NACCS 利用者ID)",
        "",
        "Through the gateway, every process running, the NACCS stand-in permitting at once. The "
        "driver waits on webhooks (`naccs.result` per send, `naccs.permit`), then reads the timeline.",
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
        f"| ≥ {result['target_journeys_per_s']:.0f} journeys/s | {result['journeys_per_s']:.1f} /s "
        f"({result['completed']} done, {result['failed']} failed) | "
        f"{'met' if result['journeys_per_s'] >= result['target_journeys_per_s'] else 'missed'} |",
        f"| p99 < {result['target_p99_s']:.0f} s | p50 {result['p50_s']:.2f} s, p99 "
        f"{result['p99_s']:.2f} s | {'met' if result['p99_s'] < result['target_p99_s'] else 'missed'} |",
        "",
        "| step | p50 s | p99 s | mean s |",
        "|---|---|---|---|",
    ]
    for name, row in result["steps"].items():
        lines.append(f"| {name} | {row['p50_s']:.3f} | {row['p99_s']:.3f} | {row['mean_s']:.3f} |")
    parts = result["send_parts_p50_s"]
    lines += [
        "",
        "Each send, p50 s: queued → sent (bridge queue) / sent → finished (NACCS stand-in) / "
        "finished → webhook at the receiver: "
        + "; ".join(
            f"{code} {parts[f'{code}.queued_s']:.2f} / {parts[f'{code}.naccs_s']:.2f} / "
            f"{parts[f'{code}.webhook_s']:.2f}"
            for code in ("ECR", "EDA", "EDC")
        ),
        "",
    ]
    if result["failures"]:
        lines += ["Failures: " + "; ".join(f"`{f}`" for f in result["failures"]), ""]
    return lines


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
