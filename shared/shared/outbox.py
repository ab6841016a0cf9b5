"""Transactional outbox: events are rows written in the caller's transaction, delivered later by a relay.

Invariants:

* ``add_event`` only inserts into the caller's session; the event exists if and only if the change
  that produced it was committed.
* A relay *claims* a batch in its own short transaction (``FOR UPDATE SKIP LOCKED``), stamping each row
  with a fresh lease token and a lease deadline, and commits. Other relays skip rows whose lease has not
  expired, so two relays never deliver the same row in one pass.
* The relay then delivers outside any transaction and marks the row delivered, or schedules a retry,
  ``WHERE id = :id AND lease_token = :token``: a relay whose lease expired (it crashed or stalled) can
  no longer overwrite the fate of a row that another relay has since claimed.
* Delivery is at least once: a crash between delivery and mark redelivers after the lease expires.
  Consumers deduplicate by the event id, which is also sent as ``Idempotency-Key``.
* ``NOTIFY`` (from a statement trigger, see ``notify_trigger_sql``) only wakes relays up; polling is the
  fallback, so a lost notification delays an event by at most the poll interval.
"""

from __future__ import annotations

import asyncio
import functools
import random
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import structlog
from fastapi import FastAPI
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared import tracing

log = structlog.get_logger("shared.outbox")

# Relay outcomes counted per process (``service`` is the relay's source); backlog read from the
# shared table at scrape time (``outbox_backlog_probe``), so it holds across replicas and restarts.
OUTBOX_EVENTS = Counter(
    "minato_outbox_events_total",
    "Outbox delivery attempts by outcome: delivered, failed (retried later), dead (given up)",
    ["service", "outcome"],
)
OUTBOX_DELIVERY_LAG = Histogram(
    "minato_outbox_delivery_lag_seconds",
    "From an event's occurrence to its delivery by the relay",
    ["service"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 3600.0),
)
OUTBOX_PENDING = Gauge(
    "minato_outbox_pending_events",
    "Events neither delivered nor given up (read from the database at scrape time)",
    ["service"],
)
OUTBOX_OLDEST_AGE = Gauge(
    "minato_outbox_oldest_pending_age_seconds",
    "Age of the oldest event neither delivered nor given up; 0 when there is none",
    ["service"],
)

DEFAULT_TABLE_NAME = "outbox_message"
DEFAULT_CHANNEL = "outbox_message"

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_outbox_table(metadata: MetaData, name: str = DEFAULT_TABLE_NAME) -> Table:
    """The outbox table in a service's own metadata (its migration creates the same columns)."""
    return Table(
        name,
        metadata,
        Column("id", UUID(as_uuid=True), primary_key=True),
        Column("topic", Text, nullable=False),
        Column("version", Integer, nullable=False),
        Column("payload", JSONB, nullable=False),
        Column("trade_id", UUID(as_uuid=True), nullable=True),
        Column("occurred_at", DateTime(timezone=True), nullable=False),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("next_attempt_at", DateTime(timezone=True), nullable=False),
        Column("lease_token", UUID(as_uuid=True), nullable=True),
        Column("leased_until", DateTime(timezone=True), nullable=True),
        Column("claimed_by", Text, nullable=True),
        Column("delivered_at", DateTime(timezone=True), nullable=True),
        Column("dead_at", DateTime(timezone=True), nullable=True),
        Column("last_error", Text, nullable=True),
        CheckConstraint("(lease_token IS NULL) = (leased_until IS NULL)", name="lease_pair"),
        # The relay's only scan: undelivered rows by due time. Delivered rows leave the index.
        Index(
            f"ix_{name}_pending",
            "next_attempt_at",
            postgresql_where=text("delivered_at IS NULL AND dead_at IS NULL"),
        ),
        Index(f"ix_{name}_trade_id", "trade_id"),
    )


def notify_trigger_sql(
    table: str = DEFAULT_TABLE_NAME, channel: str = DEFAULT_CHANNEL
) -> list[str]:
    """DDL for a statement-level trigger that NOTIFYs relays after inserts (for migrations).

    A trigger rather than a ``pg_notify`` call in ``add_event``: no extra round trip per event, and
    PostgreSQL folds identical notifications of one transaction into one.
    """
    function = f"{table}_notify"
    return [
        f"""
        CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{channel}', '');
            RETURN NULL;
        END $$
        """,
        f"""
        CREATE TRIGGER {function} AFTER INSERT ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION {function}()
        """,
    ]


