"""ORM models of the trades service (its own database, its own metadata)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    FetchedValue,
    ForeignKey,
    Index,
    Sequence,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.schema import Computed

from shared.db import Base, make_metadata
from shared.idempotency import make_idempotency_table
from shared.outbox import make_outbox_table


class TradesBase(Base):
    __abstract__ = True
    metadata = make_metadata()


outbox_table = make_outbox_table(TradesBase.metadata)
idempotency_table = make_idempotency_table(TradesBase.metadata)

# One sequence for both directions: the number is unique system-wide whatever the prefix.
trade_number_seq = Sequence("trade_number_seq", metadata=TradesBase.metadata)

# Free-text search: a stored tsvector over the keys people type (GIN-indexed). Hyphens, slashes
# and dots become spaces, so "EXP-2026-000123" is found by "000123" and by the whole number.
SEARCH_EXPRESSION = (
    "to_tsvector('simple', translate(coalesce(trade_no, '') || ' ' || coalesce(bl_no, '') || ' ' || "
    "coalesce(booking_no, '') || ' ' || coalesce(owner_reference, '') || ' ' || "
    "coalesce(vessel_name, '') || ' ' || coalesce(vessel_call_sign, '') || ' ' || "
    "coalesce(voyage_no, '') || ' ' || coalesce(container_numbers, ''), '-/.', '   '))"
)


class Trade(TradesBase):
    __tablename__ = "trade"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    trade_no: Mapped[str] = mapped_column(String(20), unique=True)
    direction: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20))
    owner_org_id: Mapped[str] = mapped_column(String(64))
    owner_reference: Mapped[str | None] = mapped_column(String(35))
    bl_no: Mapped[str | None] = mapped_column(String(35))
    booking_no: Mapped[str | None] = mapped_column(String(35))
    carrier_scac: Mapped[str | None] = mapped_column(String(4))
    vessel_call_sign: Mapped[str | None] = mapped_column(String(9))
    vessel_name: Mapped[str | None] = mapped_column(String(35))
    voyage_no: Mapped[str | None] = mapped_column(String(17))
    place_of_receipt: Mapped[str | None] = mapped_column(String(5))
    port_of_loading: Mapped[str | None] = mapped_column(String(5))
    port_of_discharge: Mapped[str | None] = mapped_column(String(5))
    place_of_delivery: Mapped[str | None] = mapped_column(String(5))
    etd: Mapped[date | None] = mapped_column(Date)
    eta: Mapped[date | None] = mapped_column(Date)
    # Space-separated copy of the container numbers, only so free-text search finds them.
    container_numbers: Mapped[str | None] = mapped_column(Text)
    search_vector: Mapped[Any] = mapped_column(
        TSVECTOR, Computed(SEARCH_EXPRESSION, persisted=True), deferred=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by_user_id: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(BigInteger)

    containers: Mapped[list[TradeContainer]] = relationship(
        lazy="raise", order_by="TradeContainer.position", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's declarative API
    __table_args__ = (
        CheckConstraint("direction IN ('export', 'import')", name="direction"),
        Index("ix_trade_bl_no", "bl_no"),
        Index("ix_trade_booking", "carrier_scac", "booking_no"),
        Index(
            "uq_trade_owner_reference",
            "owner_org_id",
            "owner_reference",
            unique=True,
            postgresql_where=text("owner_reference IS NOT NULL"),
        ),
        Index("ix_trade_vessel_voyage", "vessel_call_sign", "voyage_no"),
        Index("ix_trade_voyage_no", "voyage_no"),  # schedule updates: by voyage, then vessel
        Index("ix_trade_search_vector", "search_vector", postgresql_using="gin"),
    )


class TradeContainer(TradesBase):
    __tablename__ = "trade_container"

    trade_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("trade.id", ondelete="CASCADE"), primary_key=True
    )
    container_no: Mapped[str] = mapped_column(String(11), primary_key=True)
    size_type: Mapped[str | None] = mapped_column(String(4))
    seal_no: Mapped[str | None] = mapped_column(String(15))
    position: Mapped[int] = mapped_column()

    __table_args__ = (Index("ix_trade_container_container_no", "container_no"),)


class Participant(TradesBase):
    """An organisation taking part in a trade. ``trade_created_at`` is copied from the trade (it never
    changes) so that an organisation's trade list is one ordered index scan."""

    __tablename__ = "trade_participant"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    trade_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("trade.id", ondelete="CASCADE"))
    org_id: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    hidden: Mapped[bool] = mapped_column(Boolean)
    is_owner: Mapped[bool] = mapped_column(Boolean)
    # Who brought this organisation in; a hidden participant is visible to its sponsor.
    sponsor_org_id: Mapped[str | None] = mapped_column(String(64))
    invited_by_user_id: Mapped[str | None] = mapped_column(String(128))
    trade_created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The trade's status, kept equal by triggers (trades0006: set on insert, followed on every
    # change) so that a status filter on the list is one scan of the listing-by-status index.
    trade_status: Mapped[str] = mapped_column(String(20), server_default=FetchedValue())
    # The trade's ETD, kept equal the same way (trades0007), for the list's ETD window.
    trade_etd: Mapped[date | None] = mapped_column(Date, server_default=FetchedValue())
    invited_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("trade_id", "org_id"),
        CheckConstraint(
            "status IN ('invited', 'active', 'declined', 'left', 'removed')", name="status"
        ),
        CheckConstraint("NOT (is_owner AND hidden)", name="owner_not_hidden"),
        # An organisation's trades, newest first: the keyset pagination index.
        Index(
            "ix_trade_participant_org_listing",
            "org_id",
            text("trade_created_at DESC"),
            text("trade_id DESC"),
            postgresql_where=text("status = 'active'"),
        ),
        # The same, within some statuses (the list's status filter).
        Index(
            "ix_trade_participant_org_status_listing",
            "org_id",
            "trade_status",
            text("trade_created_at DESC"),
            text("trade_id DESC"),
            postgresql_where=text("status = 'active'"),
        ),
        # An organisation's trades by ETD (the list's ETD window), with the listing keys: a
        # window's page is an index-only scan and a sort of the keys (trades0009).
        Index(
            "ix_trade_participant_org_etd",
            "org_id",
            "trade_etd",
            postgresql_include=["trade_created_at", "trade_id"],
            postgresql_where=text("status = 'active'"),
        ),
        # An organisation's pending invitations.
        Index(
            "ix_trade_participant_org_invited",
            "org_id",
            "invited_at",
            postgresql_where=text("status = 'invited'"),
        ),
    )


