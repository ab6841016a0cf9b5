"""Attachments of a form: stored in PostgreSQL (``bytea``), in a table apart from the documents.

Why the database and not a file store: an attachment and its metadata commit or roll back together
with the request (no orphaned files, no dangling rows), every replica sees it without a shared volume,
and backups cover it. Why a table of its own: document reads and attachment listings never touch the
bytes. The size limit (``FORMS_ATTACHMENT_MAX_BYTES``, 10 MiB by default) keeps this sound; larger
files would belong in an object store.

The declared ``Content-Type`` is never trusted alone: the first bytes decide what the file is, and
the two must agree.
"""

from __future__ import annotations

import hashlib
import io
import uuid
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from forms.clients.trades import TradesClient
from forms.db import repositories as repo
from forms.db.models import FormAttachment, FormDocument
from forms.services import documents
from forms.services.access import require_write
from forms.services.context import Caller
from forms.services.errors import (
    AttachmentEmpty,
    AttachmentNotFound,
    AttachmentTooLarge,
    AttachmentTypeRefused,
)

PDF: Final = "application/pdf"
PNG: Final = "image/png"
JPEG: Final = "image/jpeg"
CSV: Final = "text/csv"
TEXT: Final = "text/plain"
XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ACCEPTED: Final = (PDF, PNG, JPEG, CSV, TEXT, XLSX)
# Japanese partners still send Shift_JIS (CP932) CSVs; text must decode in one of these.
TEXT_ENCODINGS: Final = ("utf-8", "cp932")


def sniff(content: bytes, declared: str) -> str | None:
    """The accepted type the bytes show, or None. Text has no signature, so a text file is what it
    declares (CSV or plain) provided it decodes and holds no control bytes."""
    if content.startswith(b"%PDF-"):
        return PDF
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if content.startswith(b"\xff\xd8\xff"):
        return JPEG
    if content.startswith(b"PK\x03\x04"):
        return XLSX if _is_xlsx(content) else None
    if declared in (CSV, TEXT) and _is_text(content):
        return declared
    return None


def _is_xlsx(content: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile:
        return False
    return "[Content_Types].xml" in names and any(name.startswith("xl/") for name in names)


def _is_text(content: bytes) -> bool:
    if b"\x00" in content:
        return False
    for encoding in TEXT_ENCODINGS:
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        return all(char.isprintable() or char in "\t\r\n" for char in text.lstrip("\ufeff"))
    return False


def media_type(header: str | None) -> str:
    return (header or "").split(";", 1)[0].strip().lower()


async def read_limited(chunks: AsyncIterator[bytes], *, limit: int) -> bytes:
    """The body, refused as soon as it grows past the limit (never buffered beyond it)."""
    buffer = bytearray()
    async for chunk in chunks:
        buffer.extend(chunk)
        if len(buffer) > limit:
            raise AttachmentTooLarge(f"Attachments may be at most {limit} bytes")
    return bytes(buffer)


@dataclass(frozen=True)
class Download:
    attachment: FormAttachment
    content: bytes


async def writable_form(
    session: AsyncSession, trades: TradesClient, caller: Caller, *, form_id: uuid.UUID
) -> FormDocument:
    """Checked before the body is read: a caller who may not attach never makes us buffer a file."""
    view = await documents.get_form(session, trades, caller, form_id)
    require_write(caller, view.form.form_code, form_id=form_id)
    return view.form


async def add_attachment(
    session: AsyncSession,
    caller: Caller,
    *,
    form: FormDocument,
    file_name: str,
    declared_type: str,
    content: bytes,
) -> FormAttachment:
    if not content:
        raise AttachmentEmpty("The request body is empty")
    if declared_type not in ACCEPTED:
        raise AttachmentTypeRefused(
            f"{declared_type or 'no Content-Type'} is not accepted; send one of {', '.join(ACCEPTED)}"
        )
    actual = sniff(content, declared_type)
    if actual != declared_type:
        raise AttachmentTypeRefused(
            f"The file is declared {declared_type} but its content is "
            f"{actual or 'not an accepted type'}"
        )
    return await repo.add_attachment(
        session,
        FormAttachment(
            id=caller.new_id(),
            form_id=form.id,
            file_name=file_name,
            content_type=actual,
            size_bytes=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            created_at=caller.clock(),
            created_by_org_id=caller.org_id,
            created_by_user_id=caller.user_id,
        ),
        content,
    )


async def list_attachments(
    session: AsyncSession, trades: TradesClient, caller: Caller, *, form_id: uuid.UUID
) -> list[FormAttachment]:
    await documents.get_form(session, trades, caller, form_id)
    return await repo.list_attachments(session, form_id)


async def download(
    session: AsyncSession,
    trades: TradesClient,
    caller: Caller,
    *,
    form_id: uuid.UUID,
    attachment_id: uuid.UUID,
) -> Download:
    await documents.get_form(session, trades, caller, form_id)
    attachment = await repo.get_attachment(session, form_id, attachment_id)
    content = await repo.get_attachment_content(session, attachment_id) if attachment else None
    if attachment is None or content is None:
        raise AttachmentNotFound(f"No attachment {attachment_id} on form {form_id}")
    return Download(attachment, content)