def drop_notify_trigger_sql(table: str = DEFAULT_TABLE_NAME) -> list[str]:
    function = f"{table}_notify"
    return [
        f"DROP TRIGGER IF EXISTS {function} ON {table}",
        f"DROP FUNCTION IF EXISTS {function}()",
    ]


async def add_event(
    session: AsyncSession,
    *,
    table: Table,
    topic: str,
    version: int,
    payload: Mapping[str, Any],
    trade_id: uuid.UUID | None,
    event_id: uuid.UUID,
    occurred_at: datetime,
) -> uuid.UUID:
    """Write one event in the caller's transaction. The caller commits (or rolls back) it."""
    await session.execute(
        insert(table).values(
            id=event_id,
            topic=topic,
            version=version,
            payload=dict(payload),
            trade_id=trade_id,
            occurred_at=occurred_at,
            next_attempt_at=occurred_at,
        )
    )
    return event_id


@dataclass(frozen=True, slots=True)
class EventEnvelope:
    """What a sink receives; ``as_json()`` is the wire shape of ``POST /internal/events``."""

    id: uuid.UUID
    type: str
    version: int
    occurred_at: datetime
    source: str
    trade_id: uuid.UUID | None
    data: Mapping[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": self.type,
            "version": self.version,
            "occurred_at": self.occurred_at.isoformat(),
            "source": self.source,
            "trade_id": str(self.trade_id) if self.trade_id else None,
            "data": dict(self.data),
        }


Sink = Callable[[EventEnvelope], Awaitable[None]]


class DeliveryRefused(Exception):
    """The receiver answered, but not with a 2xx: retry later."""


def http_sink(
    client: httpx.AsyncClient,
    url: str,
    *,
    token_provider: Callable[[], Awaitable[str | None]] | None = None,
) -> Sink:
    """A sink that POSTs the envelope; the event id doubles as the ``Idempotency-Key``."""

    async def deliver(event: EventEnvelope) -> None:
        headers = {"Idempotency-Key": str(event.id)}
        if tracing.tracer is not None:
            # The receiver's span joins the relay's delivery span (``OutboxRelay.deliver``).
            traceparent = tracing.current_traceparent()
            if traceparent:
                headers["traceparent"] = traceparent
        if token_provider is not None:
            token = await token_provider()
            if token:
                headers["Authorization"] = f"Bearer {token}"
        response = await client.post(url, json=event.as_json(), headers=headers)
        if not response.is_success:
            raise DeliveryRefused(f"{url} answered {response.status_code}")

    return deliver


