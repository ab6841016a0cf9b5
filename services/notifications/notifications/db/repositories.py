"""Queries of the notifications service. Repositories only flush; the unit of work commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.db.models import (
    Event,
    EventAudience,
    InboundMessage,
    Notification,
    NotificationPreference,
    NotificationRead,
    OutgoingEmail,
    ReceivingSlip,
    TradeMember,
    UserProfile,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

# Bulk inserts are one statement over ``unnest`` of one array per column: its text never changes, so
# asyncpg prepares it once, whatever the number of rows. ``insert(...).values(rows)`` rendered and
# compiled a new multi-row VALUES statement for every call (for 40 deliveries of an event, 320 bind
# parameters): the largest part of the event intake in bench/webhook_fanout.py's profile.

# An event's audience, its in-app notifications (one per organisation) and its first webhook
# deliveries, in one statement: three round trips and ORM executions became one.
_INSERT_FAN_OUT = text(
    """
    WITH audience AS (
        INSERT INTO event_audience (event_id, org_id, position, trade_id)
        SELECT CAST(:event_id AS uuid), org_id, CAST(:position AS bigint), CAST(:trade_id AS uuid)
        FROM unnest(CAST(:org_ids AS varchar[])) AS a(org_id)
        ON CONFLICT DO NOTHING
    ), in_app AS (
        INSERT INTO notifications (id, org_id, event_id, event_type, trade_id, created_at)
        SELECT n.id, n.org_id, CAST(:event_id AS uuid), CAST(:event_type AS varchar),
               CAST(:trade_id AS uuid), CAST(:now AS timestamptz)
        FROM unnest(CAST(:notification_ids AS uuid[]), CAST(:org_ids AS varchar[]))
             AS n(id, org_id)
        ON CONFLICT DO NOTHING
    ), deliveries AS (
        INSERT INTO webhook_deliveries
            (id, endpoint_id, event_id, is_replay, status, attempt_count, next_attempt_at,
             created_at)
        SELECT d.id, d.endpoint_id, CAST(:event_id AS uuid), false, 'pending', 0,
               CAST(:now AS timestamptz), CAST(:now AS timestamptz)
        FROM unnest(CAST(:delivery_ids AS uuid[]), CAST(:endpoint_ids AS uuid[]))
             AS d(id, endpoint_id)
        ON CONFLICT (endpoint_id, event_id) WHERE NOT is_replay DO NOTHING
        RETURNING 1
    )
    SELECT count(*) FROM deliveries
    """
)
_DELIVERY_COLUMNS = (
    "id",
    "endpoint_id",
    "event_id",
    "is_replay",
    "status",
    "attempt_count",
    "next_attempt_at",
    "created_at",
)
_INSERT_DELIVERIES = """
    INSERT INTO webhook_deliveries
        (id, endpoint_id, event_id, is_replay, status, attempt_count, next_attempt_at, created_at)
    SELECT * FROM unnest(
        CAST(:id AS uuid[]), CAST(:endpoint_id AS uuid[]), CAST(:event_id AS uuid[]),
        CAST(:is_replay AS boolean[]), CAST(:status AS varchar[]),
        CAST(:attempt_count AS integer[]), CAST(:next_attempt_at AS timestamptz[]),
        CAST(:created_at AS timestamptz[])
    )
    {on_conflict}
    RETURNING id
    """
# The first delivery of an event to an endpoint is made once (uq_webhook_deliveries_endpoint_event).
_INSERT_FIRST_DELIVERIES = text(
    _INSERT_DELIVERIES.format(
        on_conflict="ON CONFLICT (endpoint_id, event_id) WHERE NOT is_replay DO NOTHING"
    )
)
_INSERT_REPLAY_DELIVERIES = text(_INSERT_DELIVERIES.format(on_conflict=""))


def _columns(rows: Sequence[dict[str, Any]], names: Sequence[str]) -> dict[str, list[Any]]:
    """Rows as one list per column (every row must have every column)."""
    return {name: [row[name] for row in rows] for name in names}


# -- events ---------------------------------------------------------------------------------------
class EventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_if_new(self, values: dict[str, Any]) -> int | None:
        """Insert the event; its arrival position, or None if this id was already received."""
        statement = (
            insert(Event)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[Event.id])
            .returning(Event.position)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def add_fan_out(
        self,
        *,
        event_id: uuid.UUID,
        position: int,
        event_type: str,
        trade_id: uuid.UUID | None,
        org_ids: Sequence[str],
        notification_ids: Sequence[uuid.UUID],
        endpoint_ids: Sequence[uuid.UUID],
        delivery_ids: Sequence[uuid.UUID],
        now: datetime,
    ) -> int:
        """The audience, an in-app notification per organisation (``notification_ids`` in the order
        of ``org_ids``) and a first pending delivery per endpoint; how many deliveries were new."""
        result = await self.session.execute(
            _INSERT_FAN_OUT,
            {
                "event_id": event_id,
                "position": position,
                "event_type": event_type,
                "trade_id": trade_id,
                "org_ids": list(org_ids),
                "notification_ids": list(notification_ids),
                "endpoint_ids": list(endpoint_ids),
                "delivery_ids": list(delivery_ids),
                "now": now,
            },
        )
        return int(result.scalar_one())

    async def audience_of(self, event_id: uuid.UUID) -> list[str]:
        result = await self.session.execute(
            select(EventAudience.org_id).where(EventAudience.event_id == event_id)
        )
        return list(result.scalars())

    async def get(self, event_id: uuid.UUID) -> Event | None:
        return await self.session.get(Event, event_id)

    async def get_visible(self, event_id: uuid.UUID, org_id: str) -> Event | None:
        statement = select(Event).where(
            Event.id == event_id,
            exists().where(EventAudience.event_id == Event.id, EventAudience.org_id == org_id),
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def list_visible(
        self,
        *,
        org_id: str,
        trade_id: uuid.UUID | None,
        event_types: Sequence[str],
        since: datetime | None,
        until: datetime | None,
        after_position: int | None,
        limit: int,
    ) -> list[Event]:
        """Events the organisation may see, oldest first, keyset-paged on arrival position."""
        statement = (
            select(Event)
            .join(EventAudience, EventAudience.event_id == Event.id)
            .where(EventAudience.org_id == org_id)
            .order_by(EventAudience.position)
            .limit(limit)
        )
        if trade_id is not None:
            statement = statement.where(EventAudience.trade_id == trade_id)
        if event_types:
            statement = statement.where(Event.type.in_(event_types))
        if since is not None:
            statement = statement.where(Event.occurred_at >= since)
        if until is not None:
            statement = statement.where(Event.occurred_at < until)
        if after_position is not None:
            statement = statement.where(EventAudience.position > after_position)
        return list((await self.session.execute(statement)).scalars())

    async def visible_ids_in_range(
        self,
        *,
        org_id: str,
        trade_id: uuid.UUID | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
    ) -> list[tuple[uuid.UUID, str, uuid.UUID | None]]:
        statement = (
            select(Event.id, Event.type, Event.trade_id)
            .join(EventAudience, EventAudience.event_id == Event.id)
            .where(EventAudience.org_id == org_id)
            .order_by(EventAudience.position)
            .limit(limit)
        )
        if trade_id is not None:
            statement = statement.where(Event.trade_id == trade_id)
        if since is not None:
            statement = statement.where(Event.received_at >= since)
        if until is not None:
            statement = statement.where(Event.received_at < until)
        return [(row[0], row[1], row[2]) for row in await self.session.execute(statement)]


# -- trade membership (projected from the trades service's events) ------------------------------
class MembershipRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def apply(
        self, *, trade_id: uuid.UUID, org_id: str, status: str, hidden: bool, at: datetime
    ) -> None:
        statement = insert(TradeMember).values(
            trade_id=trade_id, org_id=org_id, status=status, hidden=hidden, changed_at=at
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[TradeMember.trade_id, TradeMember.org_id],
                set_={
                    "status": statement.excluded.status,
                    "hidden": statement.excluded.hidden,
                    "changed_at": statement.excluded.changed_at,
                },
                where=TradeMember.changed_at <= statement.excluded.changed_at,
            )
        )

    async def members(self, trade_id: uuid.UUID) -> list[TradeMember]:
        result = await self.session.execute(
            select(TradeMember).where(TradeMember.trade_id == trade_id)
        )
        return list(result.scalars())


# -- webhooks -------------------------------------------------------------------------------------
class WebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_endpoint(self, endpoint: WebhookEndpoint) -> None:
        self.session.add(endpoint)
        await self.session.flush()

    async def count_endpoints(self, org_id: str) -> int:
        result = await self.session.execute(
            select(func.count()).where(WebhookEndpoint.org_id == org_id)
        )
        return int(result.scalar_one())

    async def get_endpoint(
        self, endpoint_id: uuid.UUID, org_id: str, *, for_update: bool = False
    ) -> WebhookEndpoint | None:
        statement = select(WebhookEndpoint).where(
            WebhookEndpoint.id == endpoint_id, WebhookEndpoint.org_id == org_id
        )
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def list_endpoints(self, org_id: str) -> list[WebhookEndpoint]:
        statement = (
            select(WebhookEndpoint)
            .where(WebhookEndpoint.org_id == org_id)
            .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
        )
        return list((await self.session.execute(statement)).scalars())

    async def delete_endpoint(self, endpoint: WebhookEndpoint) -> None:
        await self.session.delete(endpoint)
        await self.session.flush()

    async def endpoints_for_event(
        self, org_ids: Sequence[str], trade_id: uuid.UUID | None
    ) -> list[tuple[uuid.UUID, list[str]]]:
        """(id, event types) of the enabled endpoints that may get an event of these organisations
        and trade; columns only, no ORM objects (one per delivery at intake otherwise)."""
        if not org_ids:
            return []
        trade_filter = (
            WebhookEndpoint.trade_id.is_(None)
            if trade_id is None
            else or_(WebhookEndpoint.trade_id.is_(None), WebhookEndpoint.trade_id == trade_id)
        )
        statement = select(WebhookEndpoint.id, WebhookEndpoint.event_types).where(
            WebhookEndpoint.org_id.in_(org_ids), WebhookEndpoint.enabled.is_(True), trade_filter
        )
        return [(row.id, row.event_types) for row in await self.session.execute(statement)]

    async def add_deliveries(self, rows: list[dict[str, Any]], *, replay: bool) -> int:
        """Insert the deliveries (dicts with every column of ``_DELIVERY_COLUMNS``); how many were
        new (a first delivery that already exists is skipped)."""
        if not rows:
            return 0
        statement = _INSERT_REPLAY_DELIVERIES if replay else _INSERT_FIRST_DELIVERIES
        result = await self.session.execute(statement, _columns(rows, _DELIVERY_COLUMNS))
        return len(result.all())

    async def cancel_pending(self, endpoint_id: uuid.UUID, now: datetime, reason: str) -> None:
        await self.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == "pending")
            .values(status="cancelled", finished_at=now, last_error=reason, lease_token=None)
        )

    async def list_deliveries(
        self,
        endpoint_id: uuid.UUID,
        *,
        status: str | None,
        event_id: uuid.UUID | None,
        before: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[tuple[WebhookDelivery, str]]:
        """Newest first, keyset on (created_at, id)."""
        statement = (
            select(WebhookDelivery, Event.type)
            .join(Event, Event.id == WebhookDelivery.event_id)
            .where(WebhookDelivery.endpoint_id == endpoint_id)
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
            .limit(limit)
        )
        if status is not None:
            statement = statement.where(WebhookDelivery.status == status)
        if event_id is not None:
            statement = statement.where(WebhookDelivery.event_id == event_id)
        if before is not None:
            created_at, delivery_id = before
            statement = statement.where(
                or_(
                    WebhookDelivery.created_at < created_at,
                    and_(
                        WebhookDelivery.created_at == created_at, WebhookDelivery.id < delivery_id
                    ),
                )
            )
        return [(row[0], row[1]) for row in await self.session.execute(statement)]

    async def get_delivery(
        self, endpoint_id: uuid.UUID, delivery_id: uuid.UUID
    ) -> WebhookDelivery | None:
        statement = select(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint_id
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def attempts_of(self, delivery_id: uuid.UUID) -> list[WebhookAttempt]:
        statement = (
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery_id)
            .order_by(WebhookAttempt.attempt_number)
        )
        return list((await self.session.execute(statement)).scalars())


# -- in-app notifications, profiles and preferences -----------------------------------------------
class InboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def profile(self, user_id: str) -> UserProfile | None:
        return await self.session.get(UserProfile, user_id)

    async def upsert_profile(self, values: dict[str, Any]) -> None:
        statement = insert(UserProfile).values(**values)
        updatable = {k: statement.excluded[k] for k in values if k not in ("user_id",)}
        await self.session.execute(
            statement.on_conflict_do_update(index_elements=[UserProfile.user_id], set_=updatable)
        )

    async def preferences(self, user_id: str) -> list[NotificationPreference]:
        statement = (
            select(NotificationPreference)
            .where(NotificationPreference.user_id == user_id)
            .order_by(NotificationPreference.event_type, NotificationPreference.channel)
        )
        return list((await self.session.execute(statement)).scalars())

    async def replace_preferences(self, user_id: str, rows: list[dict[str, Any]]) -> None:
        await self.session.execute(
            delete(NotificationPreference).where(NotificationPreference.user_id == user_id)
        )
        if rows:
            await self.session.execute(insert(NotificationPreference).values(rows))

    async def mail_recipients(
        self, org_ids: Sequence[str], *, admins_only: bool = False
    ) -> list[tuple[UserProfile, list[NotificationPreference]]]:
        if not org_ids:
            return []
        statement = select(UserProfile).where(
            UserProfile.org_id.in_(org_ids), UserProfile.email.is_not(None)
        )
        if admins_only:
            statement = statement.where(UserProfile.is_org_admin.is_(True))
        profiles = list((await self.session.execute(statement)).scalars())
        by_user = await self.preferences_by_user([p.user_id for p in profiles])
        return [(p, by_user.get(p.user_id, [])) for p in profiles]

    async def preferences_by_user(
        self, user_ids: Sequence[str]
    ) -> dict[str, list[NotificationPreference]]:
        if not user_ids:
            return {}
        result = await self.session.execute(
            select(NotificationPreference).where(NotificationPreference.user_id.in_(user_ids))
        )
        by_user: dict[str, list[NotificationPreference]] = {}
        for pref in result.scalars():
            by_user.setdefault(pref.user_id, []).append(pref)
        return by_user

    def _unread_condition(self, user_id: str, read_through: int) -> Any:
        return and_(
            Notification.position > read_through,
            ~exists().where(
                NotificationRead.user_id == user_id,
                NotificationRead.notification_id == Notification.id,
            ),
        )

    async def list_for_user(
        self,
        *,
        user_id: str,
        org_id: str,
        read_through: int,
        muted_types: Sequence[str],
        unread_only: bool,
        before_position: int | None,
        limit: int,
    ) -> list[tuple[Notification, Event, bool]]:
        read_flag = ~self._unread_condition(user_id, read_through)
        statement = (
            select(Notification, Event, read_flag.label("read"))
            .join(Event, Event.id == Notification.event_id)
            .where(Notification.org_id == org_id)
            .order_by(Notification.position.desc())
            .limit(limit)
        )
        if muted_types:
            statement = statement.where(Notification.event_type.not_in(muted_types))
        if unread_only:
            statement = statement.where(self._unread_condition(user_id, read_through))
        if before_position is not None:
            statement = statement.where(Notification.position < before_position)
        return [(row[0], row[1], bool(row[2])) for row in await self.session.execute(statement)]

    async def unread_count(
        self, *, user_id: str, org_id: str, read_through: int, muted_types: Sequence[str]
    ) -> int:
        statement = select(func.count()).where(
            Notification.org_id == org_id, self._unread_condition(user_id, read_through)
        )
        if muted_types:
            statement = statement.where(Notification.event_type.not_in(muted_types))
        return int((await self.session.execute(statement)).scalar_one())

    async def get_notification(
        self, notification_id: uuid.UUID, org_id: str
    ) -> Notification | None:
        statement = select(Notification).where(
            Notification.id == notification_id, Notification.org_id == org_id
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def mark_read(self, user_id: str, notification_id: uuid.UUID, now: datetime) -> None:
        await self.session.execute(
            insert(NotificationRead)
            .values(user_id=user_id, notification_id=notification_id, read_at=now)
            .on_conflict_do_nothing()
        )

    async def latest_position(self, org_id: str) -> int:
        result = await self.session.execute(
            select(func.coalesce(func.max(Notification.position), 0)).where(
                Notification.org_id == org_id
            )
        )
        return int(result.scalar_one())

    async def add_emails(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(OutgoingEmail).values(rows).on_conflict_do_nothing())


# -- partner inbound and the receiving-slip projection --------------------------------------------
class PartnerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_inbound_if_new(self, values: dict[str, Any]) -> bool:
        statement = (
            insert(InboundMessage)
            .values(**values)
            .on_conflict_do_nothing(
                index_elements=[
                    InboundMessage.org_id,
                    InboundMessage.partner,
                    InboundMessage.kind,
                    InboundMessage.partner_message_id,
                ]
            )
            .returning(InboundMessage.id)
        )
        return (await self.session.execute(statement)).scalar_one_or_none() is not None

    async def find_inbound(
        self, org_id: str, partner: str, kind: str, partner_message_id: str
    ) -> InboundMessage | None:
        statement = select(InboundMessage).where(
            InboundMessage.org_id == org_id,
            InboundMessage.partner == partner,
            InboundMessage.kind == kind,
            InboundMessage.partner_message_id == partner_message_id,
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def get_inbound(self, inbound_id: uuid.UUID, org_id: str) -> InboundMessage | None:
        statement = select(InboundMessage).where(
            InboundMessage.id == inbound_id, InboundMessage.org_id == org_id
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def upsert_receiving_slip(self, values: dict[str, Any]) -> None:
        """Keep the newest revision; an older revision arriving late changes nothing."""
        statement = insert(ReceivingSlip).values(**values)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[ReceivingSlip.slip_id],
                set_={k: statement.excluded[k] for k in values if k != "slip_id"},
                where=ReceivingSlip.revision <= statement.excluded.revision,
            )
        )

    async def receiving_slips_for(
        self, *, org_id: str, terminal_code: str, planned_date: date, limit: int
    ) -> list[ReceivingSlip]:
        statement = (
            select(ReceivingSlip)
            .where(
                ReceivingSlip.terminal_code == terminal_code,
                ReceivingSlip.planned_date == planned_date,
                exists().where(
                    EventAudience.event_id == ReceivingSlip.last_event_id,
                    EventAudience.org_id == org_id,
                ),
            )
            .order_by(ReceivingSlip.updated_at, ReceivingSlip.slip_id)
            .limit(limit)
        )
        return list((await self.session.execute(statement)).scalars())
