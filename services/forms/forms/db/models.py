"""ORM models of the forms service (its own database, its own metadata).

A form document stores its own values; the trade's shared items (Cyber Port's root document) are
one row per trade, merged into every form view on read. Versions are append-only snapshots (a
trigger in the migration refuses UPDATE and DELETE). Attachment bytes sit in a table of their own so
that reading or listing documents never drags file contents through the buffer cache.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, make_metadata
from shared.idempotency import make_idempotency_table
from shared.outbox import make_outbox_table


class FormsBase(Base):
    __abstract__ = True
    metadata = make_metadata()


outbox_table = make_outbox_table(FormsBase.metadata)
idempotency_table = make_idempotency_table(FormsBase.metadata)

FORM_STATUSES = ("draft", "sent", "acknowledged", "cancelled")


class TradeSharedItems(FormsBase):
    """The root document of one trade. Every write in a trade locks this row first, so the shared
    items, the edit locks computed from them and the forms change one writer at a time per trade."""

    __tablename__ = "trade_shared_items"

    trade_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    values: Mapped[dict[str, Any]] = mapped_column(JSONB)
    version: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FormDocument(FormsBase):
    __tablename__ = "form_document"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    trade_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    form_code: Mapped[str] = mapped_column(String(5))
    # Distinguishes several forms of one type in a trade (Cyber Port ``customId``); "" for the one.
    custom_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    values: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # Target path -> where its prefilled value came from (derivation, DCSA import, template).
    provenance: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_by_org_id: Mapped[str] = mapped_column(String(64))
    created_by_user_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(BigInteger)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's declarative API
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'sent', 'acknowledged', 'cancelled')", name="status"),
        # Idempotent create: one live form per trade + type + custom id.
        Index(
            "uq_form_document_trade_type_custom",
            "trade_id",
            "form_code",
            "custom_id",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
        # A trade's forms in creation order: the keyset pagination index.
        Index(
            "ix_form_document_trade_listing",
            "trade_id",
            "created_at",
            "id",
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )


class FormVersion(FormsBase):
    """What the form looked like (shared items merged in) after each change. Append-only."""

    __tablename__ = "form_version"

    form_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("form_document.id"), primary_key=True)
    version_no: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    change: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    values: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor_org_id: Mapped[str | None] = mapped_column(String(64))
    actor_user_id: Mapped[str | None] = mapped_column(String(128))


class FormTemplate(FormsBase):
    """An organisation's saved starting point for a form type (shared with no one else)."""

    __tablename__ = "form_template"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(64))
    form_code: Mapped[str] = mapped_column(String(5))
    name: Mapped[str] = mapped_column(String(100))
    values: Mapped[dict[str, Any]] = mapped_column(JSONB)
    source_form_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by_user_id: Mapped[str] = mapped_column(String(128))

    __table_args__ = (
        UniqueConstraint("org_id", "form_code", "name"),
        Index("ix_form_template_org_listing", "org_id", "form_code", "name"),
    )


class FormAttachment(FormsBase):
    __tablename__ = "form_attachment"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    form_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("form_document.id"))
    file_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by_org_id: Mapped[str] = mapped_column(String(64))
    created_by_user_id: Mapped[str] = mapped_column(String(128))

    __table_args__ = (Index("ix_form_attachment_form_created", "form_id", "created_at", "id"),)


class FormAttachmentContent(FormsBase):
    """The bytes, apart from the metadata: listing attachments never reads them."""

    __tablename__ = "form_attachment_content"

    attachment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("form_attachment.id", ondelete="CASCADE"), primary_key=True
    )
    content: Mapped[bytes] = mapped_column(LargeBinary)


class TradeNaccsStatus(FormsBase):
    """What NACCS said about one procedure of a trade (export cargo, a declaration, a container),
    shown read-only in the ``naccs_status`` section of the trade's forms. Written only from the NACCS
    bridge's events; replaced only by a later state (``forms.domain.naccs_status.supersedes``)."""

    __tablename__ = "trade_naccs_status"

    trade_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    procedure: Mapped[str] = mapped_column(String(32), primary_key=True)
    number: Mapped[str] = mapped_column(String(35), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    state_rank: Mapped[int] = mapped_column(SmallInteger)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    examination: Mapped[str | None] = mapped_column(String(1))
    permit_no: Mapped[str | None] = mapped_column(String(35))
    permitted_on: Mapped[date | None] = mapped_column(Date)
    # {"telegram": "permit_notice", "business_code": "EDC", "output_info_code": "SAE0030"}
    source: Mapped[dict[str, Any]] = mapped_column(JSONB)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    # From a sequence on every change: the forms' ETags include the newest they show.
    change_seq: Mapped[int] = mapped_column(
        BigInteger, server_default=text("nextval('trade_naccs_status_change_seq')")
    )
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class NaccsStatusEvent(FormsBase):
    """Every event the write-back took, by id: a redelivered event is acknowledged and not applied."""

    __tablename__ = "naccs_status_event"

    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(64))
    trade_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    entries: Mapped[int] = mapped_column(SmallInteger)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


__all__ = [
    "FORM_STATUSES",
    "FormAttachment",
    "FormAttachmentContent",
    "FormDocument",
    "FormTemplate",
    "FormVersion",
    "FormsBase",
    "NaccsStatusEvent",
    "TradeNaccsStatus",
    "TradeSharedItems",
    "idempotency_table",
    "outbox_table",
]
