"""Service-to-service endpoints (service tokens only; the gateway does not route ``/internal``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from shared.db import SessionDep
from shared.errors import PROBLEM_SCHEMA
from trades.api.deps import RuntimeDep, ServiceDep
from trades.db import repositories as repo
from trades.domain import timeline as timeline_service
from trades.domain.access import Member, TradeAccess
from trades.schemas import AccessAnswer, IncomingEvent, IntakeResult, ParticipantStatus, Role

router = APIRouter(prefix="/internal", tags=["internal"])


@router.get("/trades/{trade_id}/access", response_model=AccessAnswer)
async def trade_access(
    trade_id: uuid.UUID,
    org: Annotated[str, Query(min_length=1, max_length=64)],
    session: SessionDep,
    _service: ServiceDep,
) -> AccessAnswer:
    """May `org` see this trade, in which role, and which participants can it see? One indexed query.

    Other services call this on every request that touches a trade, so a removed participant loses
    access everywhere at once. A non-participant gets `participant: false` (not 404: the caller is a
    trusted service that needs the answer).
    """
    rows = await repo.access_rows(session, trade_id)
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
