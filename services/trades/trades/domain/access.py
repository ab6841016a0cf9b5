"""Who may see and do what in a trade.

* Only participants see a trade; everyone else gets 404 for it and everything under it.
* An *invited* organisation sees the trade itself (to decide) and may accept or decline; nothing else.
* A *hidden* (非公開) participant, typically a subcontractor, is seen only by itself and by its sponsor
  (the organisation that invited it). Timeline entries, tasks and participants concerning it are
  filtered out for everyone else. It cannot invite others.
* What an active participant may do depends on its role (``CAPABILITIES``); the owner may do all.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from trades.domain.errors import NotPermitted, TradeNotFound
from trades.schemas import ParticipantStatus, Role


class Capability(StrEnum):
    EDIT_TRADE = "edit_trade"
    CHANGE_STATUS = "change_status"
    INVITE = "invite"


CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.SHIPPER: frozenset({Capability.EDIT_TRADE, Capability.CHANGE_STATUS, Capability.INVITE}),
    Role.CONSIGNEE: frozenset({Capability.INVITE}),
    Role.FORWARDER: frozenset({Capability.EDIT_TRADE, Capability.CHANGE_STATUS, Capability.INVITE}),
    Role.NVOCC: frozenset({Capability.EDIT_TRADE, Capability.CHANGE_STATUS, Capability.INVITE}),
    Role.CARRIER: frozenset({Capability.EDIT_TRADE, Capability.CHANGE_STATUS}),
    Role.CUSTOMS_BROKER: frozenset({Capability.CHANGE_STATUS, Capability.INVITE}),
    Role.TERMINAL_OPERATOR: frozenset({Capability.CHANGE_STATUS}),
    Role.WAREHOUSE: frozenset(),
    Role.TRUCKER: frozenset(),
}

CURRENT_STATUSES = (ParticipantStatus.INVITED, ParticipantStatus.ACTIVE)


@dataclass(frozen=True, slots=True)
class Member:
    org_id: str
    role: Role
    status: ParticipantStatus
    hidden: bool
    is_owner: bool
    sponsor_org_id: str | None

    @property
    def active(self) -> bool:
        return self.status is ParticipantStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class TradeAccess:
    """The caller's standing in one trade, from one indexed query over its current participants."""

    trade_id: uuid.UUID
    viewer: Member
    members: tuple[Member, ...]

    def sees(self, member: Member) -> bool:
        return (
            not member.hidden
            or member.org_id == self.viewer.org_id
            or member.sponsor_org_id == self.viewer.org_id
        )

    def sees_org(self, org_id: str | None) -> bool:
        """False only for organisations that are hidden participants this viewer may not see."""
        if org_id is None:
            return True
        return org_id not in self.hidden_org_ids

    @property
    def hidden_org_ids(self) -> frozenset[str]:
        """Hidden participants this viewer may not see (filtered from timeline, tasks, threads)."""
        return frozenset(m.org_id for m in self.members if not self.sees(m))

    @property
    def visible_members(self) -> tuple[Member, ...]:
        return tuple(m for m in self.members if self.sees(m))

    def actor_audience(self) -> list[str] | None:
        """Who may learn of what this viewer does: everyone, or (if it is hidden) itself and its
        sponsor, as on the timeline."""
        if not self.viewer.hidden:
            return None
        return sorted({self.viewer.org_id, self.viewer.sponsor_org_id or self.viewer.org_id})

    def member(self, org_id: str) -> Member | None:
        return next((m for m in self.members if m.org_id == org_id), None)

    def can(self, capability: Capability) -> bool:
        if not self.viewer.active:
            return False
        if self.viewer.is_owner:
            return True
        if capability is Capability.INVITE and self.viewer.hidden:
            return False
        return capability in CAPABILITIES[self.viewer.role]

    def require(self, capability: Capability) -> None:
        if not self.can(capability):
            raise NotPermitted(
                f"Your role ({self.viewer.role}) may not {capability.replace('_', ' ')}"
            )

    def require_active(self) -> None:
        """Invited-only organisations see the trade but nothing under it: 404, not 403."""
        if not self.viewer.active:
            raise TradeNotFound()


def build_access(trade_id: uuid.UUID, org_id: str, members: Sequence[Member]) -> TradeAccess | None:
    """The caller's access, or ``None`` when its organisation does not currently take part."""
    viewer = next((m for m in members if m.org_id == org_id), None)
    if viewer is None or viewer.status not in CURRENT_STATUSES:
        return None
    return TradeAccess(trade_id=trade_id, viewer=viewer, members=tuple(members))
