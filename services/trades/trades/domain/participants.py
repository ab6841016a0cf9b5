"""Participants: invite, accept or decline, leave, remove. Each change takes effect on the next request
in every service, since access is read from ``trade_participant`` on every call (no cache)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from trades.db import repositories as repo
from trades.db.models import Participant
from trades.domain.access import Capability, TradeAccess
from trades.domain.errors import (
    AlreadyParticipant,
    NotPermitted,
    ParticipantNotFound,
    TradeNotFound,
)
from trades.domain.events import Actor, emit
from trades.runtime import Runtime
from trades.schemas import ParticipantInvite, ParticipantStatus


def audience_for(participant: Participant) -> list[str] | None:
    """Who may hear of events about this participant: everyone, or only it and its sponsor."""
    if not participant.hidden:
        return None
    return sorted(
        {participant.org_id, *([participant.sponsor_org_id] if participant.sponsor_org_id else [])}
    )


async def list_participants(session: AsyncSession, *, access: TradeAccess) -> list[Participant]:
    participants = await repo.current_participants(session, access.trade_id)
    hidden = access.hidden_org_ids
    return [p for p in participants if p.org_id not in hidden]


async def invite(
    session: AsyncSession,
    *,
    access: TradeAccess,
    actor: Actor,
    runtime: Runtime,
    data: ParticipantInvite,
) -> Participant:
    """Invite an organisation; it sees the trade once it accepts."""
    access.require(Capability.INVITE)
    now = runtime.clock()
    existing = await repo.get_participant(session, access.trade_id, data.org_id, for_update=True)
    if existing is not None and existing.status in (
        ParticipantStatus.INVITED,
        ParticipantStatus.ACTIVE,
    ):
        # A hidden participant's existence is not revealed to those who may not see it.
        raise AlreadyParticipant(
            "This organisation already takes part in the trade or has a pending invitation"
        )
    trade = await repo.get_trade(session, access.trade_id)
    if trade is None:
        raise TradeNotFound()
    if existing is None:
        participant = Participant(
            id=runtime.new_id(),
            trade_id=access.trade_id,
            org_id=data.org_id,
            trade_created_at=trade.created_at,
            is_owner=False,
        )
        session.add(participant)
    else:
        participant = existing
    participant.display_name = data.display_name
    participant.role = data.role
    participant.hidden = data.hidden
    participant.status = ParticipantStatus.INVITED
    participant.sponsor_org_id = access.viewer.org_id
    participant.invited_by_user_id = actor.user_id
    participant.invited_at = now
    participant.accepted_at = None
    participant.ended_at = None
    try:
        await session.flush()
    except IntegrityError as exc:  # invited concurrently by someone else
        raise AlreadyParticipant("This organisation was just invited by someone else") from exc
    await emit(
        session,
        runtime=runtime,
        trade_id=access.trade_id,
        topic="participant.invited",
        data=_participant_data(participant, trade_no=trade.trade_no),
        actor=actor,
        summary=f"Invited {participant.display_name} as {participant.role}"
        + (" (hidden)" if participant.hidden else ""),
        subject_org_id=participant.org_id,
        audience_org_ids=audience_for(participant),
    )
    return participant


def _participant_data(participant: Participant, *, trade_no: str) -> dict[str, object]:
    return {
        "trade_no": trade_no,
        "org_id": participant.org_id,
        "display_name": participant.display_name,
        "role": participant.role,
        "hidden": participant.hidden,
        "sponsor_org_id": participant.sponsor_org_id,
        "status": participant.status,
    }


async def _own_row(session: AsyncSession, access: TradeAccess) -> Participant:
    participant = await repo.get_participant(
        session, access.trade_id, access.viewer.org_id, for_update=True
    )
    if participant is None:
        raise TradeNotFound()
    return participant


async def _trade_no(session: AsyncSession, access: TradeAccess) -> str:
    trade = await repo.get_trade(session, access.trade_id)
    if trade is None:
        raise TradeNotFound()
    return trade.trade_no


async def respond(
    session: AsyncSession, *, access: TradeAccess, actor: Actor, runtime: Runtime, accept: bool
) -> Participant:
    """Accept or decline the caller organisation's invitation."""
    participant = await _own_row(session, access)
    if participant.status != ParticipantStatus.INVITED:
        raise AlreadyParticipant("There is no pending invitation for your organisation")
    now = runtime.clock()
    if accept:
        participant.status = ParticipantStatus.ACTIVE
        participant.accepted_at = now
    else:
        participant.status = ParticipantStatus.DECLINED
        participant.ended_at = now
    await session.flush()
    topic = "participant.added" if accept else "participant.declined"
    verb = "joined" if accept else "declined the invitation"
    await emit(
        session,
        runtime=runtime,
        trade_id=access.trade_id,
        topic=topic,
        data=_participant_data(participant, trade_no=await _trade_no(session, access)),
        actor=actor,
        summary=f"{participant.display_name} {verb} as {participant.role}",
        subject_org_id=participant.org_id,
        audience_org_ids=audience_for(participant),
    )
    return participant


async def leave(
    session: AsyncSession, *, access: TradeAccess, actor: Actor, runtime: Runtime
) -> Participant:
    access.require_active()
    if access.viewer.is_owner:
        raise NotPermitted("The owner organisation cannot leave its trade")
    participant = await _own_row(session, access)
    participant.status = ParticipantStatus.LEFT
    participant.ended_at = runtime.clock()
    await session.flush()
    await emit(
        session,
        runtime=runtime,
        trade_id=access.trade_id,
        topic="participant.left",
        data=_participant_data(participant, trade_no=await _trade_no(session, access)),
        actor=actor,
        summary=f"{participant.display_name} left the trade",
        subject_org_id=participant.org_id,
        audience_org_ids=audience_for(participant),
    )
    return participant


async def remove(
    session: AsyncSession, *, access: TradeAccess, actor: Actor, runtime: Runtime, org_id: str
) -> Participant:
    """The owner may remove anyone but itself; a sponsor may remove the organisations it invited."""
    access.require_active()
    target = access.member(org_id)
    if target is None or not access.sees(target):
        raise ParticipantNotFound("No such participant in this trade")
    if target.is_owner:
        raise NotPermitted("The owner organisation cannot be removed")
    if not (access.viewer.is_owner or target.sponsor_org_id == access.viewer.org_id):
        raise NotPermitted("Only the owner or the inviting organisation may remove a participant")
    participant = await repo.get_participant(session, access.trade_id, org_id, for_update=True)
    if participant is None:
        raise ParticipantNotFound("No such participant in this trade")
    participant.status = ParticipantStatus.REMOVED
    participant.ended_at = runtime.clock()
    await session.flush()
    await emit(
        session,
        runtime=runtime,
        trade_id=access.trade_id,
        topic="participant.removed",
        data=_participant_data(participant, trade_no=await _trade_no(session, access)),
        actor=actor,
        summary=f"{participant.display_name} was removed",
        subject_org_id=participant.org_id,
        audience_org_ids=audience_for(participant),
    )
    return participant
