"""Participants of a trade: list, invite, accept or decline, leave, remove."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from shared.db import SessionDep
from shared.errors import PROBLEM_SCHEMA
from trades.api.deps import AccessDep, CallerDep, IdempotencyKey, RuntimeDep, idempotent
from trades.api.views import participant_read
from trades.domain import participants as participant_service
from trades.schemas import ParticipantInvite, ParticipantRead

router = APIRouter(prefix="/api/v1/trades/{trade_id}/participants", tags=["participants"])


@router.get("", response_model=list[ParticipantRead])
async def list_participants(session: SessionDep, access: AccessDep) -> list[ParticipantRead]:
    """Current participants you can see (hidden ones only if you are them or invited them)."""
    access.require_active()
    participants = await participant_service.list_participants(session, access=access)
    return [participant_read(p) for p in participants]


@router.post(
    "",
    status_code=201,
    response_model=ParticipantRead,
    responses={403: PROBLEM_SCHEMA, 409: PROBLEM_SCHEMA},
)
async def invite_participant(
    body: ParticipantInvite,
    request: Request,
    session: SessionDep,
    access: AccessDep,
    caller: CallerDep,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Invite an organisation with a role; `hidden` keeps it out of others' sight. Accepts `Idempotency-Key`."""

    async def produce() -> tuple[int, Any, dict[str, str]]:
        participant = await participant_service.invite(
            session, access=access, actor=caller.actor, runtime=runtime, data=body
        )
        return 201, participant_read(participant).model_dump(mode="json"), {}

    return await idempotent(
        session,
        request=request,
        caller=caller,
        runtime=runtime,
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        produce=produce,
    )


@router.post("/me/accept", response_model=ParticipantRead, responses={409: PROBLEM_SCHEMA})
async def accept_invitation(
    session: SessionDep, access: AccessDep, caller: CallerDep, runtime: RuntimeDep
) -> ParticipantRead:
    """Accept your organisation's invitation to the trade."""
    participant = await participant_service.respond(
        session, access=access, actor=caller.actor, runtime=runtime, accept=True
    )
    return participant_read(participant)


@router.post("/me/decline", response_model=ParticipantRead, responses={409: PROBLEM_SCHEMA})
async def decline_invitation(
    session: SessionDep, access: AccessDep, caller: CallerDep, runtime: RuntimeDep
) -> ParticipantRead:
    """Decline your organisation's invitation; the trade disappears from your view."""
    participant = await participant_service.respond(
        session, access=access, actor=caller.actor, runtime=runtime, accept=False
    )
    return participant_read(participant)


@router.post("/me/leave", response_model=ParticipantRead, responses={403: PROBLEM_SCHEMA})
async def leave_trade(
    session: SessionDep, access: AccessDep, caller: CallerDep, runtime: RuntimeDep
) -> ParticipantRead:
    """Leave the trade (not possible for the owner)."""
    participant = await participant_service.leave(
        session, access=access, actor=caller.actor, runtime=runtime
    )
    return participant_read(participant)


@router.delete("/{org_id}", response_model=ParticipantRead, responses={403: PROBLEM_SCHEMA})
async def remove_participant(
    org_id: str, session: SessionDep, access: AccessDep, caller: CallerDep, runtime: RuntimeDep
) -> ParticipantRead:
    """Remove a participant (owner: anyone; others: the organisations they invited). Immediate."""
    participant = await participant_service.remove(
        session, access=access, actor=caller.actor, runtime=runtime, org_id=org_id
    )
    return participant_read(participant)
