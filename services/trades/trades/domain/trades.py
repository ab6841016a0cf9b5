"""Trades: creation with a system-unique number, edits under optimistic concurrency, the lifecycle."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from shared.concurrency import check_if_match, etag_for
from shared.errors import InvalidInput, PreconditionFailed, field_error
from trades.db import repositories as repo
from trades.db.models import Participant, Trade, TradeContainer
from trades.domain import lifecycle
from trades.domain.access import Capability, Member, TradeAccess, build_access
from trades.domain.errors import (
    DuplicateHouseReference,
    InvalidStatusTransition,
    NotPermitted,
    TradeClosed,
    TradeNotFound,
)
from trades.domain.events import Actor, emit
from trades.runtime import Runtime
from trades.schemas import (
    ContainerIn,
    IncomingEvent,
    ParticipantStatus,
    Role,
    StatusChange,
    TradeCreate,
    TradeUpdate,
)

TRADE_NUMBER_PREFIX = {lifecycle.Direction.EXPORT: "EXP", lifecycle.Direction.IMPORT: "IMP"}

# Request field → column, for the fields a PATCH may change (vessel is split in two).
SIMPLE_FIELDS = (
    "owner_reference",
    "bl_no",
    "booking_no",
    "carrier_scac",
    "voyage_no",
    "place_of_receipt",
    "port_of_loading",
    "port_of_discharge",
    "place_of_delivery",
    "etd",
    "eta",
)


def format_trade_number(direction: lifecycle.Direction, year: int, number: int) -> str:
    """``EXP-2026-000123``: prefix by direction, the year of creation, a system-wide sequence."""
    return f"{TRADE_NUMBER_PREFIX[direction]}-{year}-{number:06d}"


def trade_etag(trade: Trade) -> str:
    return etag_for(trade.id, trade.version)


async def get_access(session: AsyncSession, *, trade_id: uuid.UUID, org_id: str) -> TradeAccess:
    """The caller's standing in the trade; 404 when its organisation does not take part."""
    rows = await repo.access_rows(session, trade_id)
    members = [
        Member(
            org_id=row.org_id,
            role=Role(row.role),
            status=ParticipantStatus(row.status),
            hidden=row.hidden,
            is_owner=row.is_owner,
            sponsor_org_id=row.sponsor_org_id,
        )
        for row in rows
    ]
    access = build_access(trade_id, org_id, members)
    if access is None:
        raise TradeNotFound()
    return access


async def get_trade(session: AsyncSession, *, access: TradeAccess) -> Trade:
    trade = await repo.get_trade(session, access.trade_id, with_containers=True)
    if trade is None:
        raise TradeNotFound()
    return trade


def _containers(trade_id: uuid.UUID, containers: list[ContainerIn]) -> list[TradeContainer]:
    return [
        TradeContainer(
            trade_id=trade_id,
            container_no=c.container_no,
            size_type=c.size_type,
            seal_no=c.seal_no,
            position=index,
        )
        for index, c in enumerate(containers)
    ]


def _container_numbers(containers: list[ContainerIn]) -> str | None:
    return " ".join(c.container_no for c in containers) or None


async def _check_house_reference(
    session: AsyncSession, *, owner_org_id: str, reference: str | None, trade_id: uuid.UUID | None
) -> None:
    if reference and await repo.house_reference_taken(
        session, owner_org_id=owner_org_id, owner_reference=reference, except_trade=trade_id
    ):
        raise DuplicateHouseReference(f"House reference {reference!r} is already in use")


