"""ORM models of the notifications service (its own database, its own metadata)."""

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
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, make_metadata
from shared.outbox import make_outbox_table


class NotificationsBase(Base):
    __abstract__ = True
    metadata = make_metadata()


# Events for other services (today: vessel_schedule.updated to trades), written with the change.
outbox_table = make_outbox_table(NotificationsBase.metadata)


def _tz() -> DateTime:
    return DateTime(timezone=True)


class Event(NotificationsBase):
    """Every event received, once (the id is the producer's; a replay of the same id is a no-op)."""

    __tablename__ = "events"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    # Arrival order: the keyset for paging (occurred_at can tie and arrive out of order).
    position: Mapped[int] = mapped_column(BigInteger, Identity(always=True), unique=True)
    type: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(40))
    trade_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    occurred_at: Mapped[datetime] = mapped_column(_tz())
    received_at: Mapped[datetime] = mapped_column(_tz())
    requested_org_ids: Mapped[list[str] | None] = mapped_column(ARRAY(String(64)))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)

    __table_args__ = (
        Index("ix_events_trade_id_position", "trade_id", "position"),
        Index("ix_events_type_position", "type", "position"),
        Index("ix_events_occurred_at", "occurred_at"),
    )


class EventAudience(NotificationsBase):
    """Which organisations may see an event, decided once at intake from the trade's participants."""

    __tablename__ = "event_audience"

    event_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    org_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)
    # Copied from the event so that "this organisation's events of this trade" is one index range.
    trade_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))

    __table_args__ = (
        Index("ix_event_audience_org_id_position", "org_id", "position"),
        Index("ix_event_audience_org_id_trade_id_position", "org_id", "trade_id", "position"),
    )


class TradeMember(NotificationsBase):
    """Who participates in which trade, projected from the trades service's participant events.

    The audience of a trade event is decided from this table unless the trades service answers the
    participants question itself (``trades_participants_api``). A row changes only for a newer event,
    so events arriving out of order cannot resurrect a removed participant.
    """

    __tablename__ = "trade_members"

    trade_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))  # invited | active | declined | left | removed
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_at: Mapped[datetime] = mapped_column(_tz())


class WebhookEndpoint(NotificationsBase):
    __tablename__ = "webhook_endpoints"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(64), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(String(200))
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(80)))
    trade_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    disabled_at: Mapped[datetime | None] = mapped_column(_tz())
    # Encrypted (AES-GCM) whsec_ secrets; the previous one keeps signing until it expires.
    secret_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    previous_secret_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(_tz())
    failing_since: Mapped[datetime | None] = mapped_column(_tz())
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(_tz())
    updated_at: Mapped[datetime] = mapped_column(_tz())


