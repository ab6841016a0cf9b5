"""The dispatcher: webhook deliveries, queued mail and partner forwarding, shared by every replica.

Work is claimed with ``FOR UPDATE SKIP LOCKED`` and a lease (a token and an expiry) in a short
transaction; the slow part (HTTP, SMTP) runs outside any transaction; the outcome is written in a second
transaction *only if the lease is still ours*. A worker that dies mid-delivery leaves a lease that
expires, and the next claim takes the delivery again: at least once, never lost. Every retry of an event
to an endpoint carries the same ``webhook-id`` (the event id), so receivers dedupe on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import math
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import orjson
import structlog
from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from notifications.clients.directory import AdminDirectory, NoAdminDirectory
from notifications.clients.forms import FormsGateway
from notifications.clients.trades import TradeDirectory
from notifications.config import Settings
from notifications.db.models import (
    Event,
    InboundMessage,
    OutgoingEmail,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from notifications.db.repositories import InboxRepository, WebhookRepository
from notifications.domain.events import EventIntake, record_own_event
from notifications.domain.mail import Mailer, render_event_mail
from notifications.domain.metrics import (
    EMAILS,
    INBOUND_FORWARDS,
    WEBHOOK_ATTEMPT_DURATION,
    WEBHOOK_ATTEMPTS,
    WEBHOOK_ENDPOINTS_DISABLED,
)
from notifications.domain.preferences import wants
from notifications.domain.runtime import Runtime
from notifications.domain.secrets import SecretBox
from notifications.domain.signing import webhook_headers
from notifications.domain.ssrf import Target, UnsafeUrl, check_target
from notifications.domain.webhook_http import (
    WebhookHttpClient,
    WebhookHttpError,
    WebhookTimeout,
    request_target,
)
from notifications.domain.webhooks import CachedSecrets, SecretOpener, active_secrets

log = structlog.get_logger("notifications.dispatcher")

RESPONSE_EXCERPT_BYTES = 1024
MAX_RETRY_AFTER_S = 24 * 3600
THROTTLE_STATUSES = frozenset({429, 503})
# NOTIFYed by statement triggers after inserts into webhook_deliveries, outgoing_emails and
# inbound_messages (migration notifications0006): wakes every replica's dispatcher at once. Only a hint:
# the poll interval still bounds the delay of anything whose notification was missed.
DISPATCH_CHANNEL = "notifications_dispatch"
# Batches of deliveries one dispatcher pass sends before it turns to mail and partner forwarding.
DELIVERY_BATCHES_PER_PASS = 20
# A claimed delivery is sent only while at least this much of its lease is left, and its exchange
# is cut LEASE_MARGIN_S before the lease runs out (time to record the answer). The exchange is also
# bounded by the webhook timeouts, so a long lease changes nothing; a short one (tests use 2 s)
# shortens the exchange instead of skipping every delivery.
MIN_SEND_WINDOW_S = 1.0
LEASE_MARGIN_S = 0.5


def make_delivery_http_client(settings: Settings) -> WebhookHttpClient:
    """Outbound client for partner endpoints: pinned addresses, tight timeouts, no redirects, no
    proxies, at most ``RESPONSE_EXCERPT_BYTES`` of an answer read (``webhook_http``)."""
    return WebhookHttpClient(
        timeout_s=settings.webhook_timeout_s,
        connect_timeout_s=settings.webhook_connect_timeout_s,
        max_body_bytes=RESPONSE_EXCERPT_BYTES,
        max_idle_per_target=max(20, settings.dispatcher_concurrency),
    )


@dataclass(frozen=True)
class AttemptResult:
    succeeded: bool
    status_code: int | None
    error: str | None
    excerpt: str | None
    duration_ms: int
    retry_after_s: float | None = None


@dataclass
class DrainReport:
    deliveries: int = 0
    emails: int = 0
    inbound: int = 0

    @property
    def total(self) -> int:
        return self.deliveries + self.emails + self.inbound


@dataclass(frozen=True)
class EndpointTarget:
    """What a delivery needs of its endpoint (read with the claim, not loaded as an ORM object)."""

    id: uuid.UUID
    url: str
    secret_ciphertext: bytes
    previous_secret_ciphertext: bytes | None
    previous_secret_expires_at: datetime | None


@dataclass(frozen=True)
class EventPayload:
    """What a delivery sends of its event (read with the claim)."""

    id: uuid.UUID
    type: str
    version: int
    occurred_at: datetime
    trade_id: uuid.UUID | None
    data: dict[str, Any]


@dataclass
class ClaimedDelivery:
    id: uuid.UUID
    lease_token: uuid.UUID
    attempt_number: int
    endpoint: EndpointTarget
    event: EventPayload
    lease_expires_at: datetime | None = None


def retry_delay_s(
    schedule: Sequence[float], attempts_made: int, jitter: float, uniform: float
) -> float | None:
    """Delay before the next attempt after ``attempts_made`` attempts; None when the schedule is done.

    ``uniform`` is a random number in [0, 1): the delay is scaled by ``1 ± jitter``.
    """
    if attempts_made >= len(schedule):
        return None
    base = schedule[attempts_made]
    return max(0.0, base * (1 + jitter * (2 * uniform - 1)))


def attempt_outcome(result: AttemptResult) -> str:
    if result.succeeded:
        return "delivered"
    if result.status_code == 410:
        return "gone"
    if result.status_code is not None:
        return "failed"
    if result.error and result.error.startswith("refused target"):
        return "refused_target"
    return "timeout" if result.error == "timeout" else "error"


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = (when - now).total_seconds()
    return max(0.0, min(seconds, MAX_RETRY_AFTER_S))


def webhook_body(event: EventPayload, *, max_bytes: int, public_base_url: str) -> bytes:
    """The payload (Standard Webhooks shape). Over the limit, a thin payload that says where to read."""
    payload: dict[str, Any] = {
        "id": str(event.id),
        "type": event.type,
        "version": event.version,
        "timestamp": event.occurred_at.isoformat(),
        "trade_id": str(event.trade_id) if event.trade_id else None,
        "data": event.data,
    }
    body = orjson.dumps(payload)
    if len(body) <= max_bytes:
        return body
    payload["data"] = None
    payload["truncated"] = True
    payload["url"] = f"{public_base_url}/api/v1/notifications/events/{event.id}"
    return orjson.dumps(payload)


def pinned_request(target: Target) -> tuple[str, str]:
    """The checked address to connect to (never resolved again) and the request target."""
    parts = urlsplit(target.url)
    return target.pinned_address, request_target(parts.path, parts.query)


_CLAIM = text(
    """
    WITH due AS (
        SELECT id FROM webhook_deliveries
        WHERE status = 'pending' AND next_attempt_at <= :now
          AND (lease_expires_at IS NULL OR lease_expires_at <= :now)
        ORDER BY next_attempt_at
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    ), claimed AS (
        UPDATE webhook_deliveries AS d
        SET lease_token = :token, lease_expires_at = :lease_until
        FROM due WHERE d.id = due.id
        RETURNING d.id, d.endpoint_id, d.event_id, d.attempt_count
    )
    SELECT c.id, c.endpoint_id, c.event_id, c.attempt_count, e.url, e.secret_ciphertext,
           e.previous_secret_ciphertext, e.previous_secret_expires_at,
           ev.type, ev.version, ev.occurred_at, ev.trade_id,
           -- an event's data once per batch, however many of its deliveries the batch holds
           row_number() OVER (PARTITION BY c.event_id) = 1 AS first_of_event,
           CASE WHEN row_number() OVER (PARTITION BY c.event_id) = 1 THEN ev.data END AS data
    FROM claimed AS c
    JOIN webhook_endpoints AS e ON e.id = c.endpoint_id
    JOIN events AS ev ON ev.id = c.event_id
    """
).columns(data=Event.__table__.c.data.type)

# A batch of successes in one statement: the attempts logged, the deliveries finished (only those
# whose lease is still ours), their endpoints' failing streaks ended.
_RECORD_DELIVERED = text(
    """
    WITH outcome AS (
        SELECT * FROM unnest(
            CAST(:ids AS uuid[]), CAST(:tokens AS uuid[]), CAST(:codes AS integer[]),
            CAST(:attempt_ids AS uuid[]), CAST(:endpoint_ids AS uuid[]),
            CAST(:attempt_numbers AS integer[]), CAST(:durations AS integer[]),
            CAST(:excerpts AS varchar[])
        ) AS o(id, lease_token, status_code, attempt_id, endpoint_id, attempt_number,
               duration_ms, excerpt)
    ), attempts AS (
        INSERT INTO webhook_attempts (id, delivery_id, endpoint_id, attempt_number, started_at,
                                      duration_ms, succeeded, status_code, error, response_excerpt)
        SELECT attempt_id, id, endpoint_id, attempt_number, :now, duration_ms, true, status_code,
               NULL, excerpt
        FROM outcome
    ), finished AS (
        UPDATE webhook_deliveries AS d
        SET status = 'delivered', finished_at = :now, attempt_count = d.attempt_count + 1,
            last_status_code = outcome.status_code, last_error = NULL,
            lease_token = NULL, lease_expires_at = NULL
        FROM outcome
        WHERE d.id = outcome.id AND d.lease_token = outcome.lease_token AND d.status = 'pending'
        RETURNING d.id, d.endpoint_id
    ), streaks AS (
        UPDATE webhook_endpoints SET failing_since = NULL
        WHERE id IN (SELECT endpoint_id FROM finished) AND failing_since IS NOT NULL
    )
    SELECT id FROM finished
    """
)


class Dispatcher:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        settings: Settings,
        runtime: Runtime,
        http: WebhookHttpClient,
        secret_box: SecretBox,
        mailer: Mailer,
        forms: FormsGateway,
        trades: TradeDirectory,
        admins: AdminDirectory | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.admins: AdminDirectory = admins or NoAdminDirectory()
        self.settings = settings
        self.runtime = runtime
        self.http = http
        self.box = secret_box
        self.mailer = mailer
        self.forms = forms
        self.trades = trades
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._last_housekeeping: datetime | None = None
        # The backend of the LISTEN connection (observability, tests).
        self.listen_pid: int | None = None

    # -- the loop ---------------------------------------------------------------------------------
    async def run(self) -> None:
        """Drain until nothing is due, then sleep until woken (NOTIFY on new work, ``wake()``) or
        the poll interval. Polling stays the fallback: a missed or lost notification delays work by
        at most ``dispatcher_poll_interval_s``, and retries scheduled for later are found by it.
        """
        listener: Any = None
        try:
            while not self._stopping.is_set():
                if listener is None or listener.is_closed():
                    listener = await self._listen()
                # Cleared before the pass: work committed during it wakes the next wait at once.
                self._wake.clear()
                try:
                    report = await self.drain_once()
                except Exception:
                    log.exception("dispatcher_drain_failed")
                    report = DrainReport()
                if report.total == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            self._wake.wait(), self.settings.dispatcher_poll_interval_s
                        )
        finally:
            if listener is not None and not listener.is_closed():
                await listener.close()

    def wake(self) -> None:
        """New work is due (committed): run a pass now instead of at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def _listen(self) -> Any:
        """A dedicated asyncpg connection LISTENing on ``DISPATCH_CHANNEL``, or None (then the loop
        polls, and tries again on its next pass)."""
        engine = self.sessionmaker.kw.get("bind")
        if not isinstance(engine, AsyncEngine) or engine.url.get_backend_name() != "postgresql":
            return None
        try:
            dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            conn = await asyncpg.connect(
                dsn, server_settings={"application_name": "notifications-dispatcher-listen"}
            )
            await conn.add_listener(DISPATCH_CHANNEL, self._on_signal)
            # A lost connection wakes the loop, which opens a new one and drains what it missed.
            conn.add_termination_listener(self._on_signal)
        except Exception:
            log.warning("dispatcher_listen_unavailable", channel=DISPATCH_CHANNEL, exc_info=True)
            return None
        self.listen_pid = conn.get_server_pid()
        return conn

    def _on_signal(self, *_: object) -> None:
        self._wake.set()

    async def drain_once(self) -> DrainReport:
        """One pass over everything that is due. Tests call this instead of running the loop."""
        now = self.runtime.now()
        interval = timedelta(seconds=self.settings.housekeeping_interval_s)
        if self._last_housekeeping is None or now - self._last_housekeeping >= interval:
            self._last_housekeeping = now
            await self.purge_old_records()
        return DrainReport(
            deliveries=await self.deliver_due(),
            emails=await self.send_due_mail(),
            inbound=await self.forward_due_inbound(),
        )

    # -- webhooks ---------------------------------------------------------------------------------
    async def claim_deliveries(self, limit: int | None = None) -> list[ClaimedDelivery]:
        """Lease up to ``limit`` due deliveries, with what sending them needs of their endpoints and
        events, in one statement (atomic by itself: no transaction around it)."""
        now = self.runtime.now()
        token = self.runtime.new_id()
        lease_until = now + timedelta(seconds=self.settings.delivery_lease_s)
        async with self._autocommit() as connection:
            rows = (
                await connection.execute(
                    _CLAIM,
                    {
                        "now": now,
                        "limit": limit or self.settings.dispatcher_batch_size,
                        "token": token,
                        "lease_until": lease_until,
                    },
                )
            ).all()
        endpoints: dict[uuid.UUID, EndpointTarget] = {}
        events: dict[uuid.UUID, EventPayload] = {}
        for row in rows:
            if row.endpoint_id not in endpoints:
                endpoints[row.endpoint_id] = EndpointTarget(
                    id=row.endpoint_id,
                    url=row.url,
                    secret_ciphertext=row.secret_ciphertext,
                    previous_secret_ciphertext=row.previous_secret_ciphertext,
                    previous_secret_expires_at=row.previous_secret_expires_at,
                )
            if row.first_of_event:
                events[row.event_id] = EventPayload(
                    id=row.event_id,
                    type=row.type,
                    version=row.version,
                    occurred_at=row.occurred_at,
                    trade_id=row.trade_id,
                    data=row.data,
                )
        return [
            ClaimedDelivery(
                id=row.id,
                lease_token=token,
                attempt_number=row.attempt_count + 1,
                endpoint=endpoints[row.endpoint_id],
                event=events[row.event_id],
                lease_expires_at=lease_until,
            )
            for row in rows
        ]

    @contextlib.asynccontextmanager
    async def _autocommit(self) -> AsyncIterator[AsyncConnection]:
        """A connection without a transaction, for one statement that is atomic by itself: no
        BEGIN and COMMIT round trips (two of a claim's four, two of a record's three)."""
        engine = self.sessionmaker.kw.get("bind")
        if isinstance(engine, AsyncEngine):
            async with engine.connect() as connection:
                yield await connection.execution_options(isolation_level="AUTOCOMMIT")
            return
        async with self.sessionmaker() as session, session.begin():  # bound otherwise (tests)
            yield await session.connection()

    async def deliver_due(self) -> int:
        """Send what is due, a batch at a time, overlapped: while one batch is being sent the next
        is claimed and the previous one recorded. Stops when nothing more is due, or after
        ``DELIVERY_BATCHES_PER_PASS`` batches so that mail and partner forwarding get their turn."""
        semaphore = asyncio.Semaphore(self.settings.dispatcher_concurrency)
        total = 0
        recording: asyncio.Task[None] | None = None
        claimed = await self.claim_deliveries()
        try:
            for batch_number in range(1, DELIVERY_BATCHES_PER_PASS + 1):
                if not claimed:
                    break
                total += len(claimed)
                sending = asyncio.ensure_future(self._send_batch(claimed, semaphore))
                claiming = (
                    asyncio.ensure_future(self.claim_deliveries())
                    if batch_number < DELIVERY_BATCHES_PER_PASS
                    else None
                )
                try:
                    outcomes = await sending
                except BaseException:
                    if claiming is not None:
                        claiming.cancel()
                    raise
                if recording is not None:
                    await recording
                recording = asyncio.ensure_future(self._record_batch(outcomes, semaphore))
                claimed = await claiming if claiming is not None else []
        finally:
            if recording is not None:
                await recording
        return total

    async def _send_batch(
        self, claimed: list[ClaimedDelivery], semaphore: asyncio.Semaphore
    ) -> list[tuple[ClaimedDelivery, AttemptResult]]:
        bodies: dict[uuid.UUID, bytes] = {}  # an event's payload, once per batch
        secrets = CachedSecrets(self.box)  # an endpoint's secrets, decrypted once per batch

        results: list[AttemptResult | None] = [None] * len(claimed)
        pending = iter(range(len(claimed)))  # shared by the workers: each delivery taken once

        async def worker() -> None:
            # A few workers over the batch rather than a task per delivery: no task and no
            # semaphore wait per delivery (the semaphore still bounds sends and failure records).
            for index in pending:
                delivery = claimed[index]
                async with semaphore:
                    if self._lease_left_s(delivery) < MIN_SEND_WINDOW_S:
                        # Left alone: the lease expires and the next claim (ours or another's)
                        # takes it.
                        log.info("delivery_lease_too_short", delivery_id=str(delivery.id))
                        continue
                    results[index] = await self.attempt(delivery, bodies, secrets)

        workers = min(self.settings.dispatcher_concurrency, len(claimed))
        await asyncio.gather(*(worker() for _ in range(workers)))
        return [(d, r) for d, r in zip(claimed, results, strict=True) if r is not None]

    async def _record_batch(
        self, outcomes: list[tuple[ClaimedDelivery, AttemptResult]], semaphore: asyncio.Semaphore
    ) -> None:
        async def record_failure(delivery: ClaimedDelivery, result: AttemptResult) -> None:
            async with semaphore:
                await self.record(delivery, result)

        # Successes, the common case, are written together: a transaction per delivery was most of
        # the dispatcher's time (bench/webhook_fanout.py). Failures keep their own transaction (retry
        # schedule, disabling the endpoint).
        await self.record_delivered([(d, r) for d, r in outcomes if r.succeeded])
        await asyncio.gather(*(record_failure(d, r) for d, r in outcomes if not r.succeeded))

    def _lease_left_s(self, delivery: ClaimedDelivery) -> float:
        expires = delivery.lease_expires_at
        if expires is None:
            return math.inf
        return (expires - self.runtime.now()).total_seconds()

    async def attempt(
        self,
        delivery: ClaimedDelivery,
        bodies: dict[uuid.UUID, bytes] | None = None,
        secrets: SecretOpener | None = None,
    ) -> AttemptResult:
        endpoint, event = delivery.endpoint, delivery.event
        started = time.perf_counter()

        def elapsed_ms() -> int:
            return int((time.perf_counter() - started) * 1000)

        allow_private = self.settings.webhook_allow_private_targets
        try:
            # Checked again now: the name may resolve elsewhere than when the endpoint was saved.
            target = await check_target(
                endpoint.url,
                resolve=self.runtime.resolve,
                allow_private=allow_private,
                require_https=not allow_private,
            )
        except UnsafeUrl as exc:
            return AttemptResult(False, None, f"refused target: {exc}"[:300], None, elapsed_ms())
        now = self.runtime.now()
        body = bodies.get(event.id) if bodies is not None else None
        if body is None:
            body = webhook_body(
                event,
                max_bytes=self.settings.webhook_max_payload_bytes,
                public_base_url=self.settings.public_base_url,
            )
            if bodies is not None:
                bodies[event.id] = body
        headers = webhook_headers(
            active_secrets(endpoint, secrets or self.box, now),
            str(event.id),
            int(now.timestamp()),
            body,
        )
        address, request_path = pinned_request(target)
        try:
            response = await self.http.post(
                scheme=target.scheme,
                address=address,
                port=target.port,
                host=target.host,
                target=request_path,
                headers=headers.items(),
                body=body,
                # The attempt ends while the lease still holds (with a margin to record it);
                # otherwise another worker may take the delivery meanwhile and send it too.
                within_s=self._lease_left_s(delivery) - LEASE_MARGIN_S,
            )
        except WebhookTimeout:
            return AttemptResult(False, None, "timeout", None, elapsed_ms())
        except (WebhookHttpError, ValueError) as exc:
            return AttemptResult(
                False, None, f"{type(exc).__name__}: {exc}"[:300], None, elapsed_ms()
            )
        status = response.status
        retry_after = (
            parse_retry_after(response.retry_after, now) if status in THROTTLE_STATUSES else None
        )
        text_excerpt = response.body[:RESPONSE_EXCERPT_BYTES].decode("utf-8", "replace")
        # Redirects are failures (never followed): the partner must register the final URL.
        return AttemptResult(
            200 <= status < 300,
            status,
            None,
            text_excerpt[:RESPONSE_EXCERPT_BYTES],
            elapsed_ms(),
            retry_after,
        )

    async def record_delivered(self, done: list[tuple[ClaimedDelivery, AttemptResult]]) -> None:
        """Successful attempts in one transaction: the attempts logged, the deliveries finished (only
        those whose lease is still ours), their endpoints' failing streaks ended."""
        if not done:
            return
        for _, result in done:
            WEBHOOK_ATTEMPTS.labels(outcome="delivered").inc()
            WEBHOOK_ATTEMPT_DURATION.observe(result.duration_ms / 1000)
        async with self._autocommit() as connection:
            finished = (
                await connection.execute(
                    _RECORD_DELIVERED,
                    {
                        "now": self.runtime.now(),
                        "ids": [delivery.id for delivery, _ in done],
                        "tokens": [delivery.lease_token for delivery, _ in done],
                        "codes": [result.status_code for _, result in done],
                        "attempt_ids": [self.runtime.new_id() for _ in done],
                        "endpoint_ids": [delivery.endpoint.id for delivery, _ in done],
                        "attempt_numbers": [delivery.attempt_number for delivery, _ in done],
                        "durations": [result.duration_ms for _, result in done],
                        "excerpts": [result.excerpt for _, result in done],
                    },
                )
            ).all()
        recorded = {row.id for row in finished}
        for delivery, _ in done:
            if delivery.id not in recorded:
                # Our lease expired and another worker took it, or the endpoint was disabled.
                log.warning("delivery_outcome_not_recorded", delivery_id=str(delivery.id))

    async def record(self, delivery: ClaimedDelivery, result: AttemptResult) -> None:
        WEBHOOK_ATTEMPTS.labels(outcome=attempt_outcome(result)).inc()
        if result.status_code is not None:
            WEBHOOK_ATTEMPT_DURATION.observe(result.duration_ms / 1000)
        now = self.runtime.now()
        disable_reason: str | None = None
        async with self.sessionmaker() as session, session.begin():
            session.add(
                WebhookAttempt(
                    id=self.runtime.new_id(),
                    delivery_id=delivery.id,
                    endpoint_id=delivery.endpoint.id,
                    attempt_number=delivery.attempt_number,
                    started_at=now,
                    duration_ms=result.duration_ms,
                    succeeded=result.succeeded,
                    status_code=result.status_code,
                    error=result.error,
                    response_excerpt=result.excerpt,
                )
            )
            values: dict[str, Any] = {
                "attempt_count": delivery.attempt_number,
                "last_status_code": result.status_code,
                "last_error": result.error,
                "lease_token": None,
                "lease_expires_at": None,
            }
            endpoint = (
                await session.execute(
                    select(WebhookEndpoint)
                    .where(WebhookEndpoint.id == delivery.endpoint.id)
                    .with_for_update()
                )
            ).scalar_one_or_none()
            if result.succeeded:
                values.update(status="delivered", finished_at=now)
            elif result.status_code == 410:
                values.update(status="failed", finished_at=now)
                disable_reason = "the endpoint answered 410 Gone"
            else:
                delay = retry_delay_s(
                    self.settings.webhook_retry_schedule_s,
                    delivery.attempt_number,
                    self.settings.webhook_retry_jitter,
                    self.runtime.rng.random(),
                )
                if delay is None:
                    values.update(status="failed", finished_at=now)
                else:
                    delay = max(delay, result.retry_after_s or 0.0)
                    values.update(next_attempt_at=now + timedelta(seconds=delay))
            changed = await session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == delivery.id,
                    WebhookDelivery.lease_token == delivery.lease_token,
                    WebhookDelivery.status == "pending",
                )
                .values(**values)
            )
            if changed.rowcount == 0:  # type: ignore[attr-defined]
                # Our lease expired and another worker took the delivery, or the endpoint was
                # disabled meanwhile: the row's state is no longer ours to change.
                log.warning("delivery_outcome_not_recorded", delivery_id=str(delivery.id))
                return
            if endpoint is None:
                return
            if result.succeeded:
                endpoint.failing_since = None
            else:
                if endpoint.failing_since is None:
                    endpoint.failing_since = now
                elif disable_reason is None and now - endpoint.failing_since >= timedelta(
                    seconds=self.settings.webhook_disable_after_s
                ):
                    disable_reason = "deliveries have failed for too long"
            if disable_reason is not None and endpoint.enabled:
                await self._disable_endpoint(session, endpoint, disable_reason, now)

    async def _disable_endpoint(
        self, session: AsyncSession, endpoint: WebhookEndpoint, reason: str, now: datetime
    ) -> None:
        WEBHOOK_ENDPOINTS_DISABLED.labels(reason="gone" if "410" in reason else "failing").inc()
        endpoint.enabled = False
        endpoint.disabled_reason = reason
        endpoint.disabled_at = now
        endpoint.updated_at = now
        await session.flush()
        await WebhookRepository(session).cancel_pending(endpoint.id, now, "endpoint disabled")
        intake = EventIntake(
            session,
            runtime=self.runtime,
            trades=self.trades,
            max_event_data_bytes=self.settings.max_event_data_bytes,
            public_base_url=self.settings.public_base_url,
            mail_org_admins=self.admins.configured,
        )
        # Told through the event log: in-app for the org, mail to its admins, other endpoints.
        await record_own_event(
            intake,
            event_id=self.runtime.new_id(),
            event_type="webhook_endpoint.disabled",
            trade_id=None,
            org_ids=[endpoint.org_id],
            data={
                "endpoint_id": str(endpoint.id),
                "url": endpoint.url,
                "reason": reason,
                "failing_since": endpoint.failing_since.isoformat()
                if endpoint.failing_since
                else None,
            },
            occurred_at=now,
        )
        log.warning("webhook_endpoint_disabled", endpoint_id=str(endpoint.id), reason=reason)

    async def purge_old_records(self) -> int:
        """Forget finished deliveries (with their attempts) and sent mail past the retention."""
        cutoff = self.runtime.now() - timedelta(days=self.settings.delivery_log_retention_days)
        async with self.sessionmaker() as session, session.begin():
            deliveries = await session.execute(
                delete(WebhookDelivery).where(
                    WebhookDelivery.status != "pending", WebhookDelivery.finished_at < cutoff
                )
            )
            mails = await session.execute(
                delete(OutgoingEmail).where(
                    OutgoingEmail.status != "pending", OutgoingEmail.created_at < cutoff
                )
            )
        return int(deliveries.rowcount or 0) + int(mails.rowcount or 0)  # type: ignore[attr-defined]

    # -- mail -------------------------------------------------------------------------------------
    async def send_due_mail(self) -> int:
        now = self.runtime.now()
        lease_until = now + timedelta(seconds=self.settings.delivery_lease_s)
        async with self.sessionmaker() as session, session.begin():
            due = (
                (
                    await session.execute(
                        select(OutgoingEmail)
                        .where(
                            OutgoingEmail.status == "pending",
                            OutgoingEmail.next_attempt_at <= now,
                        )
                        .where(
                            (OutgoingEmail.lease_expires_at.is_(None))
                            | (OutgoingEmail.lease_expires_at <= now)
                        )
                        .order_by(OutgoingEmail.next_attempt_at)
                        .limit(self.settings.dispatcher_batch_size)
                        .with_for_update(skip_locked=True)
                    )
                )
                .scalars()
                .all()
            )
            for mail in due:
                mail.lease_expires_at = lease_until
        for mail in due:
            error: str | None = None
            try:
                if mail.to_org_admins is not None:
                    await self._expand_to_org_admins(mail)
                    EMAILS.labels(outcome="expanded").inc()
                    continue
                assert mail.to_address is not None  # the row's check constraint: one recipient
                await self.mailer.send(
                    to=mail.to_address,
                    subject=mail.subject,
                    body=mail.body,
                    message_key=str(mail.id),
                )
            except Exception as exc:  # any SMTP or network failure: retry later
                error = f"{type(exc).__name__}: {exc}"[:300]
            if error is None:
                EMAILS.labels(outcome="sent").inc()
            else:
                EMAILS.labels(outcome="error").inc()
            async with self.sessionmaker() as session, session.begin():
                row = await session.get(OutgoingEmail, mail.id, with_for_update=True)
                if row is None:
                    continue
                _record_mail_attempt(
                    row, error, self.runtime.now(), self.settings.mail_max_attempts
                )
        return len(due)

    async def _expand_to_org_admins(self, mail: OutgoingEmail) -> None:
        """Turn "the administrators of org X" into one pending row per address, atomically.

        The directory is asked outside any transaction; the new rows and the end of the expansion
        row commit together, so a crash in between only repeats the question. An address that
        already has a row for this event (an admin who saved it in their preferences) is skipped
        by the (event, address) unique constraint; an admin who switched this type off is not
        mailed.
        """
        assert mail.to_org_admins is not None
        assert mail.event_id is not None
        contacts = await self.admins.admin_contacts(mail.to_org_admins)
        async with self.sessionmaker() as session, session.begin():
            row = await session.get(OutgoingEmail, mail.id, with_for_update=True)
            event = await session.get(Event, mail.event_id)
            if row is None or row.status != "pending" or event is None:
                return
            inbox = InboxRepository(session)
            preferences = await inbox.preferences_by_user([c.user_id for c in contacts])
            now = self.runtime.now()
            rows = []
            for contact in contacts:
                if not wants(preferences.get(contact.user_id, []), event.type, "email"):
                    continue
                locale = contact.locale if contact.locale in {"ja", "en"} else "ja"
                rendered = render_event_mail(event, locale, self.settings.public_base_url)
                rows.append(
                    {
                        "id": self.runtime.new_id(),
                        "event_id": event.id,
                        "user_id": contact.user_id,
                        "to_address": contact.email.lower(),
                        "to_org_admins": None,
                        "locale": locale,
                        "subject": rendered.subject,
                        "body": rendered.body,
                        "status": "pending",
                        "attempt_count": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                    }
                )
            await inbox.add_emails(rows)
            row.status, row.sent_at, row.lease_expires_at = "expanded", now, None
            row.attempt_count += 1

    # -- partner inbound forwarding ---------------------------------------------------------------
    async def forward_due_inbound(self) -> int:
        now = self.runtime.now()
        lease_until = now + timedelta(seconds=self.settings.delivery_lease_s)
        async with self.sessionmaker() as session, session.begin():
            due = (
                (
                    await session.execute(
                        select(InboundMessage)
                        .where(
                            InboundMessage.status == "received",
                            InboundMessage.next_attempt_at <= now,
                        )
                        .where(
                            (InboundMessage.lease_expires_at.is_(None))
                            | (InboundMessage.lease_expires_at <= now)
                        )
                        .order_by(InboundMessage.next_attempt_at)
                        .limit(self.settings.dispatcher_batch_size)
                        .with_for_update(skip_locked=True)
                    )
                )
                .scalars()
                .all()
            )
            for message in due:
                message.lease_expires_at = lease_until
        for message in due:
            assert message.trade_id is not None
            outcome = await self.forms.import_shipping_instructions(
                trade_id=message.trade_id,
                org_id=message.org_id,
                payload=message.payload,
                idempotency_key=str(message.id),
            )
            INBOUND_FORWARDS.labels(
                outcome="forwarded"
                if outcome.accepted
                else ("retry" if outcome.retryable else "rejected")
            ).inc()
            async with self.sessionmaker() as session, session.begin():
                row = await session.get(InboundMessage, message.id, with_for_update=True)
                if row is None or row.status != "received":
                    continue
                row.attempt_count += 1
                row.lease_expires_at = None
                done_at = self.runtime.now()
                row.status_detail = outcome.detail[:500]
                if outcome.accepted:
                    row.status, row.processed_at = "forwarded", done_at
                elif not outcome.retryable:
                    row.status, row.processed_at = "rejected", done_at
                elif row.attempt_count >= self.settings.mail_max_attempts:
                    row.status, row.processed_at = "failed", done_at
                else:
                    row.next_attempt_at = done_at + timedelta(
                        seconds=min(30 * 2**row.attempt_count, 6 * 3600)
                    )
        return len(due)


@dataclass
class DispatcherHandle:
    dispatcher: Dispatcher
    task: asyncio.Task[None] | None = field(default=None)


def _record_mail_attempt(
    row: OutgoingEmail, error: str | None, done_at: datetime, max_attempts: int
) -> None:
    row.attempt_count += 1
    row.lease_expires_at = None
    if error is None:
        row.status, row.sent_at = "sent", done_at
    elif row.attempt_count >= max_attempts:
        row.status, row.last_error = "failed", error
    else:
        row.last_error = error
        row.next_attempt_at = done_at + timedelta(seconds=min(30 * 2**row.attempt_count, 6 * 3600))
