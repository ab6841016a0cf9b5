"""ORM models of the naccs_bridge service (its own database, its own metadata)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    Sequence,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, make_metadata
from shared.outbox import make_outbox_table


class NaccsBridgeBase(Base):
    __abstract__ = True
    metadata = make_metadata()


# 入力情報特定番号 (10): from a database sequence, so every telegram ever built has its own.
input_id_sequence = Sequence("naccs_input_id_seq", metadata=NaccsBridgeBase.metadata)

outbox_table = make_outbox_table(NaccsBridgeBase.metadata)


class NaccsFormRow(NaccsBridgeBase):
    """One NACCS form per business code per trade: the trade data it was prefilled from, a person's
    entries, and what NACCS last said about it."""

    __tablename__ = "naccs_form"
    __table_args__ = (UniqueConstraint("trade_id", "code", name="uq_naccs_form_trade_id_code"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    trade_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    code: Mapped[str] = mapped_column(String(5))
    created_by_org: Mapped[str] = mapped_column(String(64))
    # draft | queued | sending | accepted | rejected | permitted
    status: Mapped[str] = mapped_column(String(16))
    processing: Mapped[str] = mapped_column(String(8))  # new | correct | cancel
    bundle: Mapped[dict[str, Any]] = mapped_column(JSONB)
    entries: Mapped[dict[str, str]] = mapped_column(JSONB)
    reference_no: Mapped[str | None] = mapped_column(String(35))
    last_results: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    permitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class NaccsSendRow(NaccsBridgeBase):
    """One telegram on its way: queued → sending → sent → result_stored, or failed / cancelled.

    The body is built when queued (from the form as it was then); the header with the sender's
    credentials only at send time, so no password is stored."""

    __tablename__ = "naccs_send"
    __table_args__ = (
        # The invariant behind "one telegram in flight per 利用者ID", kept by the database itself.
        Index(
            "ux_naccs_send_one_in_flight",
            "naccs_user_id",
            unique=True,
            postgresql_where=text("status = 'sending'"),
        ),
        # One send of a form at a time (a double click queues once).
        Index(
            "ux_naccs_send_one_per_form",
            "form_id",
            unique=True,
            postgresql_where=text("status IN ('queued', 'sending', 'sent')"),
        ),
        Index("ix_naccs_send_due", "next_attempt_at", postgresql_where=text("status = 'queued'")),
        Index("ix_naccs_send_form_id", "form_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    form_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("naccs_form.id", ondelete="CASCADE"))
    trade_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    code: Mapped[str] = mapped_column(String(5))
    org_id: Mapped[str] = mapped_column(String(64))
    user_subject: Mapped[str] = mapped_column(String(128))
    naccs_user_id: Mapped[str] = mapped_column(String(8))
    input_id_no: Mapped[str] = mapped_column(String(10), unique=True)
    handover_info: Mapped[str] = mapped_column(String(26))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    claim_token: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reply: Mapped[bytes | None] = mapped_column(LargeBinary)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OutputMessageRow(NaccsBridgeBase):
    """An output telegram NACCS delivered later (permits, file-route results); the inbox of the channel:
    ``source_seq`` is unique, so a message fetched twice is stored and applied once."""

    __tablename__ = "naccs_output_message"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    source_seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    naccs_user_id: Mapped[str] = mapped_column(String(8))
    business_code: Mapped[str] = mapped_column(String(5))
    output_info_code: Mapped[str] = mapped_column(String(7))
    message_kind: Mapped[str] = mapped_column(String(1))
    input_id_no: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(64))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    decoded: Mapped[dict[str, Any]] = mapped_column(JSONB)
    applied: Mapped[str] = mapped_column(String(32))  # permit | result | unmatched | unreadable
    trade_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    form_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UsageRow(NaccsBridgeBase):
    """The usage ledger: one row per telegram that reached NACCS (NACCS charges the sending user)."""

    __tablename__ = "naccs_usage"
    __table_args__ = (Index("ix_naccs_usage_org_at", "org_id", "occurred_at"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    send_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    org_id: Mapped[str] = mapped_column(String(64))
    user_subject: Mapped[str] = mapped_column(String(128))
    naccs_user_id: Mapped[str] = mapped_column(String(8))
    code: Mapped[str] = mapped_column(String(5))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    result: Mapped[str] = mapped_column(String(16))  # accepted | warning | rejected | unreadable


class ChannelCursorRow(NaccsBridgeBase):
    """How far the output messages of a channel have been read (``GET /outbox?after=``)."""

    __tablename__ = "naccs_channel_cursor"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)


class MasterRecordRow(NaccsBridgeBase):
    """Master data of one organisation: companies (輸出入者コード), products, vessels, bonded areas, ports.
    ``data`` is the record in the prefill's canonical camelCase names."""

    __tablename__ = "naccs_master_record"
    __table_args__ = (PrimaryKeyConstraint("org_id", "kind", "key", name="pk_naccs_master_record"),)

    org_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
