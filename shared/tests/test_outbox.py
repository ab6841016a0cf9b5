"""The transactional outbox on a real PostgreSQL: same-transaction writes, leases, retries, NOTIFY."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import MetaData, Table, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared.db import to_async_url
from shared.devstack.stack import free_port
from shared.outbox import (
    DeliveryRefused,
    EventEnvelope,
    OutboxRelay,
    add_event,
    drop_notify_trigger_sql,
    fan_out,
    http_sink,
    make_outbox_table,
    notify_trigger_sql,
)

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@dataclass
class ManualClock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def engine(shared_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(to_async_url(shared_database_url))
    yield engine
    await engine.dispose()


@pytest.fixture
async def table(engine: AsyncEngine) -> AsyncIterator[Table]:
    name = f"outbox_{uuid.uuid4().hex[:10]}"
    metadata = MetaData()
    table = make_outbox_table(metadata, name)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        for statement in notify_trigger_sql(name, name):
            await conn.execute(text(statement))
    yield table
    async with engine.begin() as conn:
        for statement in drop_notify_trigger_sql(name):
            await conn.execute(text(statement))
        await conn.run_sync(metadata.drop_all)


async def write_events(
    engine: AsyncEngine, table: Table, count: int, at: datetime = T0
) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(count)]
    async with AsyncSession(engine) as session, session.begin():
        for index, event_id in enumerate(ids):
            await add_event(
                session,
                table=table,
                topic="trade.created",
                version=1,
                payload={"n": index},
                trade_id=uuid.uuid4(),
                event_id=event_id,
                occurred_at=at - timedelta(seconds=1) + timedelta(microseconds=index),
            )
    return ids


@dataclass
class Recorder:
    seen: list[uuid.UUID] = field(default_factory=list)
    delay_s: float = 0.0

    async def __call__(self, event: EventEnvelope) -> None:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        self.seen.append(event.id)


def relay(
    engine: AsyncEngine, table: Table, sink: Any, clock: ManualClock, **kwargs: Any
) -> OutboxRelay:
    return OutboxRelay(engine, table=table, sink=sink, source="test", clock=clock, **kwargs)


async def row(engine: AsyncEngine, table: Table, event_id: uuid.UUID) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(select(table).where(table.c.id == event_id))).one()


class TestAddEvent:
    async def test_rolled_back_with_the_transaction(
        self, engine: AsyncEngine, table: Table
    ) -> None:
        event_id = uuid.uuid4()
        async with AsyncSession(engine) as session:
            await session.begin()
            await add_event(
                session, table=table, topic="trade.created", version=1, payload={},
                trade_id=None, event_id=event_id, occurred_at=T0,
            )  # fmt: skip
            await session.rollback()
        async with engine.connect() as conn:
            assert await conn.scalar(select(table.c.id)) is None

    async def test_committed_with_the_transaction(self, engine: AsyncEngine, table: Table) -> None:
        [event_id] = await write_events(engine, table, 1)
        stored = await row(engine, table, event_id)
        assert stored.topic == "trade.created"
        assert stored.attempts == 0
        assert stored.delivered_at is None


@pytest.fixture
def receiver() -> tuple[Starlette, list[dict[str, Any]]]:
    received: list[dict[str, Any]] = []
    fail_first: dict[str, bool] = {}

    async def events(request: Request) -> Response:
        body = await request.json()
        if request.query_params.get("flaky") and not fail_first.get(body["id"]):
            fail_first[body["id"]] = True
            return JSONResponse({"title": "busy"}, status_code=503)
        received.append({"body": body, "idempotency_key": request.headers.get("idempotency-key")})
        return JSONResponse({"ok": True}, status_code=202)

    return Starlette(routes=[Route("/internal/events", events, methods=["POST"])]), received


@pytest.fixture
async def receiver_url(receiver: tuple[Starlette, list[dict[str, Any]]]) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(receiver[0], host="127.0.0.1", port=port, log_level="error", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}/internal/events"
    server.should_exit = True
    await task


class TestRelayOverHttp:
    async def test_delivers_the_envelope_to_a_real_receiver(
        self,
        engine: AsyncEngine,
        table: Table,
        receiver: tuple[Starlette, list[dict[str, Any]]],
        receiver_url: str,
    ) -> None:
        ids = await write_events(engine, table, 3)
        clock = ManualClock()
        async with httpx.AsyncClient() as http:
            delivered = await relay(
                engine, table, http_sink(http, receiver_url), clock
            ).drain_once()
        assert delivered == 3
        received = receiver[1]
        assert [r["body"]["id"] for r in received] == [str(i) for i in ids]
        first = received[0]
        assert first["idempotency_key"] == first["body"]["id"]
        assert set(first["body"]) == {
            "id",
            "type",
            "version",
            "occurred_at",
            "source",
            "trade_id",
            "data",
        }
        assert first["body"]["type"] == "trade.created"
        assert first["body"]["source"] == "test"
        assert (await row(engine, table, ids[0])).delivered_at == clock.now

    async def test_refused_delivery_is_retried_after_backoff(
        self,
        engine: AsyncEngine,
        table: Table,
        receiver: tuple[Starlette, list[dict[str, Any]]],
        receiver_url: str,
    ) -> None:
        [event_id] = await write_events(engine, table, 1)
        clock = ManualClock()
        async with httpx.AsyncClient() as http:
            outbox_relay = relay(
                engine, table, http_sink(http, receiver_url + "?flaky=1"), clock,
                backoff=lambda attempts: timedelta(seconds=10 * attempts),
            )  # fmt: skip
            assert await outbox_relay.drain_once() == 0
            failed = await row(engine, table, event_id)
            assert failed.attempts == 1
            assert failed.next_attempt_at == clock.now + timedelta(seconds=10)
            assert "503" in failed.last_error
            assert failed.lease_token is None
            # Not due yet: nothing happens.
            assert await outbox_relay.drain_once() == 0
            clock.now += timedelta(seconds=11)
            assert await outbox_relay.drain_once() == 1
        assert [r["body"]["id"] for r in receiver[1]] == [str(event_id)]
        assert (await row(engine, table, event_id)).attempts == 2


class TestRelayConcurrency:
    async def test_two_relays_never_deliver_the_same_row_in_one_pass(
        self, engine: AsyncEngine, table: Table
    ) -> None:
        ids = await write_events(engine, table, 300)
        clock = ManualClock()
        sink = Recorder(delay_s=0.001)
        first = relay(engine, table, sink, clock, batch_size=25, worker_id="a")
        second = relay(engine, table, sink, clock, batch_size=25, worker_id="b")
        delivered = await asyncio.gather(first.drain_once(), second.drain_once())
        assert sum(delivered) == 300
        assert len(sink.seen) == len(set(sink.seen)) == 300
        assert set(sink.seen) == set(ids)
        async with engine.connect() as conn:
            claimed_by = set((await conn.execute(select(table.c.claimed_by))).scalars())
        assert claimed_by == {"a", "b"}  # both took part

    async def test_expired_lease_is_redelivered_and_the_late_relay_cannot_mark_it(
        self, engine: AsyncEngine, table: Table
    ) -> None:
        [event_id] = await write_events(engine, table, 1)
        clock = ManualClock()
        crashed_sink, healthy_sink = Recorder(), Recorder()
        crashed = relay(engine, table, crashed_sink, clock, lease=timedelta(seconds=30))
        healthy = relay(engine, table, healthy_sink, clock, lease=timedelta(seconds=30))
        # The first relay claims the row and dies before delivering or marking it.
        [claimed] = await crashed.claim()
        # While the lease holds, nobody else takes the row.
        assert await healthy.drain_once() == 0
        clock.now += timedelta(seconds=31)
        assert await healthy.drain_once() == 1
        assert healthy_sink.seen == [event_id]
        # The crashed relay comes back: its stale lease token no longer matches.
        assert await crashed.mark_delivered(claimed) is False
        assert await crashed.mark_failed(claimed, "late") is False
        stored = await row(engine, table, event_id)
        assert stored.delivered_at is not None
        assert stored.attempts == 2

    async def test_gives_up_after_max_attempts(self, engine: AsyncEngine, table: Table) -> None:
        [event_id] = await write_events(engine, table, 1)
        clock = ManualClock()

        async def refuse(event: EventEnvelope) -> None:
            raise RuntimeError("receiver gone")

        outbox_relay = relay(
            engine, table, refuse, clock, max_attempts=2, backoff=lambda _: timedelta(seconds=1)
        )
        await outbox_relay.drain_once()
        clock.now += timedelta(seconds=2)
        await outbox_relay.drain_once()
        stored = await row(engine, table, event_id)
        assert stored.dead_at is not None
        clock.now += timedelta(days=1)
        assert await outbox_relay.drain_once() == 0
        assert await outbox_relay.pending_count() == 0


class TestRelayLoop:
    async def test_notify_wakes_the_relay_long_before_the_poll(
        self, engine: AsyncEngine, table: Table
    ) -> None:
        sink = Recorder()
        # Real clock: rows written now must be due to this relay.
        outbox_relay = OutboxRelay(
            engine, table=table, sink=sink, source="test", poll_interval_s=60, channel=table.name
        )
        task = asyncio.create_task(outbox_relay.run())
        try:
            await asyncio.sleep(0.3)  # the relay has drained the empty table and is waiting
            [event_id] = await write_events(engine, table, 1, at=datetime.now(UTC))
            for _ in range(100):
                if sink.seen:
                    break
                await asyncio.sleep(0.02)
            assert sink.seen == [event_id]
        finally:
            outbox_relay.stop()
            await asyncio.wait_for(task, timeout=5)

    async def test_a_lost_listen_connection_is_reopened(
        self, engine: AsyncEngine, table: Table
    ) -> None:
        sink = Recorder()
        outbox_relay = OutboxRelay(
            engine, table=table, sink=sink, source="test", poll_interval_s=60, channel=table.name
        )
        task = asyncio.create_task(outbox_relay.run())
        try:
            for _ in range(100):
                if outbox_relay.listen_pid:
                    break
                await asyncio.sleep(0.02)
            first_pid = outbox_relay.listen_pid
            async with engine.connect() as conn:
                await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first_pid})
            for _ in range(100):
                if outbox_relay.listen_pid != first_pid:
                    break
                await asyncio.sleep(0.02)
            assert outbox_relay.listen_pid not in (None, first_pid)
            [event_id] = await write_events(engine, table, 1, at=datetime.now(UTC))
            for _ in range(100):
                if sink.seen:
                    break
                await asyncio.sleep(0.02)
            assert sink.seen == [event_id]  # woken by NOTIFY on the new connection, not the poll
        finally:
            outbox_relay.stop()
            await asyncio.wait_for(task, timeout=5)


class TestBatchLanes:
    async def test_trades_go_side_by_side_and_each_trade_in_order(
        self, engine: AsyncEngine, table: Table
    ) -> None:
        trades = [uuid.uuid4(), uuid.uuid4(), uuid.uuid4()]
        async with AsyncSession(engine) as session, session.begin():
            for index in range(12):
                await add_event(
                    session,
                    table=table,
                    topic="trade.updated",
                    version=1,
                    payload={"n": index},
                    trade_id=trades[index % 3],
                    event_id=uuid.uuid4(),
                    occurred_at=T0 - timedelta(seconds=1) + timedelta(microseconds=index),
                )
        seen: dict[uuid.UUID | None, list[int]] = {}
        in_flight: dict[uuid.UUID | None, int] = {}
        peaks = {"total": 0, "per_trade": 0}

        async def sink(event: EventEnvelope) -> None:
            in_flight[event.trade_id] = in_flight.get(event.trade_id, 0) + 1
            peaks["total"] = max(peaks["total"], sum(in_flight.values()))
            peaks["per_trade"] = max(peaks["per_trade"], in_flight[event.trade_id])
            await asyncio.sleep(0.02)
            seen.setdefault(event.trade_id, []).append(int(event.data["n"]))
            in_flight[event.trade_id] -= 1

        assert await relay(engine, table, sink, ManualClock(), concurrency=2).drain_once() == 12
        assert peaks == {"total": 2, "per_trade": 1}  # parallel across trades, bounded
        assert seen == {trade: list(range(n, 12, 3)) for n, trade in enumerate(trades)}


class TestFanOut:
    async def test_delivered_only_when_every_receiver_took_it(self) -> None:
        first, second = Recorder(), Recorder()
        broken_once = {"left": 1}

        async def flaky(event: EventEnvelope) -> None:
            if broken_once["left"]:
                broken_once["left"] -= 1
                raise RuntimeError("down")
            await second(event)

        sink = fan_out(first, flaky)
        envelope = EventEnvelope(uuid.uuid4(), "trade.created", 1, T0, "test", None, {})
        with pytest.raises(DeliveryRefused, match="down"):
            await sink(envelope)
        await sink(envelope)
        assert first.seen == [envelope.id, envelope.id]  # the retry goes to all: receivers dedupe
        assert second.seen == [envelope.id]


class TestPurge:
    async def test_delivered_rows_are_deleted_after_the_retention(
        self, engine: AsyncEngine, table: Table
    ) -> None:
        ids = await write_events(engine, table, 3)
        clock = ManualClock()
        outbox_relay = relay(engine, table, Recorder(), clock, batch_size=2)
        await outbox_relay.run_once()  # two delivered, one still pending
        clock.now += timedelta(days=8)
        assert await outbox_relay.purge_delivered(older_than=timedelta(days=7)) == 2
        async with engine.connect() as conn:
            left = list((await conn.execute(select(table.c.id))).scalars())
        assert left == [ids[2]]


class TestRunLanes:
    """The running relay: a slow receiver call holds up only its own trade's later events."""

    @staticmethod
    async def write(engine: AsyncEngine, table: Table, trade: uuid.UUID | None, n: int) -> None:
        async with AsyncSession(engine) as session, session.begin():
            await add_event(
                session,
                table=table,
                topic="trade.updated",
                version=1,
                payload={"n": n},
                trade_id=trade,
                event_id=uuid.uuid4(),
                occurred_at=datetime.now(UTC),
            )

    @staticmethod
    async def until(condition: Any, timeout_s: float = 5.0) -> None:
        for _ in range(int(timeout_s / 0.02)):
            if condition():
                return
            await asyncio.sleep(0.02)
        raise AssertionError("condition not met in time")

    @pytest.mark.parametrize("slow_trade", [uuid.uuid4(), None], ids=["a trade", "no trade"])
    async def test_a_stuck_delivery_holds_up_only_its_own_trade(
        self, engine: AsyncEngine, table: Table, slow_trade: uuid.UUID | None
    ) -> None:
        release = asyncio.Event()
        delivered: list[tuple[uuid.UUID | None, int]] = []

        async def sink(event: EventEnvelope) -> None:
            if event.trade_id == slow_trade and event.data["n"] == 0:
                await release.wait()  # a receiver that does not answer (until released)
            delivered.append((event.trade_id, int(event.data["n"])))

        outbox_relay = OutboxRelay(
            engine, table=table, sink=sink, source="test", poll_interval_s=60, channel=table.name
        )
        task = asyncio.create_task(outbox_relay.run())
        try:
            await self.write(engine, table, slow_trade, 0)
            await asyncio.sleep(0.3)  # claimed, and stuck in the receiver
            other = uuid.uuid4()
            await self.write(engine, table, other, 1)
            await self.write(engine, table, slow_trade, 2)
            # The other trade's event, written after, goes out while the stuck one waits...
            await self.until(lambda: (other, 1) in delivered)
            await asyncio.sleep(0.3)
            # ...but the stuck trade's next event waits for its turn: each trade stays in order.
            assert delivered == [(other, 1)]
            release.set()
            await self.until(lambda: len(delivered) == 3)
            assert delivered == [(other, 1), (slow_trade, 0), (slow_trade, 2)]
            assert await outbox_relay.pending_count() == 0
        finally:
            release.set()
            outbox_relay.stop()
            await asyncio.wait_for(task, timeout=5)

    async def test_stop_lets_the_lanes_in_flight_finish(
        self, engine: AsyncEngine, table: Table
    ) -> None:
        started = asyncio.Event()
        delivered: list[int] = []

        async def sink(event: EventEnvelope) -> None:
            started.set()
            await asyncio.sleep(0.3)
            delivered.append(int(event.data["n"]))

        outbox_relay = OutboxRelay(
            engine, table=table, sink=sink, source="test", poll_interval_s=60, channel=table.name
        )
        task = asyncio.create_task(outbox_relay.run())
        await self.write(engine, table, uuid.uuid4(), 7)
        await asyncio.wait_for(started.wait(), timeout=5)
        outbox_relay.stop()
        await asyncio.wait_for(task, timeout=5)
        assert delivered == [7]
        assert await outbox_relay.pending_count() == 0  # marked delivered, not left leased
