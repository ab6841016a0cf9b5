"""Every query of the forms service. Repositories only ``flush()``; the unit of work commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from forms.db.models import (
    FormAttachment,
    FormAttachmentContent,
    FormDocument,
    FormTemplate,
    FormVersion,
    TradeSharedItems,
)


async def lock_shared_items(
    session: AsyncSession, trade_id: uuid.UUID, *, now: datetime
) -> TradeSharedItems:
    """The trade's root document, created empty on first use, locked until the commit.

    Every write in a trade goes through here first, so writers of one trade queue on one row and
    each sees the others' committed shared items and edit locks. The row exists after the trade's
    first write, so it is locked first and inserted only when missing: one statement, not two.
    """
    locked = (
        select(TradeSharedItems)
        .where(TradeSharedItems.trade_id == trade_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    row = await session.scalar(locked)
    if row is None:
        # A concurrent first writer's insert makes this one wait for its commit, then do nothing.
        await session.execute(
            insert(TradeSharedItems)
            .values(trade_id=trade_id, values={}, version=1, updated_at=now)
            .on_conflict_do_nothing(index_elements=[TradeSharedItems.trade_id])
        )
        row = await session.scalar(locked)
    assert row is not None  # inserted above or already there
    return row


async def get_shared_items(session: AsyncSession, trade_id: uuid.UUID) -> TradeSharedItems | None:
    return await session.get(TradeSharedItems, trade_id)


async def get_form(
    session: AsyncSession, form_id: uuid.UUID, *, refresh: bool = False
) -> FormDocument | None:
    statement = select(FormDocument).where(
        FormDocument.id == form_id, FormDocument.deleted_at.is_(None)
    )
    if refresh:
        statement = statement.execution_options(populate_existing=True)
    form: FormDocument | None = await session.scalar(statement)
    return form


async def live_forms_of_trade(
    session: AsyncSession, trade_id: uuid.UUID, *, only: ColumnElement[bool] | None = None
) -> list[FormDocument]:
    """The live forms of a trade (those matching ``only``, if given), fresh from the database, in
    creation order."""
    statement = select(FormDocument).where(
        FormDocument.trade_id == trade_id, FormDocument.deleted_at.is_(None)
    )
    if only is not None:
        statement = statement.where(only)
    result = await session.scalars(
        statement.order_by(FormDocument.created_at, FormDocument.id).execution_options(
            populate_existing=True
        )
    )
    return list(result)


async def list_forms(
    session: AsyncSession,
    *,
    trade_id: uuid.UUID,
    form_codes: Sequence[str],
    statuses: Sequence[str] | None,
    custom_id: str | None,
    updated_since: datetime | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[FormDocument]:
    """One page in creation order; ``after`` is the (created_at, id) of the previous page's last."""
    statement = select(FormDocument).where(
        FormDocument.trade_id == trade_id,
        FormDocument.deleted_at.is_(None),
        FormDocument.form_code.in_(form_codes),
    )
    if statuses:
        statement = statement.where(FormDocument.status.in_(statuses))
    if custom_id is not None:
        statement = statement.where(FormDocument.custom_id == custom_id)
    if updated_since is not None:
        statement = statement.where(FormDocument.updated_at >= updated_since)
    if after is not None:
        created_at, last_id = after
        statement = statement.where(
            or_(
                FormDocument.created_at > created_at,
                and_(FormDocument.created_at == created_at, FormDocument.id > last_id),
            )
        )
    statement = statement.order_by(FormDocument.created_at, FormDocument.id).limit(limit)
    return list(await session.scalars(statement))


async def add_form(session: AsyncSession, form: FormDocument) -> FormDocument:
    session.add(form)
    await session.flush()
    return form


async def add_version(session: AsyncSession, version: FormVersion) -> None:
    session.add(version)
    await session.flush()


async def list_versions(session: AsyncSession, form_id: uuid.UUID) -> list[FormVersion]:
    result = await session.scalars(
        select(FormVersion).where(FormVersion.form_id == form_id).order_by(FormVersion.version_no)
    )
    return list(result)


async def get_version(
    session: AsyncSession, form_id: uuid.UUID, version_no: int
) -> FormVersion | None:
    return await session.get(FormVersion, (form_id, version_no))


async def add_template(session: AsyncSession, template: FormTemplate) -> FormTemplate:
    session.add(template)
    await session.flush()
    return template


async def find_template_by_name(
    session: AsyncSession, *, org_id: str, form_code: str, name: str
) -> FormTemplate | None:
    template: FormTemplate | None = await session.scalar(
        select(FormTemplate).where(
            FormTemplate.org_id == org_id,
            FormTemplate.form_code == form_code,
            FormTemplate.name == name,
        )
    )
    return template


async def get_template(
    session: AsyncSession, template_id: uuid.UUID, *, org_id: str
) -> FormTemplate | None:
    template: FormTemplate | None = await session.scalar(
        select(FormTemplate).where(FormTemplate.id == template_id, FormTemplate.org_id == org_id)
    )
    return template


async def list_templates(
    session: AsyncSession, *, org_id: str, form_code: str | None
) -> list[FormTemplate]:
    statement = select(FormTemplate).where(FormTemplate.org_id == org_id)
    if form_code is not None:
        statement = statement.where(FormTemplate.form_code == form_code)
    return list(
        await session.scalars(statement.order_by(FormTemplate.form_code, FormTemplate.name))
    )


async def delete_template(session: AsyncSession, template: FormTemplate) -> None:
    await session.delete(template)
    await session.flush()


async def add_attachment(
    session: AsyncSession, attachment: FormAttachment, content: bytes
) -> FormAttachment:
    session.add(attachment)
    await session.flush()
    session.add(FormAttachmentContent(attachment_id=attachment.id, content=content))
    await session.flush()
    return attachment


async def list_attachments(session: AsyncSession, form_id: uuid.UUID) -> list[FormAttachment]:
    result = await session.scalars(
        select(FormAttachment)
        .where(FormAttachment.form_id == form_id)
        .order_by(FormAttachment.created_at, FormAttachment.id)
    )
    return list(result)


async def get_attachment(
    session: AsyncSession, form_id: uuid.UUID, attachment_id: uuid.UUID
) -> FormAttachment | None:
    attachment: FormAttachment | None = await session.scalar(
        select(FormAttachment).where(
            FormAttachment.id == attachment_id, FormAttachment.form_id == form_id
        )
    )
    return attachment


async def get_attachment_content(session: AsyncSession, attachment_id: uuid.UUID) -> bytes | None:
    content: bytes | None = await session.scalar(
        select(FormAttachmentContent.content).where(
            FormAttachmentContent.attachment_id == attachment_id
        )
    )
    return content
