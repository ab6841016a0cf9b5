"""The send queue: every telegram reaches NACCS at most once, one at a time per 利用者ID.

States of ``naccs_send`` (each change its own short transaction, so a crash leaves a readable state):

* ``queued``  → waiting; due at ``next_attempt_at``. The user may cancel it.
* ``sending`` → claimed by a worker, which then calls NACCS. At most one row per 利用者ID is in this
  state: a partial unique index says so, and claimers take a per-利用者ID advisory lock so they skip
  rather than collide.
* ``sent``    → NACCS's reply is stored; applying it to the form is all that is left.
* ``result_stored`` → applied: form status, result codes on their items, usage ledger, ``naccs.result``
  (with the customs status it shows; an inquiry's decoded answer is kept with the send).
* ``failed`` / ``cancelled`` → final, nothing (more) reached NACCS.

Never sending twice: the worker only calls NACCS from ``sending``. If NACCS was not reached (connection
refused) the row goes back to ``queued`` with backoff. If the outcome is unknown (timeout, crash of this
process mid-call), the row stays in ``sending`` until its lease expires; then :meth:`SendQueue.recover`
asks NACCS for the reply to its 入力情報特定番号: a reply means it was received (store and apply it, do
not send again); none means it never arrived (queue it again). The lease is longer than the channel's
timeout, so the original call is over when we ask.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from naccs_bridge.clients.identity import CredentialsProvider
from naccs_bridge.clients.naccs import ChannelAmbiguous, ChannelUnreachable, NaccsChannel
from naccs_bridge.db.models import NaccsFormRow, NaccsSendRow, UsageRow, outbox_table
from naccs_bridge.domain import customs_status
from naccs_bridge.domain.errors import TelegramError
from naccs_bridge.domain.loading import load_catalogue
from naccs_bridge.domain.specs import CodeKind
from naccs_bridge.domain.telegram import (
    HEADER_LINE,
    ChannelSettings,
    InputHeader,
    encode_input_header,
    parse_result_notice,
)
from naccs_bridge.sending.metrics import SEND_ATTEMPTS, count_result_when_committed
from naccs_bridge.services.naccs_forms import apply_notice
from naccs_bridge.services.permits import apply_permit
from shared.db import make_sessionmaker
from shared.outbox import add_event

log = structlog.get_logger("naccs_bridge.sending")

Clock = Callable[[], datetime]
IN_FLIGHT_STATES = ("queued", "sending", "sent")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ClaimedSend:
    id: uuid.UUID
    claim_token: uuid.UUID
    code: str
    naccs_user_id: str
    user_subject: str
    input_id_no: str
    handover_info: str
    body: bytes


def user_lock_key(naccs_user_id: str) -> Any:
    return func.hashtextextended("naccs-user:" + naccs_user_id, 0)


async def record_result(
    session: AsyncSession, send: NaccsSendRow, *, charset: str, now: datetime
) -> None:
    """Apply a stored reply (status ``sent``) in the caller's transaction: form, ledger, event."""
    form = await session.get(NaccsFormRow, send.form_id, with_for_update=True)
    assert form is not None
    assert send.reply is not None
    try:
        notice = parse_result_notice(send.reply, ChannelSettings(charset=charset))
    except TelegramError as exc:
        send.status = "failed"
        send.last_error = f"NACCS's reply cannot be read: {exc}"
        send.finished_at = now
        form.status = "failed"
        form.updated_at = now
        outcome = "unreadable"
        payload: dict[str, Any] = {"accepted": False, "error": send.last_error}
    else:
        mapped = apply_notice(form, notice, now)
        send.status = "result_stored"
        send.finished_at = now
        outcome = (
            "rejected" if not notice.accepted else "warning" if notice.warnings else "accepted"
        )
        inquiry = is_inquiry(send.code)
        updates = (
            customs_status.from_inquiry(send.code, notice, now)
            if inquiry
            else customs_status.from_result(send.code, notice, now)
        )
        send.result = {
            "accepted": notice.accepted,
            "reference_no": notice.reference_no,
            "results": [m.model_dump(mode="json") for m in mapped],
        }
        payload = {
            "accepted": notice.accepted,
            "reference_no": notice.reference_no,
            "result_codes": [c.raw for c in notice.codes],
            "customs_status": customs_status.as_payload(updates),
            "summary": customs_status.result_summary(
                send.code,
                inquiry=inquiry,
                outcome=outcome,
                updates=updates,
                lines=list(notice.extra_lines),
            ),
        }
        if inquiry:
            # The decoded answer is kept with the send (and shown with it) whatever it says.
            answer = {
                "output_info_code": notice.header.output_info_code,
                "message_kind": str(notice.header.message_kind),
                "reference_no": notice.reference_no,
                "lines": list(notice.extra_lines),
                "customs_status": customs_status.as_payload(updates),
            }
            send.result["inquiry"] = answer
            payload["kind"] = "inquiry"
            payload["inquiry"] = answer
            await _apply_inquired_permits(session, send, updates, now)
    session.add(
        UsageRow(
            id=uuid.uuid4(),
            send_id=send.id,
            org_id=send.org_id,
            user_subject=send.user_subject,
            naccs_user_id=send.naccs_user_id,
            code=send.code,
            occurred_at=send.sent_at or now,
            result=outcome,
        )
    )
    await add_event(
        session,
        table=outbox_table,
        topic="naccs.result",
        version=1,
        payload={
            "send_id": str(send.id),
            "form_id": str(send.form_id),
            "code": send.code,
            "input_id_no": send.input_id_no,
            "outcome": outcome,
            **payload,
        },
        trade_id=send.trade_id,
        event_id=uuid.uuid4(),
        occurred_at=now,
    )
    count_result_when_committed(
        session, code=send.code, outcome=outcome, result_codes=payload.get("result_codes", ())
    )


