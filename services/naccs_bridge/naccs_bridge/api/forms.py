"""NACCS forms of a trade: prefill, entries, auto-fill report, sending, the file route, output messages."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from naccs_bridge.api.deps import ParticipantOrg, RuntimeDep
from naccs_bridge.db.models import NaccsFormRow, NaccsSendRow, OutputMessageRow
from naccs_bridge.domain.errors import TelegramError
from naccs_bridge.domain.prefill import NaccsForm
from naccs_bridge.domain.telegram import (
    HEADER_LINE,
    ChannelSettings,
    InputHeader,
    encode_body,
    encode_input_header,
    parse_result_notice,
)
from naccs_bridge.schemas import (
    AutofillView,
    NaccsFormEntries,
    NaccsFormPrefill,
    NaccsFormSummary,
    NaccsFormView,
    OutputMessageView,
    SendView,
)
from naccs_bridge.services import naccs_forms, sends
from naccs_bridge.services.outputs import ingest
from naccs_bridge.services.runtime import Runtime
from shared.auth import Principal, PrincipalDep, PrincipalKind
from shared.db import SessionDep
from shared.errors import AppError, Conflict, Forbidden, InvalidInput, NotFound

router = APIRouter(prefix="/api/v1/naccs/trades/{trade_id}", tags=["naccs forms"])
TELEGRAM_MEDIA_TYPE = "application/octet-stream"
LOCKED_STATES = ("queued", "sending")


class FormNotFound(NotFound):
    code = "naccs_form_not_found"
    title = "No NACCS form for this business code in this trade yet"


async def _form(session: SessionDep, trade_id: uuid.UUID, code: str) -> NaccsFormRow:
    naccs_forms.field_map_for(code)
    row = await naccs_forms.find_form(session, trade_id, code.upper())
    if row is None:
        raise FormNotFound(f"PUT /api/v1/naccs/trades/{trade_id}/forms/{code.upper()} creates it")
    return row


async def _compute(
    session: SessionDep, runtime: Runtime, row: NaccsFormRow, org_id: str, principal: Principal
) -> NaccsForm:
    declarant: str | None = None
    if principal.kind is PrincipalKind.USER:
        try:
            credentials = await runtime.credentials.credentials_for(principal.subject)
        except AppError:
            credentials = None  # identity unavailable: the item shows as pending, nothing breaks
        declarant = credentials.user_code if credentials else None
    return await naccs_forms.compute(
        session,
        row,
        org_id=org_id,
        today=runtime.clock().date(),
        charset=runtime.settings.naccs_charset,
        declarant_user_code=declarant,
    )


@router.get("/forms", summary="The trade's NACCS forms")
async def list_forms(
    trade_id: uuid.UUID, org_id: ParticipantOrg, session: SessionDep
) -> list[NaccsFormSummary]:
    rows = (
        await session.scalars(
            select(NaccsFormRow)
            .where(NaccsFormRow.trade_id == trade_id)
            .order_by(NaccsFormRow.code)
        )
    ).all()
    return [
        NaccsFormSummary(
            id=r.id,
            code=r.code,
            status=r.status,
            reference_no=r.reference_no,
            updated_at=r.updated_at,
        )
        for r in rows
    ]


@router.put(
    "/forms/{code}",
    summary="Create or refresh the NACCS form of a business code, prefilled from the trade",
)
async def put_form(
    trade_id: uuid.UUID,
    code: str,
    body: NaccsFormPrefill,
    org_id: ParticipantOrg,
    principal: PrincipalDep,
    session: SessionDep,
    runtime: RuntimeDep,
    response: Response,
) -> NaccsFormView:
    code = naccs_forms.field_map_for(code).code
    now = runtime.clock()
    bundle = body.bundle
    if bundle is None:
        bundle = await runtime.forms.bundle_for(trade_id)
    if bundle is not None:
        bundle = await naccs_forms.with_trade_number(
            runtime, bundle, trade_id=trade_id, org_id=org_id
        )
    row = await naccs_forms.find_form(session, trade_id, code)
    if row is None:
        row = NaccsFormRow(
            id=uuid.uuid4(),
            trade_id=trade_id,
            code=code,
            created_by_org=org_id,
            status="draft",
            processing=body.processing or "new",
            bundle=bundle or {},
            entries=body.entries or {},
            last_results=[],
            version=1,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        response.status_code = 201
    else:
        if row.status in LOCKED_STATES:
            raise Conflict(f"The form is {row.status}; cancel the send to change it")
        if bundle is not None:
            row.bundle = bundle
        if body.entries is not None:
            row.entries = body.entries
        if body.processing is not None:
            row.processing = body.processing
        row.version += 1
        row.updated_at = now
    await session.flush()
    return naccs_forms.view(row, await _compute(session, runtime, row, org_id, principal))


@router.get(
    "/forms/{code}", summary="A NACCS form: each item's value, source, and what is left to enter"
)
async def get_form(
    trade_id: uuid.UUID,
    code: str,
    org_id: ParticipantOrg,
    principal: PrincipalDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> NaccsFormView:
    row = await _form(session, trade_id, code)
    return naccs_forms.view(row, await _compute(session, runtime, row, org_id, principal))


@router.patch("/forms/{code}/entries", summary="Enter (or clear) items a person decides")
async def patch_entries(
    trade_id: uuid.UUID,
    code: str,
    body: NaccsFormEntries,
    org_id: ParticipantOrg,
    principal: PrincipalDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> NaccsFormView:
    row = await _form(session, trade_id, code)
    if row.status in LOCKED_STATES:
        raise Conflict(f"The form is {row.status}; cancel the send to change it")
    entries = dict(row.entries)
    for key, value in body.entries.items():
        if value is None:
            entries.pop(key, None)
        else:
            entries[key] = value
    row.entries = entries
    row.version += 1
    row.updated_at = runtime.clock()
    await session.flush()
    return naccs_forms.view(row, await _compute(session, runtime, row, org_id, principal))


@router.get(
    "/forms/{code}/autofill", summary="How much of the form the bridge filled without a person"
)
async def get_autofill(
    trade_id: uuid.UUID,
    code: str,
    org_id: ParticipantOrg,
    principal: PrincipalDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> AutofillView:
    row = await _form(session, trade_id, code)
    return naccs_forms.view(row, await _compute(session, runtime, row, org_id, principal)).autofill


@router.post(
    "/forms/{code}/sends",
    status_code=202,
    summary="Queue the form for sending with your linked NACCS 利用者ID",
)
async def post_send(
    trade_id: uuid.UUID,
    code: str,
    org_id: ParticipantOrg,
    principal: PrincipalDep,
    session: SessionDep,
    runtime: RuntimeDep,
    request: Request,
) -> SendView:
    if principal.kind is not PrincipalKind.USER:
        raise Forbidden("Only a person sends to NACCS: NACCS charges the sending user")
    row = await _form(session, trade_id, code)
    if row.status in LOCKED_STATES:
        raise Conflict(f"The form is already {row.status}")
    form = await _compute(session, runtime, row, org_id, principal)
    credentials = await runtime.credentials.credentials_for(principal.subject)
    send = await sends.enqueue(
        session,
        form_row=row,
        form=form,
        org_id=org_id,
        user_subject=principal.subject,
        credentials=credentials,
        charset=runtime.settings.naccs_charset,
        now=runtime.clock(),
    )
    queue = getattr(request.app.state, "send_queue", None)
    if queue is not None:
        # Commit first: a worker woken before the commit finds nothing and sleeps a poll interval.
        await session.commit()
        queue.wake()
    return sends.send_view(send)


@router.get("/forms/{code}/sends", summary="Every send of this form, newest first")
async def list_sends(
    trade_id: uuid.UUID, code: str, org_id: ParticipantOrg, session: SessionDep
) -> list[SendView]:
    row = await _form(session, trade_id, code)
    rows = (
        await session.scalars(
            select(NaccsSendRow)
            .where(NaccsSendRow.form_id == row.id)
            .order_by(NaccsSendRow.created_at.desc())
        )
    ).all()
    return [sends.send_view(r) for r in rows]


@router.get(
    "/forms/{code}/telegram",
    summary="File route: the input telegram as a file for NACCS package software",
    response_class=Response,
    responses={200: {"content": {TELEGRAM_MEDIA_TYPE: {}}}},
)
async def download_telegram(
    trade_id: uuid.UUID,
    code: str,
    org_id: ParticipantOrg,
    principal: PrincipalDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    row = await _form(session, trade_id, code)
    form = await _compute(session, runtime, row, org_id, principal)
    sends.check_ready(form)
    credentials = await runtime.credentials.credentials_for(principal.subject)
    channel = ChannelSettings(charset=runtime.settings.naccs_charset)
    body = encode_body(naccs_forms.field_map_for(row.code), form.values(), channel)
    # No password in a file that leaves the system: whoever sends it logs on with their own. Without a
    # linked 利用者ID the header names none (zeros), and NACCS refuses it until one is filled in.
    header = InputHeader(
        business_code=row.code,
        user_code=credentials.user_code if credentials else "00000",
        identification_no=credentials.identification_no if credentials else "000",
        password="",
        handover_info=f"FILE-{row.id.hex[:21].upper()}",
    )
    telegram = encode_input_header(header, HEADER_LINE + len(body)) + body
    return Response(
        content=telegram,
        media_type=TELEGRAM_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{row.code}_{trade_id}.txt"'},
    )


@router.post(
    "/forms/{code}/result-files",
    summary="File route: upload the result telegram NACCS gave you, to apply it to the form",
    openapi_extra={
        "requestBody": {
            "content": {TELEGRAM_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}}
        }
    },
)
async def upload_result(
    trade_id: uuid.UUID,
    code: str,
    org_id: ParticipantOrg,
    principal: PrincipalDep,
    session: SessionDep,
    runtime: RuntimeDep,
    request: Request,
) -> NaccsFormView:
    row = await _form(session, trade_id, code)
    raw = await request.body()
    channel = ChannelSettings(charset=runtime.settings.naccs_charset)
    try:
        notice = parse_result_notice(raw, channel)
    except TelegramError as exc:
        raise InvalidInput(f"Not a NACCS result telegram: {exc}") from exc
    if notice.header.business_code != row.code:
        raise InvalidInput(f"This result is for {notice.header.business_code}, not {row.code}")
    now = runtime.clock()
    message = await ingest(
        session,
        raw=raw,
        source_seq=None,
        naccs_user_id=notice.header.user_code,
        charset=runtime.settings.naccs_charset,
        permit_codes={},
        now=now,
    )
    if message is not None:
        message.applied = "result_file"
        message.trade_id = trade_id
        message.form_id = row.id
    naccs_forms.apply_notice(row, notice, now)
    await session.flush()
    return naccs_forms.view(row, await _compute(session, runtime, row, org_id, principal))


@router.get("/output-messages", summary="Output messages NACCS delivered for this trade")
async def list_output_messages(
    trade_id: uuid.UUID, org_id: ParticipantOrg, session: SessionDep
) -> list[OutputMessageView]:
    rows = (
        await session.scalars(
            select(OutputMessageRow)
            .where(OutputMessageRow.trade_id == trade_id)
            .order_by(OutputMessageRow.received_at)
        )
    ).all()
    return [
        OutputMessageView(
            id=r.id,
            business_code=r.business_code,
            output_info_code=r.output_info_code,
            message_kind=r.message_kind,
            subject=r.subject,
            applied=r.applied,
            decoded=r.decoded,
            received_at=r.received_at,
        )
        for r in rows
    ]
