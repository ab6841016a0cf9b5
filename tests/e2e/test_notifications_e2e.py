"""Notifications through real processes: the gateway, the trades service's outbox relay, the SMTP sink,
a partner's webhook receiver, and a notifications process killed mid-burst."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
import uvicorn
from cryptography.hazmat.primitives import serialization
from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared.devstack.stack import BACKENDS, Stack, free_port

NOTIFICATIONS = next(spec for spec in BACKENDS if spec.name == "notifications")
EVENTS = "/api/v1/notifications/events"
WEBHOOKS = "/api/v1/notifications/webhooks"


def bearer(stack: Stack, **claims: Any) -> dict[str, str]:
    """A token signed with the running gateway's own key (as tests/e2e/conftest.py signs them)."""
    key_path = sorted((stack.options.data_dir / "keys").glob("*.pem"))[-1]
    private_key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": "minato-gateway",
        "aud": "minato",
        "sub": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 300,
        "kind": "user",
        **claims,
    }
    token = jwt.encode(body, private_key, algorithm="RS256", headers={"kid": key_path.stem})  # type: ignore[arg-type]
    return {"Authorization": f"Bearer {token}"}


def admin_of(stack: Stack, org: str) -> dict[str, str]:
    return bearer(stack, org=org, roles=["org_admin"], sub=f"admin-{org}")


def service_token(stack: Stack) -> dict[str, str]:
    return bearer(stack, kind="service", scope="events:publish", sub="svc-e2e-publisher")