async def create_trade(
    session: AsyncSession, *, actor: Actor, org_id: str, runtime: Runtime, data: TradeCreate
) -> Trade:
    """Create a trade owned by the caller's organisation, which becomes its first participant."""
    await _check_house_reference(
        session, owner_org_id=org_id, reference=data.owner_reference, trade_id=None
    )
    now = runtime.clock()
    trade_id = runtime.new_id()
    number = await repo.next_trade_number(session)
    trade = Trade(
        id=trade_id,
        trade_no=format_trade_number(data.direction, now.year, number),
        direction=data.direction,
        status=lifecycle.TradeStatus.DRAFT,
        owner_org_id=org_id,
        owner_reference=data.owner_reference,
        bl_no=data.bl_no,
        booking_no=data.booking_no,
        carrier_scac=data.carrier_scac,
        vessel_call_sign=data.vessel.call_sign if data.vessel else None,
        vessel_name=data.vessel.name if data.vessel else None,
        voyage_no=data.voyage_no,
        place_of_receipt=data.place_of_receipt,
        port_of_loading=data.port_of_loading,
        port_of_discharge=data.port_of_discharge,
        place_of_delivery=data.place_of_delivery,
        etd=data.etd,
        eta=data.eta,
        container_numbers=_container_numbers(data.containers),
        created_at=now,
        updated_at=now,
        created_by_user_id=actor.user_id or "",
        containers=_containers(trade_id, data.containers),
    )
    owner = Participant(
        id=runtime.new_id(),
        trade_id=trade_id,
        org_id=org_id,
        display_name=data.owner_display_name,
        role=data.owner_role,
        status=ParticipantStatus.ACTIVE,
        hidden=False,
        is_owner=True,
        sponsor_org_id=None,
        invited_by_user_id=actor.user_id,
        trade_created_at=now,
        invited_at=now,
        accepted_at=now,
    )
    try:
        await repo.add(session, trade)
        await repo.add(session, owner)
    except IntegrityError as exc:  # a concurrent create with the same house reference
        raise DuplicateHouseReference("House reference is already in use") from exc
    await emit(
        session,
        runtime=runtime,
        trade_id=trade_id,
        topic="trade.created",
        data={
            "trade_no": trade.trade_no,
            "direction": trade.direction,
            "status": trade.status,
            "owner_org_id": org_id,
            "owner_role": data.owner_role,
            "bl_no": trade.bl_no,
            "booking_no": trade.booking_no,
            "carrier_scac": trade.carrier_scac,
        },
        actor=actor,
        summary=f"Trade {trade.trade_no} created",
        after={"status": trade.status, "trade_no": trade.trade_no},
    )
    return trade


def _snapshot(trade: Trade) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(trade, name) for name in SIMPLE_FIELDS}
    values["vessel_call_sign"] = trade.vessel_call_sign
    values["vessel_name"] = trade.vessel_name
    values["containers"] = trade.container_numbers
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in values.items()}


async def _flush_versioned(session: AsyncSession) -> None:
    try:
        await session.flush()
    except StaleDataError as exc:
        # Someone committed a change between our read and our write (UPDATE ... WHERE version=).
        raise PreconditionFailed(
            "The trade was changed by someone else; read it again and reapply your change"
        ) from exc
    except IntegrityError as exc:  # the only unique key a PATCH can touch
        raise DuplicateHouseReference("House reference is already in use") from exc


async def update_trade(
    session: AsyncSession,
    *,
    access: TradeAccess,
    actor: Actor,
    runtime: Runtime,
    if_match: str | None,
    data: TradeUpdate,
) -> Trade:
    """Apply the fields sent; requires the ETag of the version the caller read."""
    access.require(Capability.EDIT_TRADE)
    trade = await get_trade(session, access=access)
    check_if_match(if_match, trade_etag(trade))
    if lifecycle.TradeStatus(trade.status) in lifecycle.TERMINAL:
        raise TradeClosed(f"Trade {trade.trade_no} is {trade.status}")
    sent = data.model_fields_set
    if "owner_reference" in sent and not access.viewer.is_owner:
        raise NotPermitted("The house reference belongs to the owner organisation")
    if "owner_reference" in sent:
        await _check_house_reference(
            session,
            owner_org_id=trade.owner_org_id,
            reference=data.owner_reference,
            trade_id=trade.id,
        )
    before = _snapshot(trade)
    for name in SIMPLE_FIELDS:
        if name in sent:
            setattr(trade, name, getattr(data, name))
    if "vessel" in sent:
        vessel = data.vessel
        if vessel is None:
            trade.vessel_call_sign = trade.vessel_name = None
        else:
            if "call_sign" in vessel.model_fields_set:
                trade.vessel_call_sign = vessel.call_sign
            if "name" in vessel.model_fields_set:
                trade.vessel_name = vessel.name
    if "containers" in sent:
        containers = data.containers or []
        trade.containers = _containers(trade.id, containers)
        trade.container_numbers = _container_numbers(containers)
    if trade.booking_no is not None and trade.carrier_scac is None:
        raise InvalidInput(
            "carrier_scac is required with booking_no",
            errors=[field_error(["carrier_scac"], "required with booking_no")],
        )
    after = _snapshot(trade)
    changed = {k: {"before": before[k], "after": after[k]} for k in after if before[k] != after[k]}
    if "owner_reference" in changed:
        # The house reference is the owner's private key: history says it changed, not to what.
        changed["owner_reference"] = {"before": None, "after": None}
    if not changed:
        return trade
    trade.updated_at = runtime.clock()
    await _flush_versioned(session)
    await emit(
        session,
        runtime=runtime,
        trade_id=trade.id,
        topic="trade.updated",
        data={"trade_no": trade.trade_no, "changed": changed, "version": trade.version},
        actor=actor,
        summary=f"Changed {', '.join(sorted(changed))}",
        audience_org_ids=access.actor_audience(),
        before={k: v["before"] for k, v in changed.items()},
        after={k: v["after"] for k, v in changed.items()},
    )
    return trade