def is_inquiry(code: str) -> bool:
    entry = load_catalogue().get(code)
    return entry is not None and entry.kind is CodeKind.INQUIRY


async def _apply_inquired_permits(
    session: AsyncSession,
    send: NaccsSendRow,
    updates: list[customs_status.StatusUpdate],
    now: datetime,
) -> None:
    """An inquiry showing a permit the bridge has not seen (the notice is late or was lost) applies
    it as the notice would: the trade's declaration forms, once (``services.permits``)."""
    for status in updates:
        direction = customs_status.PERMIT_DIRECTIONS.get(status.procedure)
        if status.state is customs_status.State.PERMITTED and direction is not None:
            await apply_permit(
                session, direction=direction, update=status, now=now, trade_id=send.trade_id
            )


class SendQueue:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        channel: NaccsChannel,
        credentials: CredentialsProvider,
        charset: str = "shift_jis",
        clock: Clock = utcnow,
        lease: timedelta = timedelta(seconds=60),
        backoff_base_s: float = 2.0,
        backoff_cap_s: float = 300.0,
        poll_interval_s: float = 1.0,
        concurrency: int = 16,
        token_factory: Callable[[], uuid.UUID] = uuid.uuid4,
        rng: random.Random | None = None,
    ) -> None:
        self.sessionmaker = make_sessionmaker(engine)
        self.channel = channel
        self.credentials = credentials
        self.charset = charset
        self.clock = clock
        self.lease = lease
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.poll_interval_s = poll_interval_s
        self.concurrency = max(1, concurrency)  # sends in flight, each of a different 利用者ID
        self.token_factory = token_factory
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    def backoff(self, attempts: int) -> timedelta:
        delay = min(self.backoff_cap_s, self.backoff_base_s * 2 ** max(0, attempts - 1))
        return timedelta(seconds=delay * self.rng.uniform(0.5, 1.0))

    # ------------------------------------------------------------------------------ claiming

    async def claim(self) -> ClaimedSend | None:
        """Move the oldest due ``queued`` row of a 利用者ID with nothing in flight to ``sending``."""
        now = self.clock()
        async with self.sessionmaker() as session, session.begin():
            # The oldest due row of each 利用者ID, read without locks: rows are locked one by one below,
            # so concurrent workers spread over 利用者IDs instead of skipping a whole locked batch.
            candidates = (
                await session.execute(
                    select(NaccsSendRow.id, NaccsSendRow.naccs_user_id)
                    .where(NaccsSendRow.status == "queued", NaccsSendRow.next_attempt_at <= now)
                    .order_by(NaccsSendRow.naccs_user_id, NaccsSendRow.created_at, NaccsSendRow.id)
                    .distinct(NaccsSendRow.naccs_user_id)
                    .limit(50)
                )
            ).all()
            for candidate_id, user_id in candidates:
                locked = await session.scalar(
                    select(func.pg_try_advisory_xact_lock(user_lock_key(user_id)))
                )
                if not locked:
                    continue  # another worker is claiming for this 利用者ID right now
                in_flight = await session.scalar(
                    select(
                        exists().where(
                            NaccsSendRow.naccs_user_id == user_id, NaccsSendRow.status == "sending"
                        )
                    )
                )
                if in_flight:
                    continue
                row = await session.scalar(
                    select(NaccsSendRow)
                    .where(NaccsSendRow.id == candidate_id, NaccsSendRow.status == "queued")
                    .with_for_update(skip_locked=True)
                )
                if row is None:
                    continue  # cancelled or taken since we looked
                token = self.token_factory()
                row.status = "sending"
                row.claim_token = token
                row.claimed_at = now
                row.attempts += 1
                form = await session.get(NaccsFormRow, row.form_id)
                if form is not None:
                    form.status = "sending"
                return ClaimedSend(
                    id=row.id,
                    claim_token=token,
                    code=row.code,
                    naccs_user_id=row.naccs_user_id,
                    user_subject=row.user_subject,
                    input_id_no=row.input_id_no,
                    handover_info=row.handover_info,
                    body=row.body,
                )
        return None

    # ------------------------------------------------------------------------------ sending

    async def send(self, claimed: ClaimedSend) -> str:
        """Call NACCS for a claimed row; the state it ends in."""
        try:
            credentials = await self.credentials.credentials_for(claimed.user_subject)
        except Exception as exc:  # identity unavailable: nothing was sent, try later
            return await self._requeue(claimed, f"credentials unavailable: {exc!r}")
        if credentials is None or credentials.naccs_user_id != claimed.naccs_user_id:
            return await self._fail(claimed, "the sender's NACCS 利用者ID is no longer linked")
        try:
            header = InputHeader(
                business_code=claimed.code,
                user_code=credentials.user_code,
                identification_no=credentials.identification_no,
                password=credentials.password.get_secret_value(),
                handover_info=claimed.handover_info,
                input_id_no=claimed.input_id_no,
            )
            telegram = encode_input_header(header, HEADER_LINE + len(claimed.body)) + claimed.body
        except (ValidationError, TelegramError) as exc:
            # Permanent until someone fixes the link (e.g. a password longer than NACCS's 8 bytes);
            # the message names the field, never the value.
            fields = (
                ", ".join(str(e["loc"][0]) for e in exc.errors())
                if isinstance(exc, ValidationError)
                else str(exc)
            )
            return await self._fail(
                claimed, f"the linked NACCS credentials cannot be sent: {fields}"
            )
        try:
            reply = await self.channel.send(telegram)
        except ChannelUnreachable as exc:
            return await self._requeue(claimed, f"NACCS unreachable: {exc}")
        except ChannelAmbiguous as exc:
            await self._note(claimed, f"outcome unknown, will ask NACCS: {exc}")
            return "sending"
        if not await self._store_reply(claimed.id, claimed.claim_token, reply):
            return "superseded"
        await self.apply(claimed.id)
        return "result_stored"

    async def _requeue(self, claimed: ClaimedSend, error: str) -> str:
        now = self.clock()
        async with self.sessionmaker() as session, session.begin():
            row = await session.get(NaccsSendRow, claimed.id, with_for_update=True)
            if row is None or row.status != "sending" or row.claim_token != claimed.claim_token:
                return "superseded"
            row.status = "queued"
            row.claim_token = None
            row.next_attempt_at = now + self.backoff(row.attempts)
            row.last_error = error[:2000]
            form = await session.get(NaccsFormRow, row.form_id)
            if form is not None:
                form.status = "queued"
        log.warning("naccs_send_requeued", send_id=str(claimed.id), error=error)
        return "queued"

    async def _fail(self, claimed: ClaimedSend, error: str) -> str:
        now = self.clock()
        async with self.sessionmaker() as session, session.begin():
            row = await session.get(NaccsSendRow, claimed.id, with_for_update=True)
            if row is None or row.claim_token != claimed.claim_token:
                return "superseded"
            row.status = "failed"
            row.claim_token = None
            row.last_error = error
            row.finished_at = now
            form = await session.get(NaccsFormRow, row.form_id)
            if form is not None:
                form.status = "draft"
        return "failed"

    async def _note(self, claimed: ClaimedSend, error: str) -> None:
        async with self.sessionmaker() as session, session.begin():
            await session.execute(
                update(NaccsSendRow)
                .where(
                    NaccsSendRow.id == claimed.id, NaccsSendRow.claim_token == claimed.claim_token
                )
                .values(last_error=error[:2000])
            )

    async def _store_reply(self, send_id: uuid.UUID, token: uuid.UUID, reply: bytes) -> bool:
        now = self.clock()
        async with self.sessionmaker() as session, session.begin():
            result = await session.execute(
                update(NaccsSendRow)
                .where(
                    and_(
                        NaccsSendRow.id == send_id,
                        NaccsSendRow.status == "sending",
                        NaccsSendRow.claim_token == token,
                    )
                )
                .values(status="sent", reply=reply, sent_at=now, claim_token=None)
            )
        return bool(getattr(result, "rowcount", 0))

    async def apply(self, send_id: uuid.UUID) -> bool:
        """Apply a ``sent`` row's reply; a no-op when someone else already did."""
        async with self.sessionmaker() as session, session.begin():
            row = await session.get(NaccsSendRow, send_id, with_for_update=True)
            if row is None or row.status != "sent":
                return False
            await record_result(session, row, charset=self.charset, now=self.clock())
        return True

    # ------------------------------------------------------------------------------ recovery

    async def recover(self) -> int:
        """Resolve rows whose sender died: ``sent`` rows are applied; ``sending`` rows older than the
        lease are settled by asking NACCS about their 入力情報特定番号 (never by sending blindly)."""
        now = self.clock()
        async with self.sessionmaker() as session:
            sent_ids = (
                await session.scalars(select(NaccsSendRow.id).where(NaccsSendRow.status == "sent"))
            ).all()
            stuck = (
                await session.execute(
                    select(
                        NaccsSendRow.id,
                        NaccsSendRow.claim_token,
                        NaccsSendRow.naccs_user_id,
                        NaccsSendRow.input_id_no,
                    ).where(
                        NaccsSendRow.status == "sending", NaccsSendRow.claimed_at < now - self.lease
                    )
                )
            ).all()
        resolved = 0
        for send_id in sent_ids:
            resolved += await self.apply(send_id)
        for send_id, token, user_id, input_id_no in stuck:
            try:
                reply = await self.channel.lookup(user_id, input_id_no)
            except ChannelUnreachable as exc:
                log.warning("naccs_reconcile_postponed", send_id=str(send_id), error=str(exc))
                continue
            if reply is not None:
                if await self._store_reply(send_id, token, reply):
                    await self.apply(send_id)
                    resolved += 1
                continue
            async with self.sessionmaker() as session, session.begin():
                result = await session.execute(
                    update(NaccsSendRow)
                    .where(
                        NaccsSendRow.id == send_id,
                        NaccsSendRow.status == "sending",
                        NaccsSendRow.claim_token == token,
                    )
                    .values(
                        status="queued",
                        claim_token=None,
                        next_attempt_at=now,
                        last_error="NACCS never received it; queued to send again",
                    )
                )
            resolved += bool(getattr(result, "rowcount", 0))
        return resolved

    # ------------------------------------------------------------------------------ running

    async def run_once(self) -> int:
        """Recover, then claim and send until nothing is due; the number of calls made to NACCS.

        Sends of different 利用者IDs run side by side (up to ``concurrency``); ``claim`` never takes a
        second row of a 利用者ID with one in flight, so NACCS still sees one telegram at a time per
        利用者ID. A send finishing, or ``wake()`` (a new send queued), makes it claim again at once.
        """
        await self.recover()
        calls = 0
        in_flight: set[asyncio.Task[str]] = set()
        try:
            while True:
                self._wake.clear()  # a wake from here on means: claim again
                while len(in_flight) < self.concurrency and not self._stopping.is_set():
                    claimed = await self.claim()
                    if claimed is None:
                        break
                    in_flight.add(asyncio.create_task(self.send(claimed)))
                if not in_flight:
                    return calls
                woken = asyncio.ensure_future(self._wake.wait())
                done, _ = await asyncio.wait(
                    {*in_flight, woken}, return_when=asyncio.FIRST_COMPLETED
                )
                woken.cancel()
                for task in done - {woken}:
                    in_flight.discard(task)
                    calls += 1
                    try:
                        SEND_ATTEMPTS.labels(task.result()).inc()
                    except Exception:
                        # The row stays ``sending``; recovery settles it once its lease expires.
                        log.exception("naccs_send_failed")
        finally:
            if in_flight:
                # Stopping or a failed claim: let the calls already made to NACCS finish and be
                # stored rather than leave them to recovery.
                for finishing in asyncio.as_completed(in_flight):
                    with contextlib.suppress(Exception):
                        SEND_ATTEMPTS.labels(await finishing).inc()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                await self.run_once()
            except Exception:
                log.exception("naccs_send_pass_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval_s)
