"""Service-to-service endpoints (service tokens only; the gateway does not route ``/internal``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from shared.db import ReadSessionDep, SessionDep
from shared.errors import PROBLEM_SCHEMA, InvalidInput, field_error
from trades.api.deps import RuntimeDep, ServiceDep
from trades.db import repositories as repo
from trades.domain import timeline as timeline_service
from trades.domain.access import Member, TradeAccess
from trades.domain.errors import TradeNotFound
from trades.schemas import (
    AccessAnswer,
    IncomingEvent,
    IntakeResult,
    InternalParticipant,
    InternalParticipants,
    ParticipantStatus,
    Role,
)

router = APIRouter(prefix="/internal", tags=["internal"])


OrgQuery = Annotated[str | None, Query(min_length=1, max_length=64)]


@router.get(
    "/trades/{trade_id}/access", response_model=AccessAnswer, responses={404: PROBLEM_SCHEMA}
)
async def trade_access(
    trade_id: uuid.UUID,
    # One statement decides (the trade's existence is read only when it found no row), so it needs
    # no transaction around it: this runs for every request another service makes on a trade.
    session: ReadSessionDep,
    _service: ServiceDep,
    org: OrgQuery = None,
    org_id: Annotated[OrgQuery, Query(description="Same as `org`")] = None,
) -> AccessAnswer:
    """May `org` see this trade, in which role, and which participants can it see? One indexed query.

    Other services call this on every request that touches a trade, so a removed participant loses
    access everywhere at once. A non-participant gets `participant: false` (the caller is a trusted
    service that needs the answer); a trade that does not exist is 404.
    """
    org = org or org_id
    if org is None:
        raise InvalidInput(
            "Name the organisation", errors=[field_error(["query", "org"], "required")]
        )
    rows = await repo.access_rows(session, trade_id, with_trade_no=True)
    if not rows and await repo.get_trade(session, trade_id) is None:
        raise TradeNotFound()
    members = [
        Member(
            org_id=r.org_id,
            role=Role(r.role),
            status=ParticipantStatus(r.status),
            hidden=r.hidden,
            is_owner=r.is_owner,
            sponsor_org_id=r.sponsor_org_id,
        )
        for r in rows
    ]
    viewer = next((m for m in members if m.org_id == org), None)
    if viewer is None or not viewer.active:
        return AccessAnswer(
            trade_id=trade_id,
            org_id=org,
            participant=False,
            status=viewer.status if viewer else None,
            role=viewer.role if viewer else None,
            hidden=viewer.hidden if viewer else False,
            is_owner=False,
            visible_participant_org_ids=[],
        )
    access = TradeAccess(trade_id=trade_id, viewer=viewer, members=tuple(members))
    return AccessAnswer(
        trade_id=trade_id,
        org_id=org,
        participant=True,
        status=viewer.status,
        role=viewer.role,
        hidden=viewer.hidden,
        is_owner=viewer.is_owner,
        visible_participant_org_ids=sorted(m.org_id for m in access.visible_members if m.active),
        trade_no=rows[0].trade_no,
    )


@router.get(
    "/trades/{trade_id}/participants",
    response_model=InternalParticipants,
    responses={404: PROBLEM_SCHEMA},
)
async def trade_participants(
    trade_id: uuid.UUID, session: SessionDep, _service: ServiceDep
) -> InternalParticipants:
    """Every active participant, hidden ones flagged with their sponsor: who may hear of an event."""
    participants = await repo.current_participants(session, trade_id)
    if not participants and await repo.get_trade(session, trade_id) is None:
        raise TradeNotFound()
    return InternalParticipants(
        trade_id=trade_id,
        participants=[
            InternalParticipant(
                org_id=p.org_id,
                display_name=p.display_name,
                role=Role(p.role),
                roles=[Role(p.role)],
                hidden=p.hidden,
                sponsor_org_id=p.sponsor_org_id,
                is_owner=p.is_owner,
            )
            for p in participants
            if p.status == ParticipantStatus.ACTIVE
        ],
    )


@router.post(
    "/events",
    response_model=IntakeResult,
    responses={200: {"description": "Already recorded (replay)"}, 404: PROBLEM_SCHEMA},
    status_code=201,
)
async def receive_event(
    event: IncomingEvent,
    session: SessionDep,
    runtime: RuntimeDep,
    _service: ServiceDep,
    response: Response,
) -> IntakeResult:
    """Record another service's event on the trade's timeline; idempotent by (source, event id)."""
    result = await timeline_service.record_external_event(session, runtime=runtime, event=event)
    if not result.recorded:
        response.status_code = 200
    return result