async def change_status(
    session: AsyncSession,
    *,
    access: TradeAccess,
    actor: Actor,
    runtime: Runtime,
    if_match: str | None,
    change: StatusChange,
) -> Trade:
    """Move the trade along its lifecycle (``lifecycle.TRANSITIONS``)."""
    access.require(Capability.CHANGE_STATUS)
    trade = await get_trade(session, access=access)
    check_if_match(if_match, trade_etag(trade))
    direction = lifecycle.Direction(trade.direction)
    current = lifecycle.TradeStatus(trade.status)
    if not lifecycle.can_transition(direction, current, change.status):
        allowed = sorted(lifecycle.allowed_next(direction, current))
        raise InvalidStatusTransition(current, change.status, list(allowed))
    trade.status = change.status
    trade.updated_at = runtime.clock()
    await _flush_versioned(session)
    await emit(
        session,
        runtime=runtime,
        trade_id=trade.id,
        topic="trade.status_changed",
        data={
            "trade_no": trade.trade_no,
            "from": current,
            "to": change.status,
            "reason": change.reason,
            "version": trade.version,
        },
        actor=actor,
        audience_org_ids=access.actor_audience(),
        summary=f"Status {current} → {change.status}"
        + (f": {change.reason}" if change.reason else ""),
        before={"status": current},
        after={"status": change.status},
    )
    return trade


async def list_trades(
    session: AsyncSession,
    *,
    org_id: str,
    filters: repo.TradeFilters,
    after: tuple[Any, uuid.UUID] | None,
    limit: int,
) -> tuple[Sequence[Row[Any]], tuple[Any, uuid.UUID] | None]:
    """One page of the organisation's trades (``repo.TRADE_SUMMARY_COLUMNS``) and the key of its
    last row when more follow."""
    rows = await repo.list_trades(
        session, org_id=org_id, filters=filters, after=after, limit=limit + 1
    )
    page = rows[:limit]
    next_key = (page[-1].created_at, page[-1].id) if len(rows) > limit else None
    return page, next_key


async def apply_status_rules(
    session: AsyncSession, *, runtime: Runtime, trade: Trade, event: IncomingEvent
) -> lifecycle.TradeStatus | None:
    """Move the trade as the first matching status rule says; the new status, or None.

    The caller holds the trade row locked (``FOR UPDATE``), so this never races a user's edit into a
    412: the user's edit waits, then finds the new version and gets 412 itself, as it should.
    """
    for rule in await repo.status_rules_for_event(session, event.type):
        if rule.direction is not None and rule.direction != trade.direction:
            continue
        if any(event.data.get(key) != value for key, value in rule.match.items()):
            continue
        if trade.status not in rule.from_statuses:
            continue
        current = lifecycle.TradeStatus(trade.status)
        target = lifecycle.TradeStatus(rule.to_status)
        trade.status = target
        trade.updated_at = runtime.clock()
        await _flush_versioned(session)
        await emit(
            session,
            runtime=runtime,
            trade_id=trade.id,
            topic="trade.status_changed",
            data={
                "trade_no": trade.trade_no,
                "from": current,
                "to": target,
                "reason": f"{event.type} from {event.source}",
                "version": trade.version,
                "rule_id": rule.id,
                "caused_by": {"source": event.source, "event_id": event.id, "type": event.type},
            },
            actor=Actor(user_id=None, org_id=None),
            summary=f"Status {current} → {target} ({event.type} from {event.source})",
            before={"status": current},
            after={"status": target},
        )
        return target
    return None


async def pending_invitations(session: AsyncSession, *, org_id: str) -> list[Trade]:
    """Invitations waiting for the organisation's answer (at most 200: they are answered or expire
    from view as they are accepted or declined)."""
    return await repo.pending_invitations(session, org_id=org_id, limit=200)