class TimelineEntry(TradesBase):
    """Append-only: a trigger in the migration refuses UPDATE and DELETE."""

    __tablename__ = "timeline_entry"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    trade_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("trade.id"))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text)
    actor_user_id: Mapped[str | None] = mapped_column(String(128))
    actor_org_id: Mapped[str | None] = mapped_column(String(64))
    # The organisation the entry is about (e.g. the participant added), for hidden-participant filtering.
    subject_org_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    source: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        # Idempotent intake: an event is recorded once per source, however often it is replayed.
        UniqueConstraint("source", "event_id"),
        Index("ix_timeline_entry_trade_occurred", "trade_id", "occurred_at", "id"),
    )


class TaskRule(TradesBase):
    """Data, not code: when an event of ``event_type`` whose data contains ``match`` arrives, create a
    task for the participant with ``assignee_role``."""

    __tablename__ = "task_rule"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64), index=True)
    match: Mapped[dict[str, Any]] = mapped_column(JSONB)
    direction: Mapped[str | None] = mapped_column(String(10))
    assignee_role: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    due_in_hours: Mapped[int | None] = mapped_column()
    enabled: Mapped[bool] = mapped_column(Boolean)


class StatusRule(TradesBase):
    """Data, not code: an event of ``event_type`` whose data contains ``match`` moves a trade of
    ``direction`` that is in one of ``from_statuses`` to ``to_status``. The event is the proof, so a
    rule may skip statuses nobody set by hand (a customs permit proves the declaration was made)."""

    __tablename__ = "status_rule"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64), index=True)
    match: Mapped[dict[str, Any]] = mapped_column(JSONB)
    direction: Mapped[str | None] = mapped_column(String(10))
    from_statuses: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    to_status: Mapped[str] = mapped_column(String(20))
    enabled: Mapped[bool] = mapped_column(Boolean)


class Task(TradesBase):
    __tablename__ = "task"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    trade_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("trade.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    assignee_org_id: Mapped[str] = mapped_column(String(64))
    assignee_user_id: Mapped[str | None] = mapped_column(String(128))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16))
    created_by_org_id: Mapped[str | None] = mapped_column(String(64))
    created_by_user_id: Mapped[str | None] = mapped_column(String(128))
    rule_id: Mapped[str | None] = mapped_column(ForeignKey("task_rule.id"))
    source_event_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(BigInteger)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's declarative API
    __table_args__ = (
        CheckConstraint("status IN ('open', 'in_progress', 'done', 'cancelled')", name="status"),
        Index("ix_task_trade_created", "trade_id", "created_at", "id"),
        Index(
            "ix_task_assignee_open",
            "assignee_org_id",
            "due_at",
            postgresql_where=text("status IN ('open', 'in_progress')"),
        ),
        # A rule fires once per event, even when the event is replayed.
        Index(
            "uq_task_rule_event",
            "rule_id",
            "source_event_id",
            unique=True,
            postgresql_where=text("rule_id IS NOT NULL"),
        ),
    )


class TaskComment(TradesBase):
    __tablename__ = "task_comment"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("task.id"), index=True)
    author_org_id: Mapped[str] = mapped_column(String(64))
    author_user_id: Mapped[str] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MessageThread(TradesBase):
    __tablename__ = "message_thread"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    trade_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("trade.id"))
    subject: Mapped[str] = mapped_column(String(200))
    # NULL: every participant who can see the trade; otherwise only these organisations.
    member_org_ids: Mapped[list[str] | None] = mapped_column(ARRAY(String(64)))
    created_by_org_id: Mapped[str] = mapped_column(String(64))
    created_by_user_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_message_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_message_thread_trade_last", "trade_id", "last_message_at"),)


class Message(TradesBase):
    __tablename__ = "message"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("message_thread.id"))
    trade_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("trade.id"))
    author_org_id: Mapped[str] = mapped_column(String(64))
    author_user_id: Mapped[str] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text)
    mentions: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_message_thread_created", "thread_id", "created_at", "id"),)


class MessageRead(TradesBase):
    """How far a user has read a thread."""

    __tablename__ = "message_read"

    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("message_thread.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    read_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
