"""Sending to NACCS: the queue, exactly-once effects across crashes, one telegram in flight per 利用者ID,
result codes on the form's items, permits delivered later, the usage ledger and events."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from naccs_bridge.clients.identity import StaticCredentials
from naccs_bridge.clients.naccs import ChannelUnreachable, HttpNaccsChannel
from naccs_bridge.clients.trades import StaticTradeAccess
from naccs_bridge.db.models import outbox_table
from naccs_bridge.sending.queue import SendQueue
from naccs_bridge.services.outputs import OutputPoller
from shared.testing.tokens import TestIssuer

from .conftest import NACCS_PASSWORD, OTHER_NACCS_USER_ID, FakeClock, Party, make_queue
from .helpers import item, load_master, put_form, queue_send
from .trade_data import export_bundle

EDA_ENTRIES = {
    "declaration_type": "E",
    "invoice_identification": "B",
    "price_class": "A",
}


async def receipts(standin: httpx.AsyncClient, input_id_no: str) -> int:
    response = await standin.get("/receipts", params={"input_id_no": input_id_no})
    count: int = response.json()["count"]
    return count


async def events(engine: AsyncEngine) -> list[tuple[str, dict[str, object]]]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(outbox_table.c.topic, outbox_table.c.payload).order_by(
                    outbox_table.c.occurred_at
                )
            )
        ).all()
    return [(r.topic, r.payload) for r in rows]


async def test_ecr_eda_edc_and_the_permit_flow_through_the_queue(
    bridge: httpx.AsyncClient,
    forwarder: Party,
    trade_id: uuid.UUID,
    queue: SendQueue,
    poller: OutputPoller,
    standin: httpx.AsyncClient,
    engine: AsyncEngine,
    clock: FakeClock,
) -> None:
    await load_master(bridge, forwarder.headers)
    await put_form(bridge, forwarder.headers, trade_id, "ECR")
    send = await queue_send(bridge, forwarder.headers, trade_id, "ECR")
    assert send["status"] == "queued"
    assert send["naccs_user_id"] == "MNT01001"
    assert len(send["input_id_no"]) == 10

    assert await queue.run_once() == 1
    done = (await bridge.get(f"/api/v1/naccs/sends/{send['id']}", headers=forwarder.headers)).json()
    assert done["status"] == "result_stored"
    assert done["result"]["accepted"] is True
    control_no = done["result"]["reference_no"]
    ecr = (
        await bridge.get(f"/api/v1/naccs/trades/{trade_id}/forms/ECR", headers=forwarder.headers)
    ).json()
    assert (ecr["status"], ecr["reference_no"]) == ("accepted", control_no)
    assert await receipts(standin, send["input_id_no"]) == 1

    # ECR's 輸出管理番号 fills EDA; EDA's 申告番号 fills EDC.
    eda = await put_form(bridge, forwarder.headers, trade_id, "EDA", entries=EDA_ENTRIES)
    assert item(eda, "export_control_no")["value"] == control_no
    assert eda["ready_to_send"] is True
    eda_send = await queue_send(bridge, forwarder.headers, trade_id, "EDA")
    await queue.run_once()
    declaration_no = (
        await bridge.get(f"/api/v1/naccs/sends/{eda_send['id']}", headers=forwarder.headers)
    ).json()["result"]["reference_no"]
    edc = await put_form(bridge, forwarder.headers, trade_id, "EDC")
    assert item(edc, "declaration_no")["value"] == declaration_no
    await queue_send(bridge, forwarder.headers, trade_id, "EDC")
    await queue.run_once()

    assert await poller.poll_once() == 0  # customs is still examining
    clock.advance(3 * 60)  # the longest examination category at a 60 s delay
    assert await poller.poll_once() == 1
    assert await poller.poll_once() == 0  # the cursor moved on
    forms = {
        f["code"]: f
        for f in (
            await bridge.get(f"/api/v1/naccs/trades/{trade_id}/forms", headers=forwarder.headers)
        ).json()
    }
    assert forms["EDA"]["status"] == "permitted"
    assert forms["EDC"]["status"] == "permitted"
    messages = (
        await bridge.get(
            f"/api/v1/naccs/trades/{trade_id}/output-messages", headers=forwarder.headers
        )
    ).json()
    assert [(m["output_info_code"], m["applied"], m["subject"]) for m in messages] == [
        ("SAE0030", "permit", declaration_no)
    ]

    topics = [topic for topic, _ in await events(engine)]
    assert topics == ["naccs.result", "naccs.result", "naccs.result", "naccs.permit"]
    usage = (
        await bridge.get(
            "/api/v1/naccs/usage", params={"month": "2026-11"}, headers=forwarder.headers
        )
    ).json()
    assert usage["total"]["sent"] == 3
    assert usage["total"]["accepted"] == 3
    assert set(usage["by_code"]) == {"ECR", "EDA", "EDC"}
    assert usage["by_user"] == {forwarder.subject: usage["total"]}


async def test_nacc_error_codes_land_on_the_form_fields_they_came_from(
    bridge: httpx.AsyncClient, forwarder: Party, trade_id: uuid.UUID, queue: SendQueue
) -> None:
    await load_master(bridge, forwarder.headers)
    # A loading port outside Japan: NACCS answers R0003 on 積出港コード (LPR).
    bundle = export_bundle(**{"BK.portOfLoading.code": "USLAX"})
    await put_form(bridge, forwarder.headers, trade_id, "ECR", bundle=bundle)
    send = await queue_send(bridge, forwarder.headers, trade_id, "ECR")
    await queue.run_once()

    form = (
        await bridge.get(f"/api/v1/naccs/trades/{trade_id}/forms/ECR", headers=forwarder.headers)
    ).json()
    assert form["status"] == "rejected"
    [result] = form["results"]
    assert result["raw"] == "R0003-LPR -0000"
    assert result["severity"] == "error"
    assert result["item_keys"] == ["loading_port"]
    assert result["form_fields"][0] == "BK.portOfLoading"
    assert "積出港コード" in result["message_ja"]
    assert "Port of loading" in result["message_en"]
    assert item(form, "loading_port")["results"] == [result]
    assert item(form, "discharge_port")["results"] == []
    status = (
        await bridge.get(f"/api/v1/naccs/sends/{send['id']}", headers=forwarder.headers)
    ).json()
    assert status["result"]["accepted"] is False


class CrashAfterDelivery:
    """The real channel, but the process 'dies' right after NACCS accepted the telegram."""

    def __init__(self, channel: HttpNaccsChannel) -> None:
        self.channel = channel

    async def send(self, telegram: bytes) -> bytes:
        await self.channel.send(telegram)
        raise SystemExit("killed between NACCS's answer and storing it")

    async def lookup(self, naccs_user_id: str, input_id_no: str) -> bytes | None:
        return await self.channel.lookup(naccs_user_id, input_id_no)


class CrashBeforeDelivery(CrashAfterDelivery):
    async def send(self, telegram: bytes) -> bytes:
        raise SystemExit("killed before the request left")


async def test_a_crash_after_naccs_accepted_never_sends_twice(
    bridge: httpx.AsyncClient,
    forwarder: Party,
    trade_id: uuid.UUID,
    engine: AsyncEngine,
    channel: HttpNaccsChannel,
    credentials: StaticCredentials,
    standin: httpx.AsyncClient,
    clock: FakeClock,
) -> None:
    await load_master(bridge, forwarder.headers)
    await put_form(bridge, forwarder.headers, trade_id, "ECR")
    send = await queue_send(bridge, forwarder.headers, trade_id, "ECR")

    doomed = make_queue(engine, CrashAfterDelivery(channel), credentials, clock)
    claimed = await doomed.claim()
    assert claimed is not None
    try:
        await doomed.send(claimed)
    except SystemExit:
        pass
    status = (
        await bridge.get(f"/api/v1/naccs/sends/{send['id']}", headers=forwarder.headers)
    ).json()
    assert status["status"] == "sending"  # unknown outcome: not queued again

    restarted = make_queue(engine, channel, credentials, clock)
    assert await restarted.run_once() == 0  # within the lease: the old sender might still answer
    clock.advance(61)
    assert await restarted.run_once() == 0  # resolved by asking, not by sending
    status = (
        await bridge.get(f"/api/v1/naccs/sends/{send['id']}", headers=forwarder.headers)
    ).json()
    assert status["status"] == "result_stored"
    assert status["result"]["accepted"] is True
    assert await receipts(standin, send["input_id_no"]) == 1
    usage = (await bridge.get("/api/v1/naccs/usage", headers=forwarder.headers)).json()
    assert usage["total"]["sent"] == 1


async def test_a_crash_before_naccs_received_it_sends_it_once_after_recovery(
    bridge: httpx.AsyncClient,
    forwarder: Party,
    trade_id: uuid.UUID,
    engine: AsyncEngine,
    channel: HttpNaccsChannel,
    credentials: StaticCredentials,
    standin: httpx.AsyncClient,
    clock: FakeClock,
) -> None:
    await load_master(bridge, forwarder.headers)
    await put_form(bridge, forwarder.headers, trade_id, "ECR")
    send = await queue_send(bridge, forwarder.headers, trade_id, "ECR")
    doomed = make_queue(engine, CrashBeforeDelivery(channel), credentials, clock)
    claimed = await doomed.claim()
    assert claimed is not None
    try:
        await doomed.send(claimed)
    except SystemExit:
        pass
    assert await receipts(standin, send["input_id_no"]) == 0

    clock.advance(61)
    restarted = make_queue(engine, channel, credentials, clock)
    assert await restarted.run_once() == 1
    status = (
        await bridge.get(f"/api/v1/naccs/sends/{send['id']}", headers=forwarder.headers)
    ).json()
    assert status["status"] == "result_stored"
    assert status["attempts"] == 2
    assert await receipts(standin, send["input_id_no"]) == 1


class Unreachable:
    async def send(self, telegram: bytes) -> bytes:
        raise ChannelUnreachable("connection refused")

    async def lookup(self, naccs_user_id: str, input_id_no: str) -> bytes | None:
        raise ChannelUnreachable("connection refused")


async def test_naccs_unreachable_keeps_the_send_queued_with_backoff_and_it_can_be_cancelled(
    bridge: httpx.AsyncClient,
    forwarder: Party,
    trade_id: uuid.UUID,
    engine: AsyncEngine,
    credentials: StaticCredentials,
    clock: FakeClock,
) -> None:
    await load_master(bridge, forwarder.headers)
    await put_form(bridge, forwarder.headers, trade_id, "ECR")
    send = await queue_send(bridge, forwarder.headers, trade_id, "ECR")
    down = make_queue(engine, Unreachable(), credentials, clock)
    assert await down.run_once() == 1
    status = (
        await bridge.get(f"/api/v1/naccs/sends/{send['id']}", headers=forwarder.headers)
    ).json()
    assert status["status"] == "queued"
    assert status["attempts"] == 1
    assert "unreachable" in status["last_error"]
    assert status["next_attempt_at"] > clock.now.isoformat().replace("+00:00", "Z")
    assert await down.run_once() == 0  # not due yet: backoff

    form = (
        await bridge.get(f"/api/v1/naccs/trades/{trade_id}/forms/ECR", headers=forwarder.headers)
    ).json()
    assert form["status"] == "queued"
    waiting = await bridge.get(
        "/api/v1/naccs/sends", params={"status": ["queued", "sending"]}, headers=forwarder.headers
    )
    assert [s["id"] for s in waiting.json()] == [send["id"]]
    cancelled = await bridge.post(
        f"/api/v1/naccs/sends/{send['id']}/cancel", headers=forwarder.headers
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    again = await bridge.post(f"/api/v1/naccs/sends/{send['id']}/cancel", headers=forwarder.headers)
    assert again.status_code == 409
    assert again.json()["code"] == "naccs_send_not_cancellable"
    clock.advance(3600)
    assert await down.run_once() == 0  # a cancelled send is never picked up


class SlowChannel:
    """The real stand-in behind a delay, recording how many telegrams of each 利用者ID are in flight."""

    def __init__(self, channel: HttpNaccsChannel) -> None:
        self.channel = channel
        self.in_flight: Counter[str] = Counter()
        self.max_in_flight: Counter[str] = Counter()
        self.max_total = 0

    async def send(self, telegram: bytes) -> bytes:
        user_id = telegram[29:37].decode()
        self.in_flight[user_id] += 1
        self.max_in_flight[user_id] = max(self.max_in_flight[user_id], self.in_flight[user_id])
        self.max_total = max(self.max_total, sum(self.in_flight.values()))
        try:
            await asyncio.sleep(0.05)
            return await self.channel.send(telegram)
        finally:
            self.in_flight[user_id] -= 1

    async def lookup(self, naccs_user_id: str, input_id_no: str) -> bytes | None:
        return await self.channel.lookup(naccs_user_id, input_id_no)


async def test_one_telegram_in_flight_per_naccs_user_under_concurrent_workers(
    bridge: httpx.AsyncClient,
    forwarder: Party,
    token_issuer: TestIssuer,
    trades: StaticTradeAccess,
    engine: AsyncEngine,
    channel: HttpNaccsChannel,
    credentials: StaticCredentials,
    standin: httpx.AsyncClient,
    clock: FakeClock,
) -> None:
    colleague = Party(token_issuer, org_id=forwarder.org_id)
    credentials.link(colleague.subject, OTHER_NACCS_USER_ID, NACCS_PASSWORD)
    await load_master(bridge, forwarder.headers)
    sends = []
    for sender in (forwarder, forwarder, forwarder, forwarder, colleague, colleague):
        trade = uuid.uuid4()
        trades.add(trade, forwarder.org_id)
        await put_form(bridge, sender.headers, trade, "ECR")
        sends.append(await queue_send(bridge, sender.headers, trade, "ECR"))

    slow = SlowChannel(channel)
    workers = [make_queue(engine, slow, credentials, clock) for _ in range(4)]
    await asyncio.gather(*(w.run_once() for w in workers))

    assert slow.max_in_flight == {"MNT01001": 1, "MNT02001": 1}
    assert slow.max_total == 2  # the two 利用者IDs did go in parallel
    for send in sends:
        status = (
            await bridge.get(f"/api/v1/naccs/sends/{send['id']}", headers=forwarder.headers)
        ).json()
        assert status["status"] == "result_stored"
        assert await receipts(standin, send["input_id_no"]) == 1


async def test_the_database_refuses_a_second_telegram_in_flight_for_one_user(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        indexes = await conn.scalar(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ux_naccs_send_one_in_flight'")
        )
    assert "UNIQUE" in indexes
    assert "status)::text = 'sending'" in indexes


async def test_a_form_that_is_not_ready_or_a_user_without_naccs_link_cannot_send(
    bridge: httpx.AsyncClient,
    forwarder: Party,
    token_issuer: TestIssuer,
    trades: StaticTradeAccess,
    trade_id: uuid.UUID,
) -> None:
    await load_master(bridge, forwarder.headers)
    await put_form(bridge, forwarder.headers, trade_id, "EDA")
    refused = await bridge.post(
        f"/api/v1/naccs/trades/{trade_id}/forms/EDA/sends", headers=forwarder.headers
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "naccs_form_not_ready"
    assert "items.declaration_type" in {e["field"] for e in refused.json()["errors"]}

    unlinked = Party(token_issuer, org_id=forwarder.org_id)
    await put_form(bridge, forwarder.headers, trade_id, "ECR")
    response = await bridge.post(
        f"/api/v1/naccs/trades/{trade_id}/forms/ECR/sends", headers=unlinked.headers
    )
    assert response.status_code == 409
    assert response.json()["code"] == "naccs_user_not_linked"

    partner = token_issuer.auth(kind="client", org_id=forwarder.org_id, scopes=["forms:write"])
    response = await bridge.post(
        f"/api/v1/naccs/trades/{trade_id}/forms/ECR/sends", headers=partner
    )
    assert response.status_code == 403

    await queue_send(bridge, forwarder.headers, trade_id, "ECR")
    twice = await bridge.post(
        f"/api/v1/naccs/trades/{trade_id}/forms/ECR/sends", headers=forwarder.headers
    )
    assert twice.status_code == 409


async def test_credentials_naccs_cannot_take_fail_the_send_without_sending_or_leaking(
    bridge: httpx.AsyncClient,
    forwarder: Party,
    trade_id: uuid.UUID,
    queue: SendQueue,
    credentials: StaticCredentials,
    standin: httpx.AsyncClient,
) -> None:
    await load_master(bridge, forwarder.headers)
    await put_form(bridge, forwarder.headers, trade_id, "ECR")
    send = await queue_send(bridge, forwarder.headers, trade_id, "ECR")
    credentials.link(forwarder.subject, "MNT01001", "nine-char")  # NACCS takes 8 bytes at most
    await queue.run_once()
    status = (
        await bridge.get(f"/api/v1/naccs/sends/{send['id']}", headers=forwarder.headers)
    ).json()
    assert status["status"] == "failed"
    assert status["last_error"] == "the linked NACCS credentials cannot be sent: password"
    assert await receipts(standin, send["input_id_no"]) == 0
    form = (
        await bridge.get(f"/api/v1/naccs/trades/{trade_id}/forms/ECR", headers=forwarder.headers)
    ).json()
    assert form["status"] == "draft"  # the user can fix the link and send again


async def test_two_sends_of_one_form_at_once_queue_it_once(
    bridge: httpx.AsyncClient, forwarder: Party, trade_id: uuid.UUID
) -> None:
    await load_master(bridge, forwarder.headers)
    await put_form(bridge, forwarder.headers, trade_id, "ECR")
    path = f"/api/v1/naccs/trades/{trade_id}/forms/ECR/sends"
    first, second = await asyncio.gather(
        bridge.post(path, headers=forwarder.headers), bridge.post(path, headers=forwarder.headers)
    )
    assert sorted([first.status_code, second.status_code]) == [202, 409]
    sends = (await bridge.get(path, headers=forwarder.headers)).json()
    assert len(sends) == 1


async def test_an_output_message_fetched_twice_is_stored_and_applied_once(
    bridge: httpx.AsyncClient,
    forwarder: Party,
    trade_id: uuid.UUID,
    queue: SendQueue,
    poller: OutputPoller,
    engine: AsyncEngine,
    clock: FakeClock,
) -> None:
    await load_master(bridge, forwarder.headers)
    await put_form(bridge, forwarder.headers, trade_id, "ECR")
    await queue_send(bridge, forwarder.headers, trade_id, "ECR")
    await queue.run_once()
    await put_form(bridge, forwarder.headers, trade_id, "EDA", entries=EDA_ENTRIES)
    await queue_send(bridge, forwarder.headers, trade_id, "EDA")
    await queue.run_once()
    await put_form(bridge, forwarder.headers, trade_id, "EDC")
    await queue_send(bridge, forwarder.headers, trade_id, "EDC")
    await queue.run_once()
    clock.advance(3 * 60)
    assert await poller.poll_once() == 1

    # A crash after storing but before the cursor moved would fetch it again: simulate by rewinding.
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE naccs_channel_cursor SET position = 0"))
    assert await poller.poll_once() == 0
    permits = [topic for topic, _ in await events(engine) if topic == "naccs.permit"]
    assert permits == ["naccs.permit"]
    assert await poller.position() > 0
