"""Webhook delivery against real receiver processes (uvicorn on 127.0.0.1) that verify every request
with the ``standardwebhooks`` library: signatures, retries, dedupe, 410, auto-disable, rotation,
replay, the delivery log, leases and crash safety."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import text
from standardwebhooks import Webhook

from notifications.domain.delivery import AttemptResult, Dispatcher


async def create_endpoint(
    live: Any, tokens: Any, org: uuid.UUID, url: str, **extra: Any
) -> dict[str, Any]:
    response = await live.client.post(
        "/api/v1/notifications/webhooks",
        json={"url": url, "event_types": ["*"], **extra},
        headers=tokens.admin(org),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert body["secret"].startswith("whsec_")
    return body


async def publish(live: Any, tokens: Any, body: dict[str, Any]) -> None:
    response = await live.client.post("/internal/events", json=body, headers=tokens.service())
    assert response.status_code in (200, 201), response.text


async def deliveries(live: Any, tokens: Any, org: uuid.UUID, endpoint_id: str) -> list[Any]:
    response = await live.client.get(
        f"/api/v1/notifications/webhooks/{endpoint_id}/deliveries",
        params={"limit": 200},
        headers=tokens.admin(org),
    )
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


async def attempts(
    live: Any, tokens: Any, org: uuid.UUID, endpoint_id: str, delivery_id: str
) -> list[Any]:
    response = await live.client.get(
        f"/api/v1/notifications/webhooks/{endpoint_id}/deliveries/{delivery_id}/attempts",
        headers=tokens.admin(org),
    )
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()
    return items


class TestSignedDelivery:
    async def test_receiver_verifies_with_standardwebhooks_and_the_log_shows_it(
        self, live: Any, tokens: Any, trades: Any, receiver: Any, make_envelope: Callable[..., Any]
    ) -> None:
        org = uuid.uuid4()
        trade = trades.add_trade(org)
        endpoint = await create_endpoint(live, tokens, org, receiver.url)
        receiver.secrets = [endpoint["secret"]]
        body = make_envelope(
            "form.sent",
            trade_id=trade,
            data={"trade_id": str(trade), "form_id": str(uuid.uuid4()), "form_type": "UL040"},
        )
        await publish(live, tokens, body)
        await live.drain()

        assert receiver.rejected_signatures == 0
        assert list(receiver.dedupe) == [body["id"]]
        request = receiver.requests[0]
        assert request["headers"]["webhook-id"] == body["id"]
        assert request["headers"]["webhook-signature"].startswith("v1,")
        payload = Webhook(endpoint["secret"]).verify(request["body"], request["headers"])
        assert payload["type"] == "form.sent"
        assert payload["data"]["form_type"] == "UL040"
        assert payload["trade_id"] == str(trade)

        [delivery] = await deliveries(live, tokens, org, endpoint["id"])
        assert delivery["status"] == "delivered"
        assert delivery["event_type"] == "form.sent"
        [attempt] = await attempts(live, tokens, org, endpoint["id"], delivery["id"])
        assert attempt["succeeded"] is True
        assert attempt["status_code"] == 200
        assert attempt["duration_ms"] >= 0
        assert attempt["response_excerpt"] == '{"ok":true}'

        metrics = (await live.client.get("/metrics")).text
        assert 'minato_webhook_attempts_total{outcome="delivered"}' in metrics

    async def test_the_secret_is_shown_only_once(
        self, live: Any, tokens: Any, receiver: Any
    ) -> None:
        org = uuid.uuid4()
        endpoint = await create_endpoint(live, tokens, org, receiver.url)
        shown = await live.client.get(
            f"/api/v1/notifications/webhooks/{endpoint['id']}", headers=tokens.admin(org)
        )
        listed = await live.client.get("/api/v1/notifications/webhooks", headers=tokens.admin(org))
        assert "secret" not in shown.json()
        assert all("secret" not in e for e in listed.json())


class TestAtLeastOnce:
    async def test_a_receiver_failing_half_its_requests_gets_every_event_once_in_its_dedupe_table(
        self,
        live: Any,
        tokens: Any,
        trades: Any,
        receivers: Callable[..., AbstractAsyncContextManager[Any]],
        make_envelope: Callable[..., Any],
    ) -> None:
        org = uuid.uuid4()
        trade = trades.add_trade(org)
        async with receivers("flaky") as receiver:
            endpoint = await create_endpoint(live, tokens, org, receiver.url)
            receiver.secrets = [endpoint["secret"]]
            ids = []
            for _ in range(20):
                body = make_envelope(trade_id=trade)
                ids.append(body["id"])
                await publish(live, tokens, body)
            await live.drain()

            assert receiver.rejected_signatures == 0
            assert sorted(receiver.dedupe) == sorted(ids)  # each event id once
            per_id = Counter(r["headers"]["webhook-id"] for r in receiver.requests)
            assert len(receiver.requests) > len(ids)  # some were retried...
            assert set(per_id) == set(ids)
            retried = [i for i, n in per_id.items() if n > 1]
            assert retried
            # ...with the same webhook-id and a fresh, valid signature each time.
            for request in receiver.requests:
                if request["headers"]["webhook-id"] == retried[0]:
                    Webhook(endpoint["secret"]).verify(request["body"], request["headers"])
            log = await deliveries(live, tokens, org, endpoint["id"])
            assert {d["status"] for d in log} == {"delivered"}
            failed_first = next(d for d in log if d["event_id"] == retried[0])
            tried = await attempts(live, tokens, org, endpoint["id"], failed_first["id"])
            assert [a["status_code"] for a in tried][-1] == 200
            assert 503 in [a["status_code"] for a in tried]

    async def test_two_dispatchers_share_the_work_and_never_send_one_delivery_twice(
        self, live: Any, tokens: Any, trades: Any, receiver: Any, make_envelope: Callable[..., Any]
    ) -> None:
        org = uuid.uuid4()
        trade = trades.add_trade(org)
        endpoint = await create_endpoint(live, tokens, org, receiver.url)
        receiver.secrets = [endpoint["secret"]]
        for _ in range(30):
            await publish(live, tokens, make_envelope(trade_id=trade))
        first = live.dispatcher
        second = Dispatcher(
            first.sessionmaker,
            settings=first.settings,
            runtime=first.runtime,
            http=first.http,
            secret_box=first.box,
            mailer=first.mailer,
            forms=first.forms,
            trades=first.trades,
        )
        for _ in range(20):
            reports = await asyncio.gather(first.deliver_due(), second.deliver_due())
            if sum(reports) == 0:
                break
        assert len(receiver.requests) == 30
        assert len(receiver.dedupe) == 30


class TestCrashSafety:
    async def test_a_delivery_claimed_by_a_worker_that_died_is_retried_after_its_lease(
        self, live: Any, tokens: Any, trades: Any, receiver: Any, make_envelope: Callable[..., Any]
    ) -> None:
        org = uuid.uuid4()
        trade = trades.add_trade(org)
        endpoint = await create_endpoint(live, tokens, org, receiver.url)
        receiver.secrets = [endpoint["secret"]]
        ids = []
        for _ in range(5):
            body = make_envelope(trade_id=trade)
            ids.append(body["id"])
            await publish(live, tokens, body)

        doomed = live.dispatcher
        claimed = await doomed.claim_deliveries()
        assert len(claimed) == 5
        # The worker dies here: nothing is sent, nothing recorded. Its lease still holds...
        assert await doomed.claim_deliveries() == []

        # ...until it expires; then another replica takes every delivery.
        later_runtime = dataclasses.replace(
            doomed.runtime,
            now=lambda: (
                doomed.runtime.now() + timedelta(seconds=live.settings.delivery_lease_s + 1)
            ),
        )
        survivor = Dispatcher(
            doomed.sessionmaker,
            settings=doomed.settings,
            runtime=later_runtime,
            http=doomed.http,
            secret_box=doomed.box,
            mailer=doomed.mailer,
            forms=doomed.forms,
            trades=doomed.trades,
        )
        assert await survivor.deliver_due() == 5
        assert sorted(receiver.dedupe) == sorted(ids)

        # The dead worker coming back late cannot overwrite what the survivor recorded.
        await doomed.record(claimed[0], AttemptResult(False, 500, None, "late", 1))
        log = await deliveries(live, tokens, org, endpoint["id"])
        assert {d["status"] for d in log} == {"delivered"}
        assert {d["attempt_count"] for d in log} == {1}

    async def test_a_batch_of_successes_from_a_worker_that_lost_its_leases_changes_nothing(
        self, live: Any, tokens: Any, trades: Any, receiver: Any, make_envelope: Callable[..., Any]
    ) -> None:
        org = uuid.uuid4()
        trade = trades.add_trade(org)
        endpoint = await create_endpoint(live, tokens, org, receiver.url)
        receiver.secrets = [endpoint["secret"]]
        for _ in range(3):
            await publish(live, tokens, make_envelope(trade_id=trade))
        slow = live.dispatcher
        claimed = await slow.claim_deliveries()
        later_runtime = dataclasses.replace(
            slow.runtime,
            now=lambda: slow.runtime.now() + timedelta(seconds=live.settings.delivery_lease_s + 1),
        )
        other = Dispatcher(
            slow.sessionmaker,
            settings=slow.settings,
            runtime=later_runtime,
            http=slow.http,
            secret_box=slow.box,
            mailer=slow.mailer,
            forms=slow.forms,
            trades=slow.trades,
        )
        taken = await other.claim_deliveries()  # the slow worker's leases expired: taken over
        assert len(taken) == 3

        # The slow worker's batch of successes arrives late: the rows are no longer its to finish.
        await slow.record_delivered([(d, AttemptResult(True, 200, None, "ok", 1)) for d in claimed])
        log = await deliveries(live, tokens, org, endpoint["id"])
        assert {(d["status"], d["attempt_count"]) for d in log} == {("pending", 0)}

        await other.record_delivered([(d, AttemptResult(True, 204, None, "", 1)) for d in taken])
        log = await deliveries(live, tokens, org, endpoint["id"])
        assert {(d["status"], d["attempt_count"]) for d in log} == {("delivered", 1)}

    async def test_one_event_to_several_endpoints_in_one_batch_carries_its_data_to_each(
        self,
        live: Any,
        tokens: Any,
        trades: Any,
        receivers: Callable[..., AbstractAsyncContextManager[Any]],
        make_envelope: Callable[..., Any],
    ) -> None:
        org = uuid.uuid4()
        trade = trades.add_trade(org)
        async with receivers() as a, receivers() as b, receivers() as c:
            for receiver in (a, b, c):
                endpoint = await create_endpoint(live, tokens, org, receiver.url)
                receiver.secrets = [endpoint["secret"]]
            events = [make_envelope(trade_id=trade) for _ in range(2)]
            for body in events:
                await publish(live, tokens, body)
            claimed = await live.dispatcher.claim_deliveries()
            assert len(claimed) == 6  # one batch: each event's data is read once, used thrice
            for delivery in claimed:
                sent = next(e for e in events if e["id"] == str(delivery.event.id))
                assert delivery.event.data == sent["data"]
            await live.dispatcher._record_batch(
                await live.dispatcher._send_batch(claimed, asyncio.Semaphore(5)),
                asyncio.Semaphore(5),
            )
            for receiver in (a, b, c):
                got = {
                    orjson.loads(r["body"])["id"]: orjson.loads(r["body"])
                    for r in receiver.requests
                }
                assert {i: p["data"] for i, p in got.items()} == {
                    e["id"]: e["data"] for e in events
                }

    async def test_a_batch_of_successes_logs_each_attempt_and_ends_the_failing_streak(
        self, live: Any, tokens: Any, trades: Any, receiver: Any, make_envelope: Callable[..., Any]
    ) -> None:
        org = uuid.uuid4()
        trade = trades.add_trade(org)
        endpoint = await create_endpoint(live, tokens, org, receiver.url)
        receiver.secrets = [endpoint["secret"]]
        async with live.app.state.sessionmaker() as session, session.begin():
            await session.execute(
                text("UPDATE webhook_endpoints SET failing_since = now() WHERE id = :id"),
                {"id": uuid.UUID(endpoint["id"])},
            )
        for _ in range(3):
            await publish(live, tokens, make_envelope(trade_id=trade))
        assert await live.dispatcher.deliver_due() == 3
        log = await deliveries(live, tokens, org, endpoint["id"])
        assert {(d["status"], d["attempt_count"], d["last_status_code"]) for d in log} == {
            ("delivered", 1, 200)
        }
        for delivery in log:
            [attempt] = await attempts(live, tokens, org, endpoint["id"], delivery["id"])
            assert (attempt["succeeded"], attempt["status_code"]) == (True, 200)
            assert attempt["response_excerpt"] == '{"ok":true}'
        state = await live.client.get(
            f"/api/v1/notifications/webhooks/{endpoint['id']}", headers=tokens.admin(org)
        )
        assert state.json()["failing_since"] is None


class TestEndpointLifecycle:
    @pytest.fixture
    def settings_overrides(self, smtp_sink: Any) -> dict[str, Any]:
        return {"smtp_port": smtp_sink.port}

    async def test_410_disables_the_endpoint_and_its_admins_are_told(
        self,
        live: Any,
        tokens: Any,
        trades: Any,
        smtp_sink: Any,
        receivers: Callable[..., AbstractAsyncContextManager[Any]],
        make_envelope: Callable[..., Any],
    ) -> None:
        org = uuid.uuid4()
        trade = trades.add_trade(org)
        admin = tokens.admin(org, subject="admin-1")
        saved = await live.client.put(
            "/api/v1/notifications/me/preferences",
            json={"email": "admin@shipper.example", "locale": "en"},
            headers=admin,
        )
        assert saved.status_code == 200, saved.text
        async with receivers("gone") as receiver:
            endpoint = await create_endpoint(live, tokens, org, receiver.url)
            receiver.secrets = [endpoint["secret"]]
            await publish(live, tokens, make_envelope(trade_id=trade))
            await live.drain()

            state = (
                await live.client.get(
                    f"/api/v1/notifications/webhooks/{endpoint['id']}", headers=admin
                )
            ).json()
            assert state["enabled"] is False
            assert "410" in state["disabled_reason"]
            [delivery] = await deliveries(live, tokens, org, endpoint["id"])
            assert delivery["status"] == "failed"
            assert delivery["attempt_count"] == 1  # 410 is final: no retries
            # A disabled endpoint gets nothing more.
            await publish(live, tokens, make_envelope(trade_id=trade))
            await live.drain()
            assert len(receiver.requests) == 1

        log = await live.client.get(
            "/api/v1/notifications/events",
            params={"type": "webhook_endpoint.disabled"},
            headers=admin,
        )
        [disabled] = log.json()["items"]
        assert disabled["data"]["endpoint_id"] == endpoint["id"]
        inbox = (await live.client.get("/api/v1/notifications/inbox", headers=admin)).json()
        assert "webhook_endpoint.disabled" in [n["type"] for n in inbox["items"]]
        mails = smtp_sink.messages(to="admin@shipper.example")
        assert any("disabled" in m["subject"] and endpoint["url"] in m["body"] for m in mails)

        # Re-enabling makes it receive again.
        enabled = await live.client.patch(
            f"/api/v1/notifications/webhooks/{endpoint['id']}",
            json={"enabled": True},
            headers=admin,
        )
        assert enabled.json()["enabled"] is True
        assert enabled.json()["disabled_reason"] is None

    async def test_an_endpoint_failing_for_days_is_disabled(
        self,
        live: Any,
        tokens: Any,
        trades: Any,
        receivers: Callable[..., AbstractAsyncContextManager[Any]],
        make_envelope: Callable[..., Any],
    ) -> None:
        org = uuid.uuid4()
        trade = trades.add_trade(org)
        async with receivers("fail") as receiver:
            endpoint = await create_endpoint(live, tokens, org, receiver.url)
            receiver.secrets = [endpoint["secret"]]
            await publish(live, tokens, make_envelope(trade_id=trade))
            await live.drain()
            [exhausted] = await deliveries(live, tokens, org, endpoint["id"])
            assert exhausted["status"] == "failed"
            assert exhausted["attempt_count"] == len(live.settings.webhook_retry_schedule_s)
            state = (
                await live.client.get(
                    f"/api/v1/notifications/webhooks/{endpoint['id']}", headers=tokens.admin(org)
                )
            ).json()
            assert state["enabled"] is True
            assert state["failing_since"] is not None

            runtime = live.dispatcher.runtime
            real_now = runtime.now
            runtime.now = lambda: real_now() + timedelta(days=6)
            try:
                await publish(live, tokens, make_envelope(trade_id=trade))
                await live.drain()
            finally:
                runtime.now = real_now
            state = (
                await live.client.get(
                    f"/api/v1/notifications/webhooks/{endpoint['id']}", headers=tokens.admin(org)
                )
            ).json()
            assert state["enabled"] is False
            assert "too long" in state["disabled_reason"]

    async def test_response_excerpts_are_at_most_1_kib_and_redirects_are_not_followed(
        self,
        live: Any,
        tokens: Any,
        trades: Any,
        receivers: Callable[..., AbstractAsyncContextManager[Any]],
        make_envelope: Callable[..., Any],
    ) -> None:
        org = uuid.uuid4()
        trade = trades.add_trade(org)
        async with receivers("fail") as failing, receivers("redirect") as redirecting:
            big = await create_endpoint(live, tokens, org, failing.url)
            moved = await create_endpoint(live, tokens, org, redirecting.url)
            failing.secrets = [big["secret"]]
            redirecting.secrets = [moved["secret"]]
            await publish(live, tokens, make_envelope(trade_id=trade))
            await live.dispatcher.deliver_due()

            [delivery] = await deliveries(live, tokens, org, big["id"])
            [attempt] = await attempts(live, tokens, org, big["id"], delivery["id"])
            assert attempt["status_code"] == 500
            assert len(attempt["response_excerpt"]) == 1024

            [delivery] = await deliveries(live, tokens, org, moved["id"])
            [attempt] = await attempts(live, tokens, org, moved["id"], delivery["id"])
            assert attempt["status_code"] == 307
            assert attempt["succeeded"] is False
            assert delivery["status"] == "pending"
            assert len(redirecting.requests) == 1


class TestSecretRotation:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        # Long enough that a slow machine stays inside it; its end is reached by moving it below.
        return {"webhook_secret_overlap_s": 3600}

    async def test_during_the_overlap_both_secrets_verify_afterwards_only_the_new(
        self, live: Any, tokens: Any, trades: Any, receiver: Any, make_envelope: Callable[..., Any]
    ) -> None:
        org = uuid.uuid4()
        trade = trades.add_trade(org)
        endpoint = await create_endpoint(live, tokens, org, receiver.url)
        old_secret = endpoint["secret"]
        rotated = await live.client.post(
            f"/api/v1/notifications/webhooks/{endpoint['id']}/secret/rotate",
            headers=tokens.admin(org),
        )
        assert rotated.status_code == 200, rotated.text
        new_secret = rotated.json()["secret"]
        assert new_secret != old_secret
        assert rotated.json()["previous_secret_expires_at"] is not None
        receiver.secrets = [old_secret, new_secret]

        await publish(live, tokens, make_envelope(trade_id=trade))
        await live.drain()
        during = receiver.requests[-1]
        assert len(during["headers"]["webhook-signature"].split(" ")) == 2
        assert receiver.verifies_with(old_secret, during)
        assert receiver.verifies_with(new_secret, during)

        # The overlap ends (as if an hour had passed).
        async with live.app.state.sessionmaker() as session, session.begin():
            await session.execute(
                text(
                    "UPDATE webhook_endpoints SET previous_secret_expires_at = now() - "
                    "interval '1 second' WHERE id = :id"
                ),
                {"id": uuid.UUID(endpoint["id"])},
            )
        await publish(live, tokens, make_envelope(trade_id=trade))
        await live.drain()
        after = receiver.requests[-1]
        assert len(after["headers"]["webhook-signature"].split(" ")) == 1
        assert not receiver.verifies_with(old_secret, after)
        assert receiver.verifies_with(new_secret, after)


class TestWhoReceivesWhat:
    async def test_an_org_never_receives_events_of_a_trade_it_is_not_in(
        self,
        live: Any,
        tokens: Any,
        trades: Any,
        receivers: Callable[..., AbstractAsyncContextManager[Any]],
        make_envelope: Callable[..., Any],
    ) -> None:
        inside, outsider = uuid.uuid4(), uuid.uuid4()
        trade = trades.add_trade(inside)
        other_trade = trades.add_trade(outsider)
        async with receivers() as inside_rx, receivers() as outsider_rx:
            mine = await create_endpoint(live, tokens, inside, inside_rx.url)
            theirs = await create_endpoint(live, tokens, outsider, outsider_rx.url)
            inside_rx.secrets, outsider_rx.secrets = [mine["secret"]], [theirs["secret"]]
            # A trade filter naming a trade the org is not in is refused outright.
            refused = await live.client.post(
                "/api/v1/notifications/webhooks",
                json={"url": outsider_rx.url, "event_types": ["*"], "trade_id": str(trade)},
                headers=tokens.admin(outsider),
            )
            assert refused.status_code == 422
            assert refused.json()["errors"][0]["field"] == "trade_id"

            sent = [make_envelope(trade_id=trade) for _ in range(3)]
            for body in sent:
                await publish(live, tokens, body)
            await publish(live, tokens, make_envelope(trade_id=other_trade))
            await live.drain()
            assert sorted(inside_rx.dedupe) == sorted(b["id"] for b in sent)
            assert not set(outsider_rx.dedupe) & {b["id"] for b in sent}
            assert len(outsider_rx.dedupe) == 1

    async def test_event_type_and_trade_filters(
        self, live: Any, tokens: Any, trades: Any, receiver: Any, make_envelope: Callable[..., Any]
    ) -> None:
        org = uuid.uuid4()
        trade, other = trades.add_trade(org), trades.add_trade(org)
        endpoint = await create_endpoint(
            live, tokens, org, receiver.url, event_types=["task.*"], trade_id=str(trade)
        )
        receiver.secrets = [endpoint["secret"]]
        task = make_envelope(
            "task.created",
            trade_id=trade,
            data={"trade_id": str(trade), "task_id": str(uuid.uuid4())},
        )
        other_task = make_envelope(
            "task.created",
            trade_id=other,
            data={"trade_id": str(other), "task_id": str(uuid.uuid4())},
        )
        for body in (task, other_task, make_envelope(trade_id=trade)):
            await publish(live, tokens, body)
        await live.drain()
        assert list(receiver.dedupe) == [task["id"]]


class TestReplay:
    async def test_replay_one_event_and_a_time_range_with_the_same_webhook_id(
        self, live: Any, tokens: Any, trades: Any, receiver: Any, make_envelope: Callable[..., Any]
    ) -> None:
        org = uuid.uuid4()
        trade = trades.add_trade(org)
        endpoint = await create_endpoint(live, tokens, org, receiver.url)
        receiver.secrets = [endpoint["secret"]]
        bodies = [make_envelope(trade_id=trade) for _ in range(3)]
        for body in bodies:
            await publish(live, tokens, body)
        await live.drain()
        assert len(receiver.requests) == 3

        one = await live.client.post(
            f"/api/v1/notifications/webhooks/{endpoint['id']}/replay",
            json={"event_id": bodies[1]["id"]},
            headers=tokens.admin(org),
        )
        assert one.status_code == 202
        assert one.json() == {"scheduled": 1}
        await live.drain()
        assert receiver.requests[-1]["headers"]["webhook-id"] == bodies[1]["id"]

        ranged = await live.client.post(
            f"/api/v1/notifications/webhooks/{endpoint['id']}/replay",
            json={"since": "2000-01-01T00:00:00Z"},
            headers=tokens.admin(org),
        )
        assert ranged.json() == {"scheduled": 3}
        await live.drain()
        assert len(receiver.requests) == 7
        assert sorted(receiver.dedupe) == sorted(b["id"] for b in bodies)

        unknown = await live.client.post(
            f"/api/v1/notifications/webhooks/{endpoint['id']}/replay",
            json={"event_id": str(uuid.uuid4())},
            headers=tokens.admin(org),
        )
        assert unknown.status_code == 404


class TestLimits:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"webhook_max_payload_bytes": 1024, "webhook_timeout_s": 0.3}

    async def test_large_events_are_sent_thin_with_a_link(
        self, live: Any, tokens: Any, trades: Any, receiver: Any, make_envelope: Callable[..., Any]
    ) -> None:
        org = uuid.uuid4()
        trade = trades.add_trade(org)
        endpoint = await create_endpoint(live, tokens, org, receiver.url)
        receiver.secrets = [endpoint["secret"]]
        body = make_envelope(trade_id=trade, data={"trade_id": str(trade), "notes": "港" * 2000})
        await publish(live, tokens, body)
        await live.drain()
        sent = orjson.loads(receiver.requests[0]["body"])
        assert sent["truncated"] is True
        assert sent["data"] is None
        assert sent["url"].endswith(f"/api/v1/notifications/events/{body['id']}")
        assert len(receiver.requests[0]["body"]) <= 1024

    async def test_a_slow_receiver_times_out_and_is_retried(
        self,
        live: Any,
        tokens: Any,
        trades: Any,
        receivers: Callable[..., AbstractAsyncContextManager[Any]],
        make_envelope: Callable[..., Any],
    ) -> None:
        org = uuid.uuid4()
        trade = trades.add_trade(org)
        async with receivers("slow") as receiver:
            endpoint = await create_endpoint(live, tokens, org, receiver.url)
            receiver.secrets = [endpoint["secret"]]
            await publish(live, tokens, make_envelope(trade_id=trade))
            await live.dispatcher.deliver_due()
            [delivery] = await deliveries(live, tokens, org, endpoint["id"])
            [attempt] = await attempts(live, tokens, org, endpoint["id"], delivery["id"])
            assert attempt["error"] == "timeout"
            assert delivery["status"] == "pending"


class TestDeliveryTimeRebinding:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"webhook_allow_private_targets": False}

    async def test_a_name_that_now_resolves_to_loopback_is_not_contacted(
        self, live: Any, tokens: Any, trades: Any, make_envelope: Callable[..., Any]
    ) -> None:
        answers = {"hooks.partner.test": ["93.184.215.14"]}

        async def resolve(host: str, port: int) -> list[str]:
            return answers[host]

        live.app.state.runtime.resolve = resolve
        org = uuid.uuid4()
        trade = trades.add_trade(org)
        endpoint = await create_endpoint(live, tokens, org, "https://hooks.partner.test/hook")
        answers["hooks.partner.test"] = ["127.0.0.1"]  # the DNS answer changes after the check
        await publish(live, tokens, make_envelope(trade_id=trade))
        await live.dispatcher.deliver_due()
        [delivery] = await deliveries(live, tokens, org, endpoint["id"])
        [attempt] = await attempts(live, tokens, org, endpoint["id"], delivery["id"])
        assert attempt["status_code"] is None
        assert attempt["error"].startswith("refused target")
        assert delivery["status"] == "pending"


class TestHousekeeping:
    async def test_finished_deliveries_are_forgotten_after_the_retention_pending_ones_never(
        self,
        live: Any,
        tokens: Any,
        trades: Any,
        receivers: Callable[..., AbstractAsyncContextManager[Any]],
        make_envelope: Callable[..., Any],
    ) -> None:
        org = uuid.uuid4()
        trade = trades.add_trade(org)
        async with receivers() as ok, receivers("fail") as failing:
            done = await create_endpoint(live, tokens, org, ok.url)
            stuck = await create_endpoint(live, tokens, org, failing.url)
            ok.secrets, failing.secrets = [done["secret"]], [stuck["secret"]]
            body = make_envelope(trade_id=trade)
            await publish(live, tokens, body)
            await live.dispatcher.deliver_due()

            runtime = live.dispatcher.runtime
            real_now = runtime.now
            runtime.now = lambda: real_now() + timedelta(days=31)
            try:
                assert await live.dispatcher.purge_old_records() == 1
            finally:
                runtime.now = real_now
            assert await deliveries(live, tokens, org, done["id"]) == []
            [pending] = await deliveries(live, tokens, org, stuck["id"])
            assert pending["status"] == "pending"
            event = await live.client.get(
                f"/api/v1/notifications/events/{body['id']}", headers=tokens.user(org)
            )
            assert event.status_code == 200


class TestBacklogMetrics:
    async def test_a_pending_delivery_shows_until_it_is_made(
        self, live: Any, tokens: Any, trades: Any, receiver: Any, make_envelope: Callable[..., Any]
    ) -> None:
        def gauge(metrics: str, name: str) -> float:
            [line] = [line for line in metrics.splitlines() if line.startswith(name + " ")]
            return float(line.split()[1])

        org = uuid.uuid4()
        trade = trades.add_trade(org)
        await create_endpoint(live, tokens, org, receiver.url)
        body = make_envelope(
            "form.sent",
            trade_id=trade,
            data={"trade_id": str(trade), "form_id": str(uuid.uuid4()), "form_type": "UL040"},
        )
        await publish(live, tokens, body)

        waiting = (await live.client.get("/metrics")).text
        assert gauge(waiting, "minato_webhook_deliveries_pending") == 1
        assert gauge(waiting, "minato_webhook_oldest_pending_age_seconds") >= 0

        await live.drain()
        done = (await live.client.get("/metrics")).text
        assert gauge(done, "minato_webhook_deliveries_pending") == 0
        assert gauge(done, "minato_webhook_oldest_pending_age_seconds") == 0
        assert gauge(done, "minato_notification_emails_pending") == 0


class TestShortLease:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        # A lease shorter than the webhook timeouts (the e2e suite uses 2 s to recover quickly).
        return {"delivery_lease_s": 2.0, "webhook_timeout_s": 3.0, "webhook_connect_timeout_s": 1.0}

    async def test_deliveries_are_still_sent_within_the_lease(
        self, live: Any, tokens: Any, trades: Any, receiver: Any, make_envelope: Callable[..., Any]
    ) -> None:
        org = uuid.uuid4()
        trade = trades.add_trade(org)
        endpoint = await create_endpoint(live, tokens, org, receiver.url)
        receiver.secrets = [endpoint["secret"]]
        body = make_envelope(trade_id=trade)
        await publish(live, tokens, body)
        assert await live.dispatcher.deliver_due() == 1
        assert list(receiver.dedupe) == [body["id"]]
