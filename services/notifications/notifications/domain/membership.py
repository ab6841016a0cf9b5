"""Trade membership projected from the trades service's events, and the audience of an event.

The trades service emits ``trade.created`` (with ``owner_org_id``) and ``participant.*`` events (with
``org_id``, ``status`` and ``hidden``); this service keeps who is in which trade from them. Its
payloads also carry ``audience_org_ids``: ``null`` means every participant may hear of the event, a
list means only those organisations (the trades service sets it for events about hidden participants,
task and message events addressed to some organisations).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from notifications.clients.trades import TradeDirectory, TradeParticipants
from notifications.db.repositories import MembershipRepository

ACTIVE = "active"
_STATUS_BY_EVENT = {
    "participant.invited": "invited",
    "participant.added": ACTIVE,
    "participant.declined": "declined",
    "participant.left": "left",
    "participant.removed": "removed",
}


def subject_org(event_type: str, data: dict[str, Any]) -> str | None:
    if event_type.startswith("participant.") and data.get("org_id"):
        return str(data["org_id"])
    return None


async def apply_membership_event(
    session: AsyncSession,
    *,
    event_type: str,
    trade_id: uuid.UUID | None,
    data: dict[str, Any],
    occurred_at: datetime,
) -> None:
    if trade_id is None:
        return
    repo = MembershipRepository(session)
    if event_type == "trade.created" and data.get("owner_org_id"):
        await repo.apply(
            trade_id=trade_id,
            org_id=str(data["owner_org_id"]),
            status=ACTIVE,
            hidden=False,
            at=occurred_at,
        )
        return
    org = subject_org(event_type, data)
    if org is None:
        return
    status = _STATUS_BY_EVENT.get(event_type) or str(data.get("status") or ACTIVE)
    if event_type == "participant.updated" and data.get("status"):
        status = str(data["status"])
    await repo.apply(
        trade_id=trade_id,
        org_id=org,
        status=status,
        hidden=bool(data.get("hidden", False)),
        at=occurred_at,
    )


async def projected_participants(session: AsyncSession, trade_id: uuid.UUID) -> TradeParticipants:
    """The active participants as this service's projection knows them."""
    members = await MembershipRepository(session).members(trade_id)
    return TradeParticipants.model_validate(
        {
            "trade_id": trade_id,
            "participants": [
                {"org_id": m.org_id, "hidden": m.hidden} for m in members if m.status == ACTIVE
            ],
        }
    )


async def member_can_access(
    session: AsyncSession, trades: TradeDirectory, trade_id: uuid.UUID, org_id: str
) -> bool | None:
    answer = await trades.can_access(trade_id, org_id)
    if answer is not None:
        return answer
    members = await MembershipRepository(session).members(trade_id)
    if not members:
        return None  # a trade this service has not heard of
    return any(m.org_id == org_id and m.status == ACTIVE for m in members)


def decide_audience(
    *,
    participants: TradeParticipants | None,
    event_type: str,
    data: dict[str, Any],
    requested: list[str] | None,
) -> list[str]:
    """The organisations that may see the event.

    A trade event goes to the trade's active participants, and a participant event also to the
    participant it is about (an invitee, a removed organisation). ``audience_org_ids`` in the data or
    ``org_ids`` in the envelope narrow it, never widen it beyond the trade. An event about a hidden
    participant, without an explicit audience, goes to that participant alone. An event without a
    trade goes to exactly the declared ``org_ids``.
    """
    declared: set[str] | None = set(requested) if requested is not None else None
    audience_in_data = data.get("audience_org_ids")
    if isinstance(audience_in_data, list):
        listed = {str(o) for o in audience_in_data}
        declared = listed if declared is None else declared & listed
    if participants is None:
        return sorted(declared or set())
    audience = participants.org_ids()
    subject = subject_org(event_type, data)
    if subject is not None:
        audience.add(subject)
        hidden = subject in participants.hidden_org_ids() or data.get("hidden") is True
        if hidden and declared is None:
            audience = {subject}
    if declared is not None:
        audience &= declared
    return sorted(audience)
