"""Two replicas of every service on one machine, behind the gateway (two gateways as well).

Its own stack (``StackOptions.replicas=2``): two processes of the gateway, trades, forms, NACCS bridge
and notifications on distinct ports, wired into the gateways' upstream lists and into each other's
peers. What a user would notice if a replica kept something to itself:

- traffic reaches both replicas of every service (each replica's own ``/metrics``);
- a burst of trades created through both trades replicas, one trades and one notifications replica
  killed mid-burst: every trade's ``trade.created`` reaches a partner's webhook receiver (signatures
  checked with ``standardwebhooks``), exactly once per webhook-id in its dedupe table, and the
  gateway keeps answering GETs all along;
- failed logins spread over both gateways lock the account as if there were one.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared.devstack.stack import BACKENDS, GATEWAY, Stack
from tests.e2e.conftest import e2e_stack_options, sign_with_gateway_key
from tests.e2e.test_notifications_e2e import serving, wait_for

REPLICAS = 2
# A GET each service answers to any signed-in user (through the gateway).
READS = {
    "trades": "/api/v1/trades",
    "forms": "/api/v1/form-types",
    "naccs_bridge": "/api/v1/naccs/codes",
    "notifications": "/api/v1/notifications/events",
}
TRADES = "/api/v1/trades"
WEBHOOKS = "/api/v1/notifications/webhooks"


@pytest.fixture(scope="module")
def replicated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    options = e2e_stack_options(
        tmp_path_factory.mktemp("replicas"),
        "rep",
        replicas=REPLICAS,
        extra_env={
            # A killed relay's leases run out within the test, and relays poll briskly.
            "TRADES_OUTBOX_LEASE_S": "3",
            "TRADES_OUTBOX_POLL_INTERVAL_S": "0.5",
            "NOTIFICATIONS_OUTBOX_LEASE_S": "3",
            "NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
            "NOTIFICATIONS_WEBHOOK_RETRY_SCHEDULE_S": "[0, 0.2, 0.5, 1, 1, 2, 2, 3, 5, 5]",
            "NOTIFICATIONS_DELIVERY_LEASE_S": "3",
            "NOTIFICATIONS_DISPATCHER_POLL_INTERVAL_S": "0.2",
            "GATEWAY_UPSTREAM_DOWN_S": "2",
            # Ten processes next to the suite's own stack on one PostgreSQL: small pools suffice
            # (one creator, one reader) and keep clear of max_connections.
            **{
                f"{spec.env_prefix}{setting}": value
                for spec in (GATEWAY, *BACKENDS)
                for setting, value in (("DB_POOL_SIZE", "2"), ("DB_MAX_OVERFLOW", "3"))
            },
        },
    )
    stack = Stack(options)
    try:
        stack.start()
    except Exception:
        for process in stack.processes.values():
            print(f"--- {process.name} ---\n{process.log_tail()}")  # noqa: T201
        stack.stop()
        raise
    yield stack
    stack.stop()


def user_of(stack: Stack, org: str) -> dict[str, str]:
    token = sign_with_gateway_key(stack, org=org, roles=["org_admin"], sub=f"admin-{org}")
    return {"Authorization": f"Bearer {token}"}


def gets_counted(replica_url: str, service: str) -> int:
    """GETs of the public API this replica answered, from its own /metrics."""
    text = httpx.get(replica_url + "/metrics", timeout=5).text
    total = 0.0
    for line in text.splitlines():
        if not line.startswith("minato_http_requests_total{"):
            continue
        labels, value = line.rsplit(" ", 1)
        if f'service="{service}"' in labels and 'method="GET"' in labels:
            if re.search(r'route="/api/v1/', labels):
                total += float(value)
    return int(total)


class Receiver:
    """A partner's webhook endpoint: checks every signature, and handles each webhook-id once."""

    def __init__(self) -> None:
        self.secret = ""
        self.handled: dict[str, str] = {}  # the dedupe table: webhook-id -> trade id
        self.deliveries: dict[str, int] = {}  # webhook-id -> times it arrived
        self.bad_signatures = 0
        self.lock = threading.Lock()

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            body = await request.body()
            try:
                Webhook(self.secret).verify(body, dict(request.headers.items()))
            except WebhookVerificationError:
                with self.lock:
                    self.bad_signatures += 1
                return Response(status_code=401)
            message_id = request.headers["webhook-id"]
            payload = orjson.loads(body)
            with self.lock:
                self.deliveries[message_id] = self.deliveries.get(message_id, 0) + 1
                if message_id not in self.handled:
                    self.handled[message_id] = _trade_id_of(payload)
            return JSONResponse({"ok": True})

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


def _trade_id_of(payload: dict[str, Any]) -> str:
    return str(payload["trade_id"])


def kill_hard(stack: Stack, name: str) -> None:
    process = stack.processes[name].process
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


