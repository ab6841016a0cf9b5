"""Output messages NACCS delivers later: fetched from the channel, stored once, decoded and applied.

The channel's sequence number is the inbox key (unique), and the cursor moves in the same transaction
as the message is stored and applied, so a crash re-fetches at most what was not yet committed and a
re-fetched message is a no-op.

Applied: a permit notice (出力情報コード in ``permit_output_codes``) marks the declaration's forms
permitted and emits ``naccs.permit`` with the customs status (``services.permits``: once per
declaration, so a notice arriving after an inquiry already showed the permit emits nothing); a result
notice for one of our sends (file route) is applied to that send like a reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from naccs_bridge.clients.naccs import ChannelUnreachable, DeliveredMessage, NaccsChannel
from naccs_bridge.db.models import (
    ChannelCursorRow,
    NaccsSendRow,
    OutputMessageRow,
)
from naccs_bridge.domain import customs_status
from naccs_bridge.domain.errors import TelegramError
from naccs_bridge.domain.telegram import ChannelSettings, parse_output_telegram, parse_result_notice
from naccs_bridge.sending.queue import record_result
from naccs_bridge.services.permits import apply_permit
from shared.db import make_sessionmaker

log = structlog.get_logger("naccs_bridge.outputs")
CURSOR_NAME = "naccs"


async def ingest(
    session: AsyncSession,
    *,
    raw: bytes,
    source_seq: int | None,
    naccs_user_id: str,
    charset: str,
    permit_codes: Mapping[str, str],
    now: datetime,
) -> OutputMessageRow | None:
    """Store one output telegram and apply it, in the caller's transaction; None if already stored."""
    channel = ChannelSettings(charset=charset)
    message_id = uuid.uuid4()
    try:
        telegram = parse_output_telegram(raw, channel)
    except TelegramError as exc:
        header_fields: dict[str, Any] = {
            "business_code": "",
            "output_info_code": "",
            "message_kind": "",
            "input_id_no": "",
            "subject": "",
        }
        decoded: dict[str, Any] = {"error": str(exc)}
        applied = "unreadable"
    else:
        header = telegram.header
        header_fields = {
            "business_code": header.business_code,
            "output_info_code": header.output_info_code,
            "message_kind": str(header.message_kind),
            "input_id_no": header.input_id_no,
            "subject": header.subject,
        }
        decoded = {"header": header.model_dump(mode="json"), "lines": list(telegram.lines)}
        applied = "unmatched"
    inserted = await session.scalar(
        insert(OutputMessageRow)
        .values(
            id=message_id,
            source_seq=source_seq,
            naccs_user_id=naccs_user_id[:8],
            raw=raw,
            decoded=decoded,
            applied=applied,
            received_at=now,
            **{k: str(v)[:64] for k, v in header_fields.items()},
        )
        .on_conflict_do_nothing(index_elements=["source_seq"])
        .returning(OutputMessageRow.id)
    )
    if inserted is None:
        return None
    row = await session.get(OutputMessageRow, message_id)
    assert row is not None
    if applied == "unreadable":
        return row
    direction = permit_codes.get(row.output_info_code)
    if direction is not None:
        await _apply_permit(session, row, direction, decoded["lines"], now)
    elif row.output_info_code.startswith("*"):
        await _apply_result(session, row, raw, charset, now)
    return row


async def _apply_permit(
    session: AsyncSession, row: OutputMessageRow, direction: str, lines: list[str], now: datetime
) -> None:
    update = customs_status.from_permit(
        direction,
        row.subject.strip(),
        lines,
        business_code=row.business_code,
        output_info_code=row.output_info_code,
        at=now,
    )
    forms = await apply_permit(
        session, direction=direction, update=update, now=now, output_message_id=row.id
    )
    if not forms:
        return
    row.applied = "permit"
    row.trade_id = forms[0].trade_id
    row.form_id = forms[0].id


async def _apply_result(
    session: AsyncSession, row: OutputMessageRow, raw: bytes, charset: str, now: datetime
) -> None:
    send = await session.scalar(
        select(NaccsSendRow).where(NaccsSendRow.input_id_no == row.input_id_no).with_for_update()
    )
    if send is None or send.status not in ("sending", "sent"):
        return
    try:
        parse_result_notice(raw, ChannelSettings(charset=charset))
    except TelegramError:
        return
    if send.status == "sending":
        send.status = "sent"
        send.reply = raw
        send.sent_at = now
        send.claim_token = None
    await record_result(session, send, charset=charset, now=now)
    row.applied = "result"
    row.trade_id = send.trade_id
    row.form_id = send.form_id


class OutputPoller:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        channel: NaccsChannel,
        charset: str,
        permit_codes: Mapping[str, str],
        clock: Callable[[], datetime],
        poll_interval_s: float = 2.0,
    ) -> None:
        self.sessionmaker = make_sessionmaker(engine)
        self.channel = channel
        self.charset = charset
        self.permit_codes = dict(permit_codes)
        self.clock = clock
        self.poll_interval_s = poll_interval_s
        self._stopping = asyncio.Event()

    async def position(self) -> int:
        async with self.sessionmaker() as session:
            value = await session.scalar(
                select(ChannelCursorRow.position).where(ChannelCursorRow.name == CURSOR_NAME)
            )
        return int(value or 0)

    async def poll_once(self) -> int:
        """Fetch what is new and apply it; the number of messages stored."""
        try:
            messages = await self.channel.fetch_outbox(after=await self.position())
        except ChannelUnreachable as exc:
            log.info("naccs_outbox_unreachable", error=str(exc))
            return 0
        stored = 0
        for message in messages:
            stored += await self._take(message)
        return stored

    async def _take(self, message: DeliveredMessage) -> bool:
        async with self.sessionmaker() as session, session.begin():
            row = await ingest(
                session,
                raw=message.raw,
                source_seq=message.seq,
                naccs_user_id=message.naccs_user_id,
                charset=self.charset,
                permit_codes=self.permit_codes,
                now=self.clock(),
            )
            await session.execute(
                insert(ChannelCursorRow)
                .values(name=CURSOR_NAME, position=message.seq)
                .on_conflict_do_update(
                    index_elements=[ChannelCursorRow.name],
                    set_={"position": message.seq},
                    where=ChannelCursorRow.position < message.seq,
                )
            )
        return row is not None

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                while await self.poll_once():
                    pass
            except Exception:
                log.exception("naccs_outbox_pass_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.poll_interval_s)