class WebhookDelivery(NotificationsBase):
    """One event to one endpoint: retried on a schedule until delivered, failed or cancelled."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("events.id"))
    is_replay: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20))  # pending | delivered | failed | cancelled
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(_tz())
    lease_token: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    lease_expires_at: Mapped[datetime | None] = mapped_column(_tz())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(_tz())
    finished_at: Mapped[datetime | None] = mapped_column(_tz())

    __table_args__ = (
        # The first delivery of an event to an endpoint is made once; replays are extra rows.
        Index(
            "uq_webhook_deliveries_endpoint_event",
            "endpoint_id",
            "event_id",
            unique=True,
            postgresql_where=text("NOT is_replay"),
        ),
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at"),
    )


class WebhookAttempt(NotificationsBase):
    """The delivery log: every HTTP attempt, with what came back."""

    __tablename__ = "webhook_attempts"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    delivery_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    endpoint_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    attempt_number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(_tz())
    duration_ms: Mapped[int] = mapped_column(Integer)
    succeeded: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(300))
    response_excerpt: Mapped[str | None] = mapped_column(String(1024))

    __table_args__ = (Index("ix_webhook_attempts_endpoint_started", "endpoint_id", "started_at"),)


class Notification(NotificationsBase):
    """An in-app notification for an organisation; read state is per user."""

    __tablename__ = "notifications"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, Identity(always=True), unique=True)
    org_id: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("events.id"))
    event_type: Mapped[str] = mapped_column(String(80))
    trade_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(_tz())

    __table_args__ = (
        UniqueConstraint("org_id", "event_id"),
        Index("ix_notifications_org_id_position", "org_id", "position"),
    )


class NotificationRead(NotificationsBase):
    __tablename__ = "notification_reads"

    user_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    notification_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("notifications.id", ondelete="CASCADE"), primary_key=True
    )
    read_at: Mapped[datetime] = mapped_column(_tz())


class UserProfile(NotificationsBase):
    """What this service knows of a user: where to mail them and in which language."""

    __tablename__ = "user_profiles"

    user_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(64), index=True)
    email: Mapped[str | None] = mapped_column(String(320))
    locale: Mapped[str] = mapped_column(String(5), default="ja")
    is_org_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # "Mark all read" sets this, so it costs one row, not one per notification.
    read_through_position: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(_tz())


class NotificationPreference(NotificationsBase):
    __tablename__ = "notification_preferences"

    user_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(80), primary_key=True)  # a type or "*"
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)  # in_app | email
    enabled: Mapped[bool] = mapped_column(Boolean)


class OutgoingEmail(NotificationsBase):
    """Mail queued in the event's transaction and sent by the dispatcher (at least once)."""

    __tablename__ = "outgoing_emails"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    event_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    user_id: Mapped[str | None] = mapped_column(String(200))
    # Either one address, or an organisation whose active administrators the dispatcher looks up
    # when sending and turns into one row per address (the row itself then ends as "expanded").
    to_address: Mapped[str | None] = mapped_column(String(320))
    to_org_admins: Mapped[str | None] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(5))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))  # pending | sent | failed | expanded
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(_tz())
    lease_expires_at: Mapped[datetime | None] = mapped_column(_tz())
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(_tz())
    sent_at: Mapped[datetime | None] = mapped_column(_tz())

    __table_args__ = (
        UniqueConstraint("event_id", "to_address"),
        UniqueConstraint(
            "event_id", "to_org_admins", name="uq_outgoing_emails_event_id_org_admins"
        ),
        CheckConstraint(
            "(to_address IS NULL) <> (to_org_admins IS NULL)",
            name="one_recipient",
        ),
        Index(
            "ix_outgoing_emails_due", "next_attempt_at", postgresql_where=text("status = 'pending'")
        ),
    )


class InboundMessage(NotificationsBase):
    """A partner platform's push, stored once per (org, partner, kind, partner message id)."""

    __tablename__ = "inbound_messages"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(64))
    client_id: Mapped[str] = mapped_column(String(200))
    partner: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(40))
    partner_message_id: Mapped[str] = mapped_column(String(100))
    trade_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # received → forwarded | rejected | failed (forwarding); recorded when nothing is forwarded.
    status: Mapped[str] = mapped_column(String(20))
    status_detail: Mapped[str | None] = mapped_column(String(500))
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(_tz())
    lease_expires_at: Mapped[datetime | None] = mapped_column(_tz())
    event_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(_tz())
    processed_at: Mapped[datetime | None] = mapped_column(_tz())

    __table_args__ = (
        UniqueConstraint("org_id", "partner", "kind", "partner_message_id"),
        Index(
            "ix_inbound_messages_due",
            "next_attempt_at",
            postgresql_where=text("status = 'received'"),
        ),
    )


class ReceivingSlip(NotificationsBase):
    """The latest state of each container receiving slip, projected from receiving_slip events."""

    __tablename__ = "receiving_slips"

    slip_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    trade_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    terminal_code: Mapped[str] = mapped_column(String(35))
    planned_date: Mapped[date] = mapped_column(Date)
    revision: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    last_event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("events.id"))
    updated_at: Mapped[datetime] = mapped_column(_tz())

    __table_args__ = (Index("ix_receiving_slips_terminal_date", "terminal_code", "planned_date"),)
