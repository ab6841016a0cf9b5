"""The access rules as pure functions: who sees whom, who may do what."""

from __future__ import annotations

import uuid

import pytest

from trades.domain.access import Capability, Member, build_access
from trades.domain.errors import NotPermitted, TradeNotFound
from trades.schemas import ParticipantStatus, Role

TRADE = uuid.UUID(int=1)


def member(org: str, role: Role, **kwargs: object) -> Member:
    values: dict[str, object] = {
        "status": ParticipantStatus.ACTIVE,
        "hidden": False,
        "is_owner": False,
        "sponsor_org_id": None,
    }
    values.update(kwargs)
    return Member(org_id=org, role=role, **values)  # type: ignore[arg-type]


MEMBERS = [
    member("owner", Role.SHIPPER, is_owner=True),
    member("fwd", Role.FORWARDER, sponsor_org_id="owner"),
    member("trk", Role.TRUCKER, hidden=True, sponsor_org_id="fwd"),
    member("car", Role.CARRIER, sponsor_org_id="owner"),
    member("new", Role.WAREHOUSE, status=ParticipantStatus.INVITED, sponsor_org_id="owner"),
]


def test_strangers_get_nothing() -> None:
    assert build_access(TRADE, "stranger", MEMBERS) is None


@pytest.mark.parametrize(
    ("viewer", "hidden_from_viewer"),
    [("owner", {"trk"}), ("fwd", set()), ("trk", set()), ("car", {"trk"})],
)
def test_hidden_participants_are_seen_by_themselves_and_their_sponsor(
    viewer: str, hidden_from_viewer: set[str]
) -> None:
    access = build_access(TRADE, viewer, MEMBERS)
    assert access is not None
    assert access.hidden_org_ids == hidden_from_viewer


def test_invited_sees_the_trade_but_may_do_nothing() -> None:
    access = build_access(TRADE, "new", MEMBERS)
    assert access is not None
    assert not any(access.can(c) for c in Capability)
    with pytest.raises(TradeNotFound):
        access.require_active()


def test_owner_may_do_everything_and_hidden_may_not_invite() -> None:
    owner = build_access(TRADE, "owner", MEMBERS)
    trucker = build_access(TRADE, "trk", MEMBERS)
    assert owner is not None
    assert trucker is not None
    assert all(owner.can(c) for c in Capability)
    with pytest.raises(NotPermitted):
        trucker.require(Capability.INVITE)


def test_hidden_forwarder_keeps_its_role_rights_but_cannot_invite() -> None:
    members = [*MEMBERS, member("hfwd", Role.FORWARDER, hidden=True, sponsor_org_id="owner")]
    access = build_access(TRADE, "hfwd", members)
    assert access is not None
    assert access.can(Capability.EDIT_TRADE)
    assert access.can(Capability.CHANGE_STATUS)
    assert not access.can(Capability.INVITE)