def fan_out(*sinks: Sink) -> Sink:
    """One sink delivering to several receivers, e.g. notifications and the trades timeline.

    The event counts as delivered only when every receiver took it; a retry goes to all of them
    again, which is safe because receivers deduplicate by event id.
    """

    async def deliver(event: EventEnvelope) -> None:
        results = await asyncio.gather(*(sink(event) for sink in sinks), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise DeliveryRefused("; ".join(repr(f) for f in failures))

    return deliver


def exponential_backoff(
    attempts: int, *, base_s: float = 2.0, cap_s: float = 1800.0, rng: random.Random | None = None
) -> timedelta:
    """Full-jitter backoff: uniform in [delay/2, delay], delay = base * 2^(attempts-1), capped."""
    delay = min(cap_s, base_s * 2 ** max(0, attempts - 1))
    jitter = (rng or random).uniform(0.5, 1.0)
    return timedelta(seconds=delay * jitter)


@dataclass(frozen=True, slots=True)
class ClaimedEvent:
    envelope: EventEnvelope
    lease_token: uuid.UUID
    attempts: int


class OutboxRelay:
    """Claims due events in batches and hands each to the sink. Safe to run in several replicas."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        table: Table,
        sink: Sink,
        source: str,
        worker_id: str | None = None,
        batch_size: int = 100,
        lease: timedelta = timedelta(seconds=60),
        max_attempts: int = 20,
        backoff: Callable[[int], timedelta] = exponential_backoff,
        poll_interval_s: float = 5.0,
        concurrency: int = 8,
        channel: str = DEFAULT_CHANNEL,
        clock: Clock = utcnow,
        token_factory: Callable[[], uuid.UUID] = uuid.uuid4,
    ) -> None:
        self.engine = engine
        self.table = table
        self.sink = sink
        self.source = source
        self.worker_id = worker_id or f"{source}-{uuid.uuid4().hex[:8]}"
        self.batch_size = batch_size
        self.lease = lease
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.poll_interval_s = poll_interval_s
        self.concurrency = concurrency  # trades whose events are delivered side by side
        self.channel = channel
        self.clock = clock
        self.token_factory = token_factory
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self.listen_pid: int | None = (
            None  # backend of the LISTEN connection (observability, tests)
        )

    async def claim(
        self,
        limit: int | None = None,
        *,
        skip_trades: Collection[uuid.UUID | None] = (),
    ) -> list[ClaimedEvent]:
        """Lease up to ``limit`` due rows to this relay, in one statement, and commit the lease.

        ``skip_trades``: trades whose earlier events this relay is still delivering (``None``: the
        events of no trade); theirs are left for a later claim, so each trade stays in order.
        """
        t = self.table
        now = self.clock()
        token = self.token_factory()
        conditions = [
            t.c.delivered_at.is_(None),
            t.c.dead_at.is_(None),
            t.c.next_attempt_at <= now,
            or_(t.c.leased_until.is_(None), t.c.leased_until < now),
        ]
        busy = [trade for trade in skip_trades if trade is not None]
        if None in skip_trades:
            conditions.append(t.c.trade_id.is_not(None))
        if busy:
            # NOT IN alone would also drop the rows of no trade (NULL NOT IN (...) is NULL).
            conditions.append(or_(t.c.trade_id.is_(None), t.c.trade_id.not_in(busy)))
        due = (
            select(t.c.id)
            .where(*conditions)
            .order_by(t.c.next_attempt_at)
            .limit(limit or self.batch_size)
            .with_for_update(skip_locked=True)
            .cte("due")
        )
        statement = (
            update(t)
            .where(t.c.id == due.c.id)
            .values(
                lease_token=token,
                leased_until=now + self.lease,
                claimed_by=self.worker_id,
                attempts=t.c.attempts + 1,
            )
            .returning(
                t.c.id,
                t.c.topic,
                t.c.version,
                t.c.payload,
                t.c.trade_id,
                t.c.occurred_at,
                t.c.attempts,
            )
        )
        async with self.engine.begin() as conn:
            rows = (await conn.execute(statement)).all()
        claimed = [
            ClaimedEvent(
                envelope=EventEnvelope(
                    id=row.id,
                    type=row.topic,
                    version=row.version,
                    occurred_at=row.occurred_at,
                    source=self.source,
                    trade_id=row.trade_id,
                    data=row.payload,
                ),
                lease_token=token,
                attempts=row.attempts,
            )
            for row in rows
        ]
        claimed.sort(key=lambda c: c.envelope.occurred_at)
        return claimed

    async def mark_delivered(self, event: ClaimedEvent) -> bool:
        t = self.table
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(t)
                .where(and_(t.c.id == event.envelope.id, t.c.lease_token == event.lease_token))
                .values(
                    delivered_at=self.clock(), lease_token=None, leased_until=None, last_error=None
                )
            )
        return bool(result.rowcount)

    async def mark_failed(self, event: ClaimedEvent, error: str) -> bool:
        t = self.table
        now = self.clock()
        values: dict[str, Any] = {
            "lease_token": None,
            "leased_until": None,
            "last_error": error[:2000],
        }
        if event.attempts >= self.max_attempts:
            values["dead_at"] = now
        else:
            values["next_attempt_at"] = now + self.backoff(event.attempts)
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(t)
                .where(and_(t.c.id == event.envelope.id, t.c.lease_token == event.lease_token))
                .values(**values)
            )
        return bool(result.rowcount)

    async def deliver(self, event: ClaimedEvent) -> bool:
        try:
            if tracing.tracer is None:
                await self.sink(event.envelope)
            else:
                await self._traced_delivery(event)
        except Exception as exc:
            log.warning(
                "outbox_delivery_failed",
                event_id=str(event.envelope.id),
                topic=event.envelope.type,
                attempts=event.attempts,
                error=repr(exc),
            )
            if await self.mark_failed(event, repr(exc)):
                dead = event.attempts >= self.max_attempts
                OUTBOX_EVENTS.labels(self.source, "dead" if dead else "failed").inc()
            return False
        delivered = await self.mark_delivered(event)
        if delivered:
            OUTBOX_EVENTS.labels(self.source, "delivered").inc()
            lag = (self.clock() - event.envelope.occurred_at).total_seconds()
            OUTBOX_DELIVERY_LAG.labels(self.source).observe(max(0.0, lag))
        return delivered

    async def _traced_delivery(self, event: ClaimedEvent) -> None:
        """One delivery as a trace of its own: the receivers' spans are its children."""
        attributes = {
            "messaging.system": "minato.outbox",
            "messaging.destination.name": event.envelope.type,
            "messaging.message.id": str(event.envelope.id),
            "minato.outbox.attempt": event.attempts,
        }
        with tracing.client_span(f"deliver {event.envelope.type}", attributes):
            await self.sink(event.envelope)

    async def deliver_batch(self, claimed: list[ClaimedEvent]) -> int:
        """Deliver a claimed batch; the number delivered.

        The events of one trade go one after the other, in the order they occurred (as do the events
        of no trade); different trades go side by side, up to ``concurrency`` at a time, so one slow
        receiver call does not hold up every other trade's events behind it.
        """
        slots = asyncio.Semaphore(max(1, self.concurrency))
        lanes = _by_trade(claimed).values()
        return sum(await asyncio.gather(*(self._lane(events, slots) for events in lanes)))

    async def run_once(self) -> int:
        """Claim one batch and deliver it; the number of events delivered."""
        return await self.deliver_batch(await self.claim())

    async def drain_once(self, *, max_batches: int = 1000) -> int:
        """Deliver everything that is due now (for tests and the relay loop)."""
        total = 0
        for _ in range(max_batches):
            claimed = await self.claim()
            if not claimed:
                break
            total += await self.deliver_batch(claimed)
        return total

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Loop until ``stop()``: claim and deliver, without waiting for a whole batch.

        Each trade's claimed events go out in a lane of their own, one after the other; up to
        ``concurrency`` lanes run at once. The loop claims again as soon as a lane ends, a NOTIFY
        arrives or the poll interval passes, leaving out the trades still in a lane. So a slow
        receiver call holds up only its own trade's later events, not every event written after
        the batch it came in (before, a new event waited for the slowest lane of the batch in
        flight: ~0.5 s under load in the export journey, up to the sink's timeout).

        The LISTEN connection is re-opened whenever it is lost (e.g. the database restarted); until
        then the relay keeps working by polling. On ``stop()`` the lanes in flight finish first.
        """
        listener: Any = None
        lanes: dict[uuid.UUID | None, asyncio.Task[int]] = {}
        slots = asyncio.Semaphore(max(1, self.concurrency))
        try:
            while not self._stopping.is_set():
                if listener is None or listener.is_closed():
                    listener = await self._listen()
                self._wake.clear()
                try:
                    more_due = await self._claim_into_lanes(lanes, slots)
                except Exception:
                    # The database may be restarting; the next poll tries again.
                    log.exception("outbox_relay_pass_failed", worker=self.worker_id)
                    more_due = False
                if more_due and len(lanes) < self.concurrency:
                    continue
                waiter = asyncio.ensure_future(self._wake.wait())
                try:
                    await asyncio.wait(
                        {waiter, *lanes.values()},
                        timeout=self.poll_interval_s,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                finally:
                    waiter.cancel()
        finally:
            if lanes:
                await asyncio.gather(*lanes.values(), return_exceptions=True)
            if listener is not None and not listener.is_closed():
                await listener.close()

    async def _claim_into_lanes(
        self,
        lanes: dict[uuid.UUID | None, asyncio.Task[int]],
        slots: asyncio.Semaphore,
    ) -> bool:
        """Claim what is due for trades not in a lane and start their lanes; whether the claim
        was full (more may be due)."""
        if len(lanes) >= self.concurrency:
            return False  # every slot is busy: claimed rows would only wait, holding their lease
        claimed = await self.claim(skip_trades=list(lanes))
        for trade, events in _by_trade(claimed).items():
            lane = asyncio.create_task(self._lane(events, slots))
            lanes[trade] = lane
            lane.add_done_callback(functools.partial(_forget_lane, lanes, trade))
        return len(claimed) >= self.batch_size

    async def _lane(self, events: list[ClaimedEvent], slots: asyncio.Semaphore) -> int:
        """One trade's events, one after the other; the number delivered."""
        delivered = 0
        async with slots:
            for event in events:
                try:
                    delivered += await self.deliver(event)
                except Exception:
                    # Marking it failed did not reach the database: its lease expires and it is
                    # claimed again, by this relay or another.
                    log.exception(
                        "outbox_lane_failed", worker=self.worker_id, event_id=str(event.envelope.id)
                    )
        return delivered

    async def _listen(self) -> Any:
        """A dedicated asyncpg connection LISTENing on the channel, or None when it cannot open."""
        try:
            dsn = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            conn = await asyncpg.connect(
                dsn, server_settings={"application_name": f"{self.worker_id}-listen"}
            )
            await conn.add_listener(self.channel, self._on_signal)
            # A lost connection wakes the loop, which opens a new one and drains what it missed.
            conn.add_termination_listener(self._on_signal)
        except Exception:
            log.warning("outbox_listen_unavailable", channel=self.channel, exc_info=True)
            return None
        self.listen_pid = conn.get_server_pid()
        return conn

    def _on_signal(self, *_: object) -> None:
        self._wake.set()

    async def purge_delivered(self, *, older_than: timedelta) -> int:
        """Delete rows delivered before ``now - older_than`` (they stay a while for inspection)."""
        t = self.table
        async with self.engine.begin() as conn:
            result = await conn.execute(
                delete(t).where(t.c.delivered_at < self.clock() - older_than)
            )
        return int(result.rowcount or 0)

    async def pending_count(self) -> int:
        t = self.table
        async with self.engine.connect() as conn:
            count = await conn.scalar(
                select(func.count())
                .select_from(t)
                .where(t.c.delivered_at.is_(None), t.c.dead_at.is_(None))
            )
        return int(count or 0)


def _by_trade(claimed: list[ClaimedEvent]) -> dict[uuid.UUID | None, list[ClaimedEvent]]:
    """Claimed events per trade (``None``: of no trade), each trade's in the order they occurred."""
    lanes: dict[uuid.UUID | None, list[ClaimedEvent]] = {}
    for event in claimed:  # claim() sorts by occurred_at
        lanes.setdefault(event.envelope.trade_id, []).append(event)
    return lanes


def _forget_lane(
    lanes: dict[uuid.UUID | None, asyncio.Task[int]],
    trade: uuid.UUID | None,
    done: asyncio.Task[int],
) -> None:
    if lanes.get(trade) is done:
        del lanes[trade]


def outbox_backlog_probe(table: Table) -> Callable[[FastAPI], Awaitable[None]]:
    """A ``/metrics`` probe: pending events and the age of the oldest, from the shared table.

    One statement on the relay's partial index (undelivered rows only), so it stays cheap however
    many delivered rows are kept for inspection. The age is measured by the database's clock.
    """

    async def outbox_backlog(app: FastAPI) -> None:
        engine: AsyncEngine = app.state.engine
        service = app.state.settings.service_name
        t = table
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    select(
                        func.count(),
                        func.coalesce(
                            func.extract("epoch", func.now() - func.min(t.c.occurred_at)), 0
                        ),
                    ).where(t.c.delivered_at.is_(None), t.c.dead_at.is_(None))
                )
            ).one()
        OUTBOX_PENDING.labels(service).set(int(row[0]))
        OUTBOX_OLDEST_AGE.labels(service).set(max(0.0, float(row[1])))

    return outbox_backlog