class TestTwoReplicasOfEachService:
    def test_traffic_reaches_both_replicas_of_every_service(self, replicated: Stack) -> None:
        user = user_of(replicated, str(uuid.uuid4()))
        with httpx.Client(base_url=replicated.gateway_url, timeout=10) as gateway:
            for path in READS.values():
                for _ in range(6):
                    response = gateway.get(path, headers=user)
                    assert response.status_code == 200, (path, response.text)
        for spec in BACKENDS:
            counts = [gets_counted(url, spec.name) for url in replicated.replica_urls(spec)]
            assert len(counts) == REPLICAS
            assert all(count >= 2 for count in counts), (spec.name, counts)
        health = httpx.get(replicated.gateway_url + "/health/services", timeout=10).json()
        assert health["status"] == "ok"
        for spec in BACKENDS:
            replicas = health["services"][spec.name]["replicas"]
            assert [r["url"] for r in replicas] == replicated.replica_urls(spec)
            assert all(r["status"] == "ok" for r in replicas)

    def test_failed_logins_on_both_gateways_lock_the_account_once(self, replicated: Stack) -> None:
        gateways = replicated.replica_urls(GATEWAY)
        assert len(gateways) == REPLICAS
        email = f"nobody-{uuid.uuid4().hex[:8]}@shipper.example"
        statuses = []
        for attempt in range(6):  # five free failures (login_free_failures), then the lock
            response = httpx.post(
                gateways[attempt % 2] + "/api/v1/auth/login",
                json={"email": email, "password": f"wrong-{attempt}"},
                timeout=10,
            )
            statuses.append(response.status_code)
        # Neither gateway saw more than three failures: only a shared counter locks here.
        assert statuses[:5] == [401] * 5, statuses
        assert statuses[5] == 429, statuses
        other = httpx.post(
            gateways[0] + "/api/v1/auth/login",
            json={"email": email, "password": "wrong-again"},
            timeout=10,
        )
        assert other.status_code == 429
        assert int(other.headers["retry-after"]) > 0

    def test_a_burst_with_replicas_killed_midway_loses_no_event(self, replicated: Stack) -> None:
        org = str(uuid.uuid4())
        user = user_of(replicated, org)
        receiver = Receiver()
        burst = 30
        created: dict[str, str] = {}  # idempotency key -> trade id
        failed_reads: list[str] = []
        refusals: list[str] = []  # creations the gateway did not accept (retried)
        reads_done = [0]
        stop_reading = threading.Event()
        with (
            serving(receiver.app()) as receiver_url,
            httpx.Client(base_url=replicated.gateway_url, timeout=15) as gateway,
        ):
            hook = gateway.post(
                WEBHOOKS,
                json={"url": receiver_url + "/hook", "event_types": ["trade.created"]},
                headers=user,
            )
            assert hook.status_code == 201, hook.text
            receiver.secret = hook.json()["secret"]

            def create_all() -> None:
                """Like an integrator: each creation retried with its Idempotency-Key until done."""
                with httpx.Client(base_url=replicated.gateway_url, timeout=15) as client:
                    for index in range(burst):
                        key = f"burst-{org}-{index}"
                        deadline = time.monotonic() + 30
                        while time.monotonic() < deadline:
                            try:
                                response = client.post(
                                    TRADES,
                                    json={
                                        "direction": "export",
                                        "owner_role": "shipper",
                                        "owner_display_name": f"港商事 {index}",
                                    },
                                    headers={**user, "Idempotency-Key": key},
                                )
                            except httpx.HTTPError as exc:
                                refusals.append(repr(exc))
                                continue
                            if response.status_code in (200, 201):
                                created[key] = response.json()["id"]
                                break
                            refusals.append(f"{response.status_code} {response.text[:300]}")
                            time.sleep(0.1)

            def read_all_along() -> None:
                with httpx.Client(base_url=replicated.gateway_url, timeout=15) as client:
                    while not stop_reading.is_set():
                        response = client.get(TRADES, headers=user, params={"limit": 5})
                        reads_done[0] += 1
                        if response.status_code != 200:
                            failed_reads.append(f"{response.status_code} {response.text[:200]}")

            creator = threading.Thread(target=create_all, daemon=True)
            reader = threading.Thread(target=read_all_along, daemon=True)
            creator.start()
            reader.start()
            try:
                wait_for(
                    lambda: len(created) >= burst // 3 or len(refusals) > 20,
                    30,
                    "the first trades to be created",
                )
                assert len(created) >= burst // 3, refusals[-3:]
                kill_hard(replicated, "trades-2")
                kill_hard(replicated, "notifications-2")
                creator.join(60)
                time.sleep(0.5)
            finally:
                stop_reading.set()
                reader.join(20)

            assert len(created) == burst, f"created {len(created)} of {burst}: {refusals[-3:]}"
            assert failed_reads == [], failed_reads[:5]
            assert reads_done[0] > 0
            wanted = set(created.values())
            # A creation retried with its key on the other replica made no second trade.
            listed = gateway.get(TRADES, params={"limit": 50}, headers=user).json()
            assert sorted(t["id"] for t in listed["items"]) == sorted(wanted)
            try:
                wait_for(
                    lambda: wanted <= set(receiver.handled.values()),
                    40,
                    "every trade.created at the receiver",
                )
            except AssertionError as exc:
                missing = wanted - set(receiver.handled.values())
                logs = {
                    name: replicated.processes[name].log_tail(15)
                    for name in ("trades", "notifications")
                }
                raise AssertionError(f"{exc}: {len(missing)} missing\n{logs}") from None
            assert receiver.bad_signatures == 0
            # One webhook-id per trade: the dedupe table holds each trade once.
            assert sorted(receiver.handled.values()) == sorted(wanted)
            # The gateway marked the dead replicas and still reports them.
            health = gateway.get("/health/services").json()
            trades_replicas = health["services"]["trades"]["replicas"]
            assert [r["status"] for r in trades_replicas] == ["ok", "unreachable"]
            assert health["services"]["trades"]["status"] == "degraded"
