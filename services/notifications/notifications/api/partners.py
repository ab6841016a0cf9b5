"""Partner inbound routes (partner client credentials through the gateway)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from notifications.api.deps import IntakeDep, RuntimeDep, TradesDep, org_of, require_partner_scope
from notifications.db.models import InboundMessage
from notifications.domain.partners import PartnerInbound
from notifications.schemas import (
    CyAvailabilityPush,
    InboundOut,
    ReceivingSlipList,
    ReceivingSlipOut,
    ShippingInstructionsPush,
    VesselSchedulePush,
)
from shared.auth import Principal
from shared.db import SessionDep
from shared.errors import PROBLEM_SCHEMA

# The gateway's partner scopes (gateway.domain.catalogue.PARTNER_SCOPES); schedules:push is new.
SI_PUSH_SCOPE = "si:push"
SCHEDULE_PUSH_SCOPE = "schedules:push"
RECEIVING_SLIPS_READ_SCOPE = "receiving-slips:read"

SiPusherDep = Annotated[Principal, require_partner_scope(SI_PUSH_SCOPE)]
SchedulePusherDep = Annotated[Principal, require_partner_scope(SCHEDULE_PUSH_SCOPE)]
InboundReaderDep = Annotated[Principal, require_partner_scope(SI_PUSH_SCOPE, SCHEDULE_PUSH_SCOPE)]
TerminalDep = Annotated[Principal, require_partner_scope(RECEIVING_SLIPS_READ_SCOPE)]

router = APIRouter(
    prefix="/api/v1/notifications/partners",
    tags=["notifications"],
    responses={403: PROBLEM_SCHEMA},
)


def inbound_out(message: InboundMessage, *, duplicate: bool) -> InboundOut:
    return InboundOut(
        id=message.id,
        partner=message.partner,
        kind=message.kind,
        partner_message_id=message.partner_message_id,
        trade_id=message.trade_id,
        status=message.status,
        status_detail=message.status_detail,
        event_id=message.event_id,
        created_at=message.created_at,
        processed_at=message.processed_at,
        duplicate=duplicate,
    )


def partner_inbound(
    session: SessionDep, runtime: RuntimeDep, trades: TradesDep, intake: IntakeDep
) -> PartnerInbound:
    return PartnerInbound(session, runtime=runtime, trades=trades, intake=intake)


@router.post(
    "/tradewaltz/shipping-instructions",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Push S/I data for a trade (stored, then forwarded to the forms service)",
    responses={200: {"description": "already received (same message_id)"}, 404: PROBLEM_SCHEMA},
)
async def push_shipping_instructions(
    push: ShippingInstructionsPush,
    response: Response,
    session: SessionDep,
    runtime: RuntimeDep,
    trades: TradesDep,
    intake: IntakeDep,
    principal: SiPusherDep,
) -> InboundOut:
    inbound = partner_inbound(session, runtime, trades, intake)
    message, created = await inbound.push_shipping_instructions(
        org_of(principal), principal.subject, push
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return inbound_out(message, duplicate=not created)


@router.post(
    "/colins/vessel-schedules",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Push a vessel schedule update (recorded and emitted as vessel_schedule.updated)",
    responses={200: {"description": "already received (same message_id)"}},
)
async def push_vessel_schedule(
    push: VesselSchedulePush,
    response: Response,
    session: SessionDep,
    runtime: RuntimeDep,
    trades: TradesDep,
    intake: IntakeDep,
    principal: SchedulePusherDep,
) -> InboundOut:
    inbound = partner_inbound(session, runtime, trades, intake)
    message, created = await inbound.push_vessel_schedule(
        org_of(principal), principal.subject, push
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return inbound_out(message, duplicate=not created)


@router.post(
    "/colins/cy-availability",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Push CY availability (recorded and emitted as cy_availability.updated)",
    responses={200: {"description": "already received (same message_id)"}},
)
async def push_cy_availability(
    push: CyAvailabilityPush,
    response: Response,
    session: SessionDep,
    runtime: RuntimeDep,
    trades: TradesDep,
    intake: IntakeDep,
    principal: SchedulePusherDep,
) -> InboundOut:
    inbound = partner_inbound(session, runtime, trades, intake)
    message, created = await inbound.push_cy_availability(
        org_of(principal), principal.subject, push
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return inbound_out(message, duplicate=not created)


@router.get(
    "/inbound/{inbound_id}",
    summary="Processing status of a pushed message",
    responses={404: PROBLEM_SCHEMA},
)
async def get_inbound(
    inbound_id: uuid.UUID,
    session: SessionDep,
    runtime: RuntimeDep,
    trades: TradesDep,
    intake: IntakeDep,
    principal: InboundReaderDep,
) -> InboundOut:
    inbound = partner_inbound(session, runtime, trades, intake)
    return inbound_out(await inbound.get(org_of(principal), inbound_id), duplicate=False)


@router.get(
    "/terminal/receiving-slips",
    summary="Container receiving slips (搬入票) for a terminal and gate date",
)
async def list_receiving_slips(
    principal: TerminalDep,
    session: SessionDep,
    runtime: RuntimeDep,
    trades: TradesDep,
    intake: IntakeDep,
    terminal_code: Annotated[str, Query(min_length=1, max_length=35)],
    planned_date: Annotated[date, Query(alias="date")],
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> ReceivingSlipList:
    inbound = partner_inbound(session, runtime, trades, intake)
    slips = await inbound.receiving_slips(org_of(principal), terminal_code, planned_date, limit)
    return ReceivingSlipList(
        terminal_code=terminal_code,
        date=planned_date,
        items=[
            ReceivingSlipOut(
                slip_id=s.slip_id,
                trade_id=s.trade_id,
                terminal_code=s.terminal_code,
                planned_date=s.planned_date,
                revision=s.revision,
                data=s.data,
                updated_at=s.updated_at,
            )
            for s in slips
        ],
    )
