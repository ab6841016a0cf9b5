"""Partner platforms pushing data in (TradeWaltz-style S/I, Colins-style schedules) and a
CONPAS-style terminal reading the container receiving slips for its gate.

Every push is stored once per (organisation, partner, kind, partner message id) with its processing
status; a repeat returns the stored record. The same id with different content is refused (422).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from notifications.clients.trades import TradeDirectory
from notifications.db.models import InboundMessage, ReceivingSlip, outbox_table
from notifications.db.repositories import PartnerRepository
from notifications.domain.events import EventIntake, record_own_event
from notifications.domain.membership import member_can_access
from notifications.domain.runtime import Runtime
from notifications.schemas import (
    CyAvailabilityPush,
    ShippingInstructionsPush,
    VesselSchedulePush,
)
from shared import outbox
from shared.errors import InvalidInput, NotFound, field_error

TRADEWALTZ = "tradewaltz"
COLINS = "colins"

# For trades (POST /internal/events): they move ETD/ETA of the trades on that vessel and voyage.
VESSEL_SCHEDULE_TOPIC = "vessel_schedule.updated"
VESSEL_SCHEDULE_VERSION = 1


class PartnerInbound:
    def __init__(
        self,
        session: AsyncSession,
        *,
        runtime: Runtime,
        trades: TradeDirectory,
        intake: EventIntake,
    ) -> None:
        self.repo = PartnerRepository(session)
        self.session = session
        self.runtime = runtime
        self.trades = trades
        self.intake = intake

    async def _store(
        self,
        *,
        org_id: str,
        client_id: str,
        partner: str,
        kind: str,
        message_id: str,
        trade_id: uuid.UUID | None,
        payload: dict[str, Any],
        status: str,
    ) -> tuple[InboundMessage, bool]:
        """The stored message and whether this call created it."""
        existing = await self.repo.find_inbound(org_id, partner, kind, message_id)
        if existing is None:
            now = self.runtime.now()
            inserted = await self.repo.insert_inbound_if_new(
                {
                    "id": self.runtime.new_id(),
                    "org_id": org_id,
                    "client_id": client_id,
                    "partner": partner,
                    "kind": kind,
                    "partner_message_id": message_id,
                    "trade_id": trade_id,
                    "payload": payload,
                    "status": status,
                    "attempt_count": 0,
                    "next_attempt_at": now if status == "received" else None,
                    "created_at": now,
                    "processed_at": None if status == "received" else now,
                }
            )
            existing = await self.repo.find_inbound(org_id, partner, kind, message_id)
            assert existing is not None
            if inserted:
                return existing, True
        if existing.payload != payload:
            raise InvalidInput(
                "This message_id was already used with different content",
                errors=[
                    field_error(["message_id"], "reused with different content", kind="reused")
                ],
            )
        return existing, False

    async def _emit(
        self,
        message: InboundMessage,
        *,
        event_type: str,
        trade_id: uuid.UUID | None,
        data: dict[str, Any],
    ) -> None:
        event_id = self.runtime.new_id()
        await record_own_event(
            self.intake,
            event_id=event_id,
            event_type=event_type,
            trade_id=trade_id,
            # Without a trade, the event's audience is the pushing organisation itself.
            org_ids=None if trade_id else [message.org_id],
            data=data,
            occurred_at=message.created_at,
        )
        message.event_id = event_id
        await self.session.flush()

    async def _to_trades(
        self, message: InboundMessage, *, fields: dict[str, Any], partner: str
    ) -> None:
        """The outbox row for trades, in this transaction: it exists iff the push was recorded."""
        payload = {
            "vessel_call_sign": None,
            "vessel_name": None,
            "voyage": None,
            "port": None,
            "etd": None,
            "eta": None,
            "cy_open_at": None,
            "cy_cut_off_at": None,
            **fields,
            "partner": partner,
            "org_id": message.org_id,
            "client_id": message.client_id,
            "source_message_id": message.partner_message_id,
            "inbound_id": str(message.id),
            "received_at": message.created_at.isoformat(),
        }
        await outbox.add_event(
            self.session,
            table=outbox_table,
            topic=VESSEL_SCHEDULE_TOPIC,
            version=VESSEL_SCHEDULE_VERSION,
            payload=payload,
            trade_id=None,
            event_id=self.runtime.new_id(),
            occurred_at=message.created_at,
        )

    async def push_shipping_instructions(
        self, org_id: str, client_id: str, push: ShippingInstructionsPush
    ) -> tuple[InboundMessage, bool]:
        if await member_can_access(self.session, self.trades, push.trade_id, org_id) is not True:
            raise NotFound("No such trade")
        payload = push.model_dump(mode="json")
        message, created = await self._store(
            org_id=org_id,
            client_id=client_id,
            partner=TRADEWALTZ,
            kind="shipping_instructions",
            message_id=push.message_id,
            trade_id=push.trade_id,
            payload=payload,
            status="received",  # the dispatcher forwards it to the forms service
        )
        if created:
            await self._emit(
                message,
                event_type="shipping_instructions.received",
                trade_id=push.trade_id,
                data={
                    "trade_id": str(push.trade_id),
                    "inbound_id": str(message.id),
                    "partner": TRADEWALTZ,
                    "partner_message_id": push.message_id,
                },
            )
        return message, created

    async def push_vessel_schedule(
        self, org_id: str, client_id: str, push: VesselSchedulePush
    ) -> tuple[InboundMessage, bool]:
        payload = push.model_dump(mode="json")
        message, created = await self._store(
            org_id=org_id,
            client_id=client_id,
            partner=COLINS,
            kind="vessel_schedule",
            message_id=push.message_id,
            trade_id=None,
            payload=payload,
            status="recorded",
        )
        if created:
            data = {k: v for k, v in payload.items() if k != "message_id"}
            data["source_message_id"] = push.message_id
            await self._emit(
                message, event_type="vessel_schedule.updated", trade_id=None, data=data
            )
            await self._to_trades(
                message,
                partner=COLINS,
                fields={
                    "vessel_call_sign": push.vessel_call_sign,
                    "vessel_name": push.vessel_name,
                    "voyage": push.voyage,
                    "port": push.port,
                    "etd": payload["etd"],
                    "eta": payload["eta"],
                },
            )
        return message, created

    async def push_cy_availability(
        self, org_id: str, client_id: str, push: CyAvailabilityPush
    ) -> tuple[InboundMessage, bool]:
        payload = push.model_dump(mode="json")
        message, created = await self._store(
            org_id=org_id,
            client_id=client_id,
            partner=COLINS,
            kind="cy_availability",
            message_id=push.message_id,
            trade_id=None,
            payload=payload,
            status="recorded",
        )
        if created:
            data = {k: v for k, v in payload.items() if k != "message_id"}
            data["source_message_id"] = push.message_id
            await self._emit(
                message, event_type="cy_availability.updated", trade_id=None, data=data
            )
            if push.voyage and push.vessel_name:
                await self._to_trades(
                    message,
                    partner=COLINS,
                    fields={
                        "vessel_name": push.vessel_name,
                        "voyage": push.voyage,
                        "cy_open_at": payload["cy_open_at"],
                        "cy_cut_off_at": payload["cy_cut_at"],
                    },
                )
        return message, created

    async def get(self, org_id: str, inbound_id: uuid.UUID) -> InboundMessage:
        message = await self.repo.get_inbound(inbound_id, org_id)
        if message is None:
            raise NotFound("No such inbound message")
        return message

    async def receiving_slips(
        self, org_id: str, terminal_code: str, planned_date: date, limit: int
    ) -> list[ReceivingSlip]:
        return await self.repo.receiving_slips_for(
            org_id=org_id, terminal_code=terminal_code, planned_date=planned_date, limit=limit
        )
