"""Event intake: validate against the catalogue, store once, decide the audience, fan out.

Everything an event causes (audience, in-app notifications, queued mail, webhook deliveries, the
receiving-slip projection) is written in the same transaction as the event itself, so a crash leaves
either all of it or none of it, and the producer's retry (same id) does the whole thing once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.clients.trades import TradeDirectory
from notifications.db.models import Event
from notifications.db.repositories import (
    EventRepository,
    InboxRepository,
    PartnerRepository,
    WebhookRepository,
)
from notifications.domain import catalogue
from notifications.domain.mail import ADMIN_MAIL_TYPES, render_event_mail
from notifications.domain.membership import (
    apply_membership_event,
    decide_audience,
    projected_participants,
)
from notifications.domain.preferences import wants
from notifications.domain.runtime import Runtime
from notifications.schemas import EventEnvelope
from shared.errors import InvalidInput, field_error


@dataclass(frozen=True)
class IntakeOutcome:
    event_id: uuid.UUID
    duplicate: bool
    audience: list[str]
    webhook_deliveries: int


def validated_data(envelope: EventEnvelope, max_bytes: int) -> dict[str, Any]:
    try:
        entry = catalogue.lookup(envelope.type, envelope.version)
    except catalogue.UnknownEventType:
        raise InvalidInput(
            f"Unknown event type {envelope.type} v{envelope.version}",
            errors=[field_error(["type"], "not in the event catalogue", kind="unknown_type")],
        ) from None
    if entry.trade_scoped and envelope.trade_id is None:
        raise InvalidInput(
            f"{envelope.type} events belong to a trade",
            errors=[field_error(["trade_id"], "required for this event type", kind="missing")],
        )
    if len(orjson.dumps(envelope.data)) > max_bytes:
        raise InvalidInput(
            "Event data too large",
            errors=[field_error(["data"], f"larger than {max_bytes} bytes", kind="too_large")],
        )
    try:
        return catalogue.validate_data(envelope.type, envelope.version, envelope.data)
    except ValidationError as exc:
        raise InvalidInput(
            f"data does not match the {envelope.type} v{envelope.version} schema",
            errors=[
                field_error(["data", *err["loc"]], err["msg"], kind=err["type"])
                for err in exc.errors()
            ],
        ) from None


class EventIntake:
    def __init__(
        self,
        session: AsyncSession,
        *,
        runtime: Runtime,
        trades: TradeDirectory,
        max_event_data_bytes: int,
        public_base_url: str,
        mail_org_admins: bool = False,
    ) -> None:
        self.session = session
        self.runtime = runtime
        self.trades = trades
        self.max_event_data_bytes = max_event_data_bytes
        self.public_base_url = public_base_url
        # Whether a directory of administrators can be asked when the mail is sent (the gateway).
        self.mail_org_admins = mail_org_admins
        self.events = EventRepository(session)
        self.webhooks = WebhookRepository(session)
        self.inbox = InboxRepository(session)
        self.partners = PartnerRepository(session)

    async def accept(self, envelope: EventEnvelope) -> IntakeOutcome:
        data = validated_data(envelope, self.max_event_data_bytes)
        existing = await self.events.get(envelope.id)
        if existing is not None:
            return IntakeOutcome(envelope.id, True, await self.events.audience_of(envelope.id), 0)
        # Ask the trades service before writing anything, so no row lock is held while it answers.
        participants = (
            await self.trades.participants(envelope.trade_id)
            if envelope.trade_id is not None
            else None
        )
        # The projected membership changes before it is read, so an event about a new participant
        # reaches it too.
        await apply_membership_event(
            self.session,
            event_type=envelope.type,
            trade_id=envelope.trade_id,
            data=data,
            occurred_at=envelope.occurred_at,
        )
        if envelope.trade_id is not None and participants is None:
            participants = await projected_participants(self.session, envelope.trade_id)
        audience = decide_audience(
            participants=participants,
            event_type=envelope.type,
            data=data,
            requested=envelope.org_ids,
        )
        now = self.runtime.now()
        position = await self.events.insert_if_new(
            {
                "id": envelope.id,
                "type": envelope.type,
                "version": envelope.version,
                "source": envelope.source,
                "trade_id": envelope.trade_id,
                "occurred_at": envelope.occurred_at,
                "received_at": now,
                "requested_org_ids": envelope.org_ids,
                "data": data,
            }
        )
        if position is None:  # a concurrent delivery of the same id won the insert
            return IntakeOutcome(envelope.id, True, await self.events.audience_of(envelope.id), 0)
        event = Event(
            id=envelope.id,
            position=position,
            type=envelope.type,
            version=envelope.version,
            source=envelope.source,
            trade_id=envelope.trade_id,
            occurred_at=envelope.occurred_at,
            received_at=now,
            data=data,
        )
        deliveries = await self.fan_out(event, audience, now=now)
        return IntakeOutcome(envelope.id, False, audience, deliveries)

    async def fan_out(self, event: Event, audience: list[str], *, now: datetime) -> int:
        """The audience, one in-app notification per organisation and the webhook deliveries are
        written by one statement (``EventRepository.add_fan_out``); then mail and projections."""
        endpoint_ids = [
            endpoint_id
            for endpoint_id, event_types in await self.webhooks.endpoints_for_event(
                audience, event.trade_id
            )
            if catalogue.type_matches(event_types, event.type)
        ]
        deliveries = await self.events.add_fan_out(
            event_id=event.id,
            position=event.position,
            event_type=event.type,
            trade_id=event.trade_id,
            org_ids=audience,
            notification_ids=[self.runtime.new_id() for _ in audience],
            endpoint_ids=endpoint_ids,
            delivery_ids=[self.runtime.new_id() for _ in endpoint_ids],
            now=now,
        )
        await self._queue_mail(event, audience, now=now)
        if event.type.startswith("receiving_slip."):
            await self._project_receiving_slip(event, now=now)
        return deliveries

    async def _queue_mail(self, event: Event, audience: list[str], *, now: datetime) -> None:
        admins_only = event.type in ADMIN_MAIL_TYPES
        recipients = await self.inbox.mail_recipients(audience, admins_only=admins_only)
        rows = []
        for profile, preferences in recipients:
            if profile.email is None or not wants(preferences, event.type, "email"):
                continue
            mail = render_event_mail(event, profile.locale, self.public_base_url)
            rows.append(
                {
                    "id": self.runtime.new_id(),
                    "event_id": event.id,
                    "user_id": profile.user_id,
                    "to_address": profile.email,
                    "to_org_admins": None,
                    "locale": profile.locale,
                    "subject": mail.subject,
                    "body": mail.body,
                    "status": "pending",
                    "attempt_count": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
        if admins_only and self.mail_org_admins:
            # Every active administrator, found when the mail is sent (see Dispatcher.send_due_mail);
            # those who already have a row above keep it, the expansion skips their address.
            mail = render_event_mail(event, "ja", self.public_base_url)
            rows.extend(
                {
                    "id": self.runtime.new_id(),
                    "event_id": event.id,
                    "user_id": None,
                    "to_address": None,
                    "to_org_admins": org_id,
                    "locale": "ja",
                    "subject": mail.subject,
                    "body": mail.body,
                    "status": "pending",
                    "attempt_count": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for org_id in audience
            )
        await self.inbox.add_emails(rows)

    async def _project_receiving_slip(self, event: Event, *, now: datetime) -> None:
        """Keep the latest version of each slip for the terminal's listing (by terminal and date).

        A draft without a terminal or a planned date cannot be listed yet; its event and webhooks
        still go out.
        """
        data = event.data
        slip = data.get("receiving_slip") or {}
        terminal = slip.get("terminal") or {}
        terminal_code = terminal.get("code") or terminal.get("bondedAreaCode")
        planned = slip.get("plannedDeliveryDate")
        if event.trade_id is None or not terminal_code or not planned:
            return
        try:
            planned_date = date.fromisoformat(str(planned)[:10])
        except ValueError:
            return
        await self.partners.upsert_receiving_slip(
            {
                "slip_id": uuid.UUID(str(data["form_id"])),
                "trade_id": event.trade_id,
                "terminal_code": str(terminal_code)[:35],
                "planned_date": planned_date,
                "revision": int(data.get("version") or 1),
                "data": {**slip, "status": data.get("status"), "form_type": data.get("form_type")},
                "last_event_id": event.id,
                "updated_at": now,
            }
        )


async def record_own_event(
    intake: EventIntake,
    *,
    event_id: uuid.UUID,
    event_type: str,
    trade_id: uuid.UUID | None,
    org_ids: list[str] | None,
    data: dict[str, Any],
    occurred_at: datetime,
) -> IntakeOutcome:
    """Emit an event this service produces itself (partner inbound, endpoint disabled) into the log."""
    envelope = EventEnvelope(
        id=event_id,
        type=event_type,
        version=1,
        occurred_at=occurred_at,
        source="notifications",
        trade_id=trade_id,
        org_ids=org_ids,
        data=data,
    )
    return await intake.accept(envelope)
