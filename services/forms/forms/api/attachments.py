"""Attachments of a form: upload the raw bytes, list, download."""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from forms.api.deps import CallerDep, SettingsDep, TradesDep
from forms.api.idempotent import idempotent
from forms.db.models import FormAttachment
from forms.schemas import AttachmentRead
from forms.services import attachments
from forms.services.errors import AttachmentTooLarge
from shared.db import SessionDep
from shared.errors import PROBLEM_SCHEMA

router = APIRouter(prefix="/api/v1/forms", tags=["form attachments"])


def attachment_read(attachment: FormAttachment) -> AttachmentRead:
    return AttachmentRead(
        id=attachment.id,
        form_id=attachment.form_id,
        file_name=attachment.file_name,
        content_type=attachment.content_type,
        size_bytes=attachment.size_bytes,
        sha256=attachment.sha256,
        created_at=attachment.created_at,
        created_by_org_id=attachment.created_by_org_id,
    )


@router.post(
    "/documents/{form_id}/attachments",
    status_code=201,
    response_model=AttachmentRead,
    responses={413: PROBLEM_SCHEMA, 415: PROBLEM_SCHEMA},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                t: {"schema": {"type": "string", "format": "binary"}} for t in attachments.ACCEPTED
            },
        }
    },
    summary="Attach a file to a form (the request body is the file)",
)
async def upload_attachment(
    form_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    caller: CallerDep,
    trades: TradesDep,
    settings: SettingsDep,
    file_name: Annotated[str, Query(min_length=1, max_length=255)],
) -> Response:
    """PDF, PNG, JPEG, CSV, XLSX or plain text, up to ``FORMS_ATTACHMENT_MAX_BYTES``. The
    ``Content-Type`` must match what the file's first bytes show (415 otherwise)."""
    limit = settings.attachment_max_bytes
    declared_length = request.headers.get("content-length")
    if declared_length and declared_length.isdigit() and int(declared_length) > limit:
        raise AttachmentTooLarge(f"Attachments may be at most {limit} bytes")
    form = await attachments.writable_form(session, trades, caller, form_id=form_id)
    content = await attachments.read_limited(request.stream(), limit=limit)

    async def run() -> JSONResponse:
        attachment = await attachments.add_attachment(
            session,
            caller,
            form=form,
            file_name=file_name,
            declared_type=attachments.media_type(request.headers.get("content-type")),
            content=content,
        )
        return JSONResponse(
            attachment_read(attachment).model_dump(mode="json"),
            status_code=201,
            headers={"Location": f"/api/v1/forms/documents/{form_id}/attachments/{attachment.id}"},
        )

    return await idempotent(
        request,
        session,
        caller,
        fingerprint_payload={
            "file_name": file_name,
            "sha256": hashlib.sha256(content).hexdigest(),
        },
        run=run,
    )


@router.get("/documents/{form_id}/attachments", summary="A form's attachments")
async def list_attachments(
    form_id: uuid.UUID, session: SessionDep, caller: CallerDep, trades: TradesDep
) -> list[AttachmentRead]:
    """Metadata only; download each by its id."""
    items = await attachments.list_attachments(session, trades, caller, form_id=form_id)
    return [attachment_read(a) for a in items]


@router.get(
    "/documents/{form_id}/attachments/{attachment_id}",
    response_class=Response,
    responses={200: {"content": {t: {} for t in attachments.ACCEPTED}}},
    summary="Download an attachment",
)
async def download_attachment(
    form_id: uuid.UUID,
    attachment_id: uuid.UUID,
    session: SessionDep,
    caller: CallerDep,
    trades: TradesDep,
) -> Response:
    """The stored bytes, with their checksum as ETag and in ``Repr-Digest``."""
    found = await attachments.download(
        session, trades, caller, form_id=form_id, attachment_id=attachment_id
    )
    attachment = found.attachment
    digest = hashlib.sha256(found.content).digest()

    return Response(
        content=found.content,
        media_type=attachment.content_type,
        headers={
            "ETag": f'"{attachment.sha256}"',
            "Repr-Digest": f"sha-256=:{base64.b64encode(digest).decode()}:",
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(attachment.file_name)}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
