"""Queueing a NACCS form for sending, cancelling, and how a send looks from outside."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from naccs_bridge.clients.identity import NaccsCredentials
from naccs_bridge.db.models import NaccsFormRow, NaccsSendRow, input_id_sequence
from naccs_bridge.domain.errors import ItemValueError, RepeatOverflow
from naccs_bridge.domain.prefill import NaccsForm
from naccs_bridge.domain.telegram import ChannelSettings, encode_body
from naccs_bridge.schemas import InquiryAnswer, SendResult, SendView
from naccs_bridge.sending.queue import IN_FLIGHT_STATES
from naccs_bridge.services.naccs_forms import field_map_for, result_views
from shared.errors import AppError, Conflict, InvalidInput, field_error


class NotReadyToSend(AppError):
    status_code = 422
    code = "naccs_form_not_ready"
    title = "The NACCS form is not ready to send"


class NoNaccsUser(AppError):
    status_code = 409
    code = "naccs_user_not_linked"
    title = "You have no linked NACCS 利用者ID"


class SendNotCancellable(Conflict):
    code = "naccs_send_not_cancellable"
    title = "Only a queued send can be cancelled"


def check_ready(form: NaccsForm) -> None:
    errors = [
        field_error(["items", item.entry_key], "a person must enter this item", kind="pending")
        for item in form.pending_for_person
    ]
    errors += [
        field_error(
            [
                "items",
                issue.item_key
                if issue.group is None
                else f"{issue.group}.{issue.index}.{issue.item_key}",
            ],
            issue.message,
            kind="naccs_item",
        )
        for issue in form.issues
        if issue.severity == "error"
    ]
    if errors:
        raise NotReadyToSend(f"{len(errors)} item(s) must be completed first", errors=errors)


async def enqueue(
    session: AsyncSession,
    *,
    form_row: NaccsFormRow,
    form: NaccsForm,
    org_id: str,
    user_subject: str,
    credentials: NaccsCredentials | None,
    charset: str,
    now: datetime,
) -> NaccsSendRow:
    # Two sends of one form at once: the second waits here, then sees the first and is refused.
    await session.refresh(form_row, with_for_update=True)
    if form_row.status in ("queued", "sending"):
        raise Conflict(f"The form is already {form_row.status}")
    check_ready(form)
    if credentials is None:
        raise NoNaccsUser("Ask your company administrator to link your NACCS 利用者情報")
    pending = await session.scalar(
        select(NaccsSendRow.id).where(
            NaccsSendRow.form_id == form_row.id, NaccsSendRow.status.in_(IN_FLIGHT_STATES)
        )
    )
    if pending is not None:
        raise Conflict(
            f"This form is already being sent ({pending})", extra={"send_id": str(pending)}
        )
    try:
        body = encode_body(
            field_map_for(form_row.code),
            form.values(),
            ChannelSettings(charset=charset),
        )
    except (ItemValueError, RepeatOverflow) as exc:
        raise InvalidInput(str(exc)) from exc
    number = await session.scalar(select(input_id_sequence.next_value()))
    send_id = uuid.uuid4()
    row = NaccsSendRow(
        id=send_id,
        form_id=form_row.id,
        trade_id=form_row.trade_id,
        code=form_row.code,
        org_id=org_id,
        user_subject=user_subject,
        naccs_user_id=credentials.naccs_user_id,
        input_id_no=f"{number:010d}",
        handover_info=send_id.hex[:26].upper(),  # 電文引継情報: echoed back, names the send
        body=body,
        status="queued",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    form_row.status = "queued"
    form_row.updated_at = now
    await session.flush()
    return row


async def cancel(session: AsyncSession, send: NaccsSendRow, now: datetime) -> None:
    result = await session.execute(
        update(NaccsSendRow)
        .where(NaccsSendRow.id == send.id, NaccsSendRow.status == "queued")
        .values(status="cancelled", finished_at=now)
    )
    if not getattr(result, "rowcount", 0):
        raise SendNotCancellable(f"This send is {send.status}; it can no longer be cancelled")
    form = await session.get(NaccsFormRow, send.form_id)
    if form is not None:
        form.status = "draft"
        form.updated_at = now
    await session.refresh(send)


def send_view(row: NaccsSendRow) -> SendView:
    result = None
    if row.result is not None:
        inquiry = row.result.get("inquiry")
        result = SendResult(
            accepted=bool(row.result.get("accepted")),
            reference_no=row.result.get("reference_no"),
            results=result_views(list(row.result.get("results", []))),
            inquiry=InquiryAnswer.model_validate(inquiry) if inquiry is not None else None,
        )
    return SendView(
        id=row.id,
        form_id=row.form_id,
        trade_id=row.trade_id,
        code=row.code,
        status=row.status,
        input_id_no=row.input_id_no,
        naccs_user_id=row.naccs_user_id,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        created_at=row.created_at,
        sent_at=row.sent_at,
        finished_at=row.finished_at,
        result=result,
    )