def wait_for(predicate: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


class FlakyReceiver:
    """A partner endpoint in this process: verifies signatures with standardwebhooks, keeps a dedupe
    table by webhook-id, and fails every other request with 503."""

    def __init__(self) -> None:
        self.secret = ""
        self.dedupe: dict[str, int] = {}
        self.requests = 0
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
            with self.lock:
                self.requests += 1
                message_id = request.headers["webhook-id"]
                self.dedupe[message_id] = self.dedupe.get(message_id, 0) + 1
                fail = self.requests % 2 == 1
            return Response(status_code=503) if fail else JSONResponse({"ok": True})

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


@contextlib.contextmanager
def serving(app: Starlette) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off")
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    wait_for(lambda: server.started, 10, "the receiver to start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def start_notifications(stack: Stack) -> str:
    """Start the notifications process and wait for it alone (other tests may have left stopped
    processes in the stack, which ``Stack.wait_ready`` would complain about)."""
    stack.start_service(NOTIFICATIONS)
    running = stack.processes[NOTIFICATIONS.name]

    def ready() -> bool:
        if running.process.poll() is not None:
            raise AssertionError(f"notifications exited\n{running.log_tail()}")
        try:
            return httpx.get(running.url + "/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(ready, 60, "notifications to be ready")
    return running.url


@contextlib.contextmanager
def notifications_for_tests(stack: Stack) -> Iterator[str]:
    """The notifications process restarted with settings a test on one machine needs: webhooks to
    127.0.0.1 allowed, a compressed retry schedule, short leases, mail to this stack's sink. The
    ordinary process is restored afterwards."""
    extra = {
        "NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
        "NOTIFICATIONS_WEBHOOK_RETRY_SCHEDULE_S": "[0, 0.2, 0.5, 1, 1, 2, 2, 3, 5, 5]",
        "NOTIFICATIONS_WEBHOOK_RETRY_JITTER": "0.1",
        "NOTIFICATIONS_DELIVERY_LEASE_S": "2",
        "NOTIFICATIONS_DISPATCHER_POLL_INTERVAL_S": "0.1",
        "NOTIFICATIONS_SMTP_PORT": str(stack.ports["smtp"]),
    }
    saved = stack.options.extra_env
    stack.stop_process(NOTIFICATIONS.name)
    stack.options.extra_env = {**saved, **extra}
    try:
        yield start_notifications(stack)
    finally:
        stack.stop_process(NOTIFICATIONS.name)
        stack.options.extra_env = saved
        start_notifications(stack)


def kill_hard(stack: Stack, name: str) -> None:
    process = stack.processes[name].process
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def schedule_event(org: str, index: int) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": "vessel_schedule.updated",
        "version": 1,
        "occurred_at": datetime.now(UTC).isoformat(),
        "source": "e2e",
        "trade_id": None,
        "org_ids": [org],
        "data": {"vessel_name": "MINATO MARU", "voyage": f"{index:03d}E", "port": "JPTYO"},
    }


class TestThroughTheGateway:
    def test_webhooks_to_private_addresses_are_refused(
        self, gateway: httpx.Client, stack: Stack
    ) -> None:
        admin = admin_of(stack, str(uuid.uuid4()))
        for url in (
            "https://127.0.0.1/hook",
            "https://10.0.0.1/hook",
            "https://[::1]/hook",
            "https://169.254.169.254/latest/meta-data/",
            "https://localhost/hook",
        ):
            response = gateway.post(
                WEBHOOKS, json={"url": url, "event_types": ["*"]}, headers=admin
            )
            assert response.status_code == 422, (url, response.text)
            assert response.json()["errors"][0]["field"] == "url"

    def test_a_trade_created_through_the_gateway_reaches_the_event_log(
        self, gateway: httpx.Client, stack: Stack
    ) -> None:
        org = str(uuid.uuid4())
        user = bearer(stack, org=org, roles=["org_admin"])
        created = gateway.post(
            "/api/v1/trades",
            json={"direction": "export", "owner_role": "shipper", "owner_display_name": "港商事"},
            headers=user,
        )
        assert created.status_code == 201, created.text
        trade_id = created.json()["id"]

        def logged() -> list[Any]:
            response = gateway.get(EVENTS, params={"trade_id": trade_id}, headers=user)
            return [e for e in response.json().get("items", []) if e["type"] == "trade.created"]

        try:
            [event] = wait_for(logged, 30, "trade.created in the event log")
        except AssertionError as exc:
            logs = {
                name: stack.processes[name].log_tail(30) for name in ("trades", "notifications")
            }
            raise AssertionError(f"{exc}\n{logs}") from None
        assert event["source"] == "trades"
        outsider = bearer(stack, org=str(uuid.uuid4()))
        assert (
            gateway.get(EVENTS, params={"trade_id": trade_id}, headers=outsider).status_code == 404
        )


class TestPartnerInbound:
    def test_a_partner_si_push_is_forwarded_into_the_trades_ul040(
        self, gateway: httpx.Client, stack: Stack
    ) -> None:
        org = str(uuid.uuid4())
        user = bearer(stack, org=org, roles=["org_admin"])
        created = gateway.post(
            "/api/v1/trades",
            json={"direction": "export", "owner_role": "shipper", "owner_display_name": "港商事"},
            headers=user,
        )
        assert created.status_code == 201, created.text
        trade_id = created.json()["id"]
        partner = bearer(stack, kind="client", org=org, scope="si:push", sub="tradewaltz-client")
        pushed = gateway.post(
            "/api/v1/notifications/partners/tradewaltz/shipping-instructions",
            json={
                "message_id": f"TW-{uuid.uuid4()}",
                "trade_id": trade_id,
                "shipper": {"name": "Minato Trading KK"},
                "consignee": {"name": "Harbour Imports Ltd"},
                "port_of_loading": "JPTYO",
                "port_of_discharge": "SGSIN",
                "commodity": "Machine parts",
            },
            headers=partner,
        )
        assert pushed.status_code == 202, pushed.text
        inbound_id = pushed.json()["id"]

        def processed() -> dict[str, Any] | None:
            status: dict[str, Any] = gateway.get(
                f"/api/v1/notifications/partners/inbound/{inbound_id}", headers=partner
            ).json()
            tried = status["status"] != "received" or status["status_detail"] is not None
            return status if tried else None

        status = wait_for(processed, 30, "the push to be forwarded")
        assert status["status"] == "forwarded", status["status_detail"]


class TestDeliveryAcrossACrash:
    def test_killing_notifications_mid_burst_loses_no_event_and_no_delivery(
        self, gateway: httpx.Client, stack: Stack
    ) -> None:
        org = str(uuid.uuid4())
        admin = admin_of(stack, org)
        receiver = FlakyReceiver()
        with serving(receiver.app()) as receiver_url, notifications_for_tests(stack) as direct:
            created = gateway.post(
                WEBHOOKS,
                json={"url": receiver_url + "/hook", "event_types": ["vessel_schedule.*"]},
                headers=admin,
            )
            assert created.status_code == 201, created.text
            receiver.secret = created.json()["secret"]
            events = [schedule_event(org, i) for i in range(40)]
            published: list[str] = []

            def publish_all() -> None:
                """Like an outbox relay: each event is retried until the service accepts it."""
                with httpx.Client(timeout=httpx.Timeout(3.0)) as client:
                    for body in events:
                        deadline = time.monotonic() + 60
                        while time.monotonic() < deadline:
                            try:
                                response = client.post(
                                    direct + "/internal/events",
                                    json=body,
                                    headers=service_token(stack),
                                )
                                if response.status_code in (200, 201):
                                    published.append(body["id"])
                                    break
                            except httpx.HTTPError:
                                pass
                            time.sleep(0.1)

            publisher = threading.Thread(target=publish_all, daemon=True)
            publisher.start()
            wait_for(lambda: len(published) >= 12, 30, "the first events to be accepted")
            kill_hard(stack, NOTIFICATIONS.name)  # mid-burst: deliveries in flight, leases held
            time.sleep(0.5)
            start_notifications(stack)
            publisher.join(90)
            assert sorted(published) == sorted(e["id"] for e in events)

            wanted = {e["id"] for e in events}
            wait_for(lambda: wanted <= set(receiver.dedupe), 90, "every event at the receiver")
            assert receiver.bad_signatures == 0
            assert receiver.requests > len(events)  # retries happened (every other one failed)

            seen: list[str] = []
            cursor = None
            for _ in range(20):
                params: dict[str, Any] = {"type": "vessel_schedule.updated", "limit": 500}
                if cursor:
                    params["cursor"] = cursor
                page = gateway.get(EVENTS, params=params, headers=admin).json()
                seen.extend(e["id"] for e in page["items"])
                cursor = page["next_cursor"]
                if not cursor:
                    break
            assert sorted(seen) == sorted(wanted)  # each event stored once

    def test_mail_reaches_the_sink_in_the_users_language(
        self, gateway: httpx.Client, stack: Stack
    ) -> None:
        org = str(uuid.uuid4())
        address = f"ops-{org[:8]}@shipper.example"
        user = bearer(stack, org=org, sub=f"user-{org}")
        with notifications_for_tests(stack) as direct:
            saved = gateway.put(
                "/api/v1/notifications/me/preferences",
                json={
                    "email": address,
                    "locale": "ja",
                    "preferences": [{"event_type": "*", "channel": "email", "enabled": True}],
                },
                headers=user,
            )
            assert saved.status_code == 200, saved.text
            response = httpx.post(
                direct + "/internal/events",
                json=schedule_event(org, 1),
                headers=service_token(stack),
            )
            assert response.status_code == 201, response.text
            sink = stack.processes["smtp-sink"].url

            def mails() -> list[Any]:
                found: list[Any] = httpx.get(f"{sink}/messages", params={"to": address}).json()
                return found

            [mail] = wait_for(mails, 30, "the mail at the sink")
            assert "本船動静が更新されました" in mail["subject"]
