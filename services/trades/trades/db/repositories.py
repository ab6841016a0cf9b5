"""Every query of the trades service. Repositories flush; the unit of work commits."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Integer,
    Row,
    Select,
    and_,
    any_,
    bindparam,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import UUID, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from trades.db.models import (
    Message,
    MessageRead,
    MessageThread,
    Participant,
    StatusRule,
    Task,
    TaskComment,
    TaskRule,
    TimelineEntry,
    Trade,
    trade_number_seq,
)

CURRENT_PARTICIPANT_STATUSES = ("invited", "active")
OPEN_TASK_STATUSES = ("open", "in_progress")


async def add(session: AsyncSession, *objects: object) -> None:
    session.add_all(objects)
    await session.flush()


async def next_trade_number(session: AsyncSession) -> int:
    return int(await session.scalar(select(trade_number_seq.next_value())) or 0)


# --- trades ------------------------------------------------------------------------------------


async def get_trade(
    session: AsyncSession,
    trade_id: uuid.UUID,
    *,
    with_containers: bool = False,
    for_update: bool = False,
) -> Trade | None:
    statement = select(Trade).where(Trade.id == trade_id)
    if with_containers:
        statement = statement.options(selectinload(Trade.containers))
    if for_update:
        statement = statement.with_for_update(of=Trade)
    return (await session.execute(statement)).scalar_one_or_none()


async def house_reference_taken(
    session: AsyncSession,
    *,
    owner_org_id: str,
    owner_reference: str,
    except_trade: uuid.UUID | None,
) -> bool:
    statement = select(
        exists().where(
            Trade.owner_org_id == owner_org_id,
            Trade.owner_reference == owner_reference,
            Trade.id != except_trade if except_trade else literal(True),
        )
    )
    return bool(await session.scalar(statement))


@dataclass(frozen=True, slots=True)
class TradeFilters:
    statuses: Sequence[str] = ()
    direction: str | None = None
    vessel_call_sign: str | None = None
    vessel_name: str | None = None
    voyage_no: str | None = None
    etd_from: date | None = None
    etd_to: date | None = None
    eta_from: date | None = None
    eta_to: date | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    participant_org_id: str | None = None
    text: str | None = None
    bl_no: str | None = None
    booking_no: str | None = None
    carrier_scac: str | None = None
    house_reference: str | None = None
    container_no: str | None = None


_TOKEN = re.compile(r"[A-Za-z0-9]+")


def prefix_tsquery(text: str) -> str | None:
    """``"oney 1234"`` → ``"oney:* & 1234:*"``; only letters and digits reach the query parser."""
    tokens = [token.lower() for token in _TOKEN.findall(text)][:8]
    return " & ".join(f"{token}:*" for token in tokens) or None


# The trade list's statement is built once per *shape* (which filters are given, how many statuses,
# a cursor or not) with bound parameters, and reused: building the ORM select, its subqueries and
# union anew for every page cost more Python than executing it (py-spy: ~70 % of the query line).

# Filters answered by the caller's own participant row, whose copies of the trade's status, ETD
# and creation time the triggers of trades0006/0007 keep equal to the trade's.
_PARTICIPANT_FILTERS: dict[str, Callable[[], ColumnElement[bool]]] = {
    "etd_from": lambda: Participant.trade_etd >= bindparam("etd_from"),
    "etd_to": lambda: Participant.trade_etd <= bindparam("etd_to"),
    "created_from": lambda: Participant.trade_created_at >= bindparam("created_from"),
    "created_to": lambda: Participant.trade_created_at < bindparam("created_to"),
}


def _participant_filter() -> ColumnElement[bool]:
    other = Participant.__table__.alias("other")
    return exists().where(
        other.c.trade_id == Trade.id,
        other.c.org_id == bindparam("participant_org_id"),
        other.c.status == "active",
        # The filter must not reveal hidden participants the caller cannot see.
        or_(
            not_(other.c.hidden),
            other.c.sponsor_org_id == bindparam("org_id"),
            other.c.org_id == bindparam("org_id"),
        ),
    )


# Filters on the trade's own columns: the list joins ``trade`` before it limits only for these.
_TRADE_FILTERS: dict[str, Callable[[], ColumnElement[bool]]] = {
    "direction": lambda: Trade.direction == bindparam("direction"),
    "vessel_call_sign": lambda: Trade.vessel_call_sign == bindparam("vessel_call_sign"),
    "vessel_name": lambda: Trade.vessel_name.ilike(bindparam("vessel_name")),
    "voyage_no": lambda: Trade.voyage_no == bindparam("voyage_no"),
    "eta_from": lambda: Trade.eta >= bindparam("eta_from"),
    "eta_to": lambda: Trade.eta <= bindparam("eta_to"),
    "bl_no": lambda: Trade.bl_no == bindparam("bl_no"),
    "booking_no": lambda: Trade.booking_no == bindparam("booking_no"),
    "carrier_scac": lambda: Trade.carrier_scac == bindparam("carrier_scac"),
    # A house reference is the owner's own key: it finds only the caller's own trades.
    "house_reference": lambda: and_(
        Trade.owner_org_id == bindparam("org_id"),
        Trade.owner_reference == bindparam("house_reference"),
    ),
    "container_no": lambda: Trade.container_numbers.contains(bindparam("container_no")),
    "text": lambda: Trade.search_vector.op("@@")(func.to_tsquery("simple", bindparam("text"))),
    "participant_org_id": _participant_filter,
}

# What a page shows of each trade (``TradeSummary``), and its keyset.
TRADE_SUMMARY_COLUMNS = (
    Trade.id,
    Trade.trade_no,
    Trade.direction,
    Trade.status,
    Trade.bl_no,
    Trade.booking_no,
    Trade.carrier_scac,
    Trade.vessel_call_sign,
    Trade.vessel_name,
    Trade.voyage_no,
    Trade.port_of_loading,
    Trade.port_of_discharge,
    Trade.etd,
    Trade.eta,
    Trade.created_at,
)


def _list_parameters(
    org_id: str, filters: TradeFilters, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> dict[str, Any]:
    """The given filters as the statement's parameters: their names are the statement's shape."""
    f = filters
    given: dict[str, Any] = {
        name: getattr(f, name)
        for name in (*_PARTICIPANT_FILTERS, *_TRADE_FILTERS)
        if name != "text"
    }
    given["text"] = prefix_tsquery(f.text) if f.text else None
    parameters = {name: value for name, value in given.items() if value}
    parameters["org_id"] = org_id
    parameters["limit"] = limit
    for index, status in enumerate(sorted(set(f.statuses))):
        parameters[f"listed_status_{index}"] = status
    if after is not None:
        parameters["after_created_at"], parameters["after_trade_id"] = after
    return parameters


@lru_cache(maxsize=512)
def _list_statement(shape: frozenset[str]) -> Select[Any]:
    """The list's statement for the parameters named in ``shape``.

    The page's keys come from one ordered scan of a listing index of ``trade_participant`` and
    stop at ``limit``; ``trade`` is joined before the limit only for filters on its own columns.
    Selecting whole trades in the same query instead made PostgreSQL fetch and join every trade in
    an ETD window (thousands at a million trades) to sort them for one page. Several statuses are
    one ordered scan per status merged (``UNION ALL`` under the outer ``ORDER BY … LIMIT``: a
    Merge Append), because a btree scan with ``trade_status IN (…)`` returns rows in status order,
    so PostgreSQL otherwise read all of the organisation's rows in those statuses and sorted them.
    """
    participant_conditions = [
        make() for name, make in _PARTICIPANT_FILTERS.items() if name in shape
    ]
    trade_conditions = [make() for name, make in _TRADE_FILTERS.items() if name in shape]
    limit = bindparam("limit", type_=Integer)

    def keys(status: str | None) -> Select[tuple[datetime, uuid.UUID]]:
        statement = select(
            Participant.trade_created_at.label("created_at"), Participant.trade_id
        ).where(
            Participant.org_id == bindparam("org_id"),
            Participant.status == "active",
            *participant_conditions,
        )
        if status is not None:
            statement = statement.where(Participant.trade_status == bindparam(status))
        if trade_conditions:
            statement = statement.join(Trade, Trade.id == Participant.trade_id).where(
                *trade_conditions
            )
        if "after_created_at" in shape:
            statement = statement.where(
                tuple_(Participant.trade_created_at, Participant.trade_id)
                < tuple_(
                    bindparam("after_created_at", type_=DateTime(timezone=True)),
                    bindparam("after_trade_id", type_=UUID(as_uuid=True)),
                )
            )
        return statement.order_by(
            Participant.trade_created_at.desc(), Participant.trade_id.desc()
        ).limit(limit)

    statuses = sorted(name for name in shape if name.startswith("listed_status_"))
    if len(statuses) > 1:
        merged = union_all(*(keys(status) for status in statuses)).subquery("merged")
        page = (
            select(merged)
            .order_by(merged.c.created_at.desc(), merged.c.trade_id.desc())
            .limit(limit)
            .subquery("page")
        )
    else:
        page = keys(statuses[0] if statuses else None).subquery("page")
    return (
        select(*TRADE_SUMMARY_COLUMNS)
        .join(page, Trade.id == page.c.trade_id)
        .order_by(page.c.created_at.desc(), page.c.trade_id.desc())
    )


def trade_list_statement(
    *,
    org_id: str,
    filters: TradeFilters,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> tuple[Select[Any], dict[str, Any]]:
    """The caller's trades, newest first (``TRADE_SUMMARY_COLUMNS``): the statement and its
    parameters."""
    parameters = _list_parameters(org_id, filters, after, limit)
    return _list_statement(frozenset(parameters)), parameters


async def list_trades(
    session: AsyncSession,
    *,
    org_id: str,
    filters: TradeFilters,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Row[Any]]:
    statement, parameters = trade_list_statement(
        org_id=org_id, filters=filters, after=after, limit=limit
    )
    return (await session.execute(statement, parameters)).all()


# --- participants ------------------------------------------------------------------------------


async def pending_invitations(session: AsyncSession, *, org_id: str, limit: int) -> list[Trade]:
    statement = (
        select(Trade)
        .join(Participant, Participant.trade_id == Trade.id)
        .where(Participant.org_id == org_id, Participant.status == "invited")
        .order_by(Participant.invited_at.desc(), Participant.trade_id)
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars())


async def current_participants(session: AsyncSession, trade_id: uuid.UUID) -> list[Participant]:
    """Invited and active participants: one scan of the (trade_id, org_id) unique index."""
    statement = (
        select(Participant)
        .where(
            Participant.trade_id == trade_id,
            Participant.status.in_(CURRENT_PARTICIPANT_STATUSES),
        )
        .order_by(Participant.invited_at, Participant.org_id)
    )
    return list((await session.execute(statement)).scalars())


async def access_rows(
    session: AsyncSession, trade_id: uuid.UUID, *, with_trade_no: bool = False
) -> list[Any]:
    """The columns the access check needs, and nothing else (the hot path of every request);
    ``with_trade_no`` adds the trade's number to each row in the same statement (the internal
    access check: other services show or send it, e.g. the NACCS bridge's 社内整理用番号)."""
    p = Participant
    statement = select(p.org_id, p.role, p.status, p.hidden, p.is_owner, p.sponsor_org_id).where(
        p.trade_id == trade_id, p.status.in_(CURRENT_PARTICIPANT_STATUSES)
    )
    if with_trade_no:
        statement = statement.add_columns(Trade.trade_no).join(Trade, Trade.id == p.trade_id)
    return list((await session.execute(statement)).all())


async def get_participant(
    session: AsyncSession, trade_id: uuid.UUID, org_id: str, *, for_update: bool = False
) -> Participant | None:
    statement = select(Participant).where(
        Participant.trade_id == trade_id, Participant.org_id == org_id
    )
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def participants_with_role(
    session: AsyncSession, trade_id: uuid.UUID, role: str
) -> list[Participant]:
    statement = (
        select(Participant)
        .where(
            Participant.trade_id == trade_id,
            Participant.role == role,
            Participant.status == "active",
        )
        .order_by(Participant.invited_at)
    )
    return list((await session.execute(statement)).scalars())


# --- timeline ----------------------------------------------------------------------------------


async def insert_timeline_entry(session: AsyncSession, values: dict[str, Any]) -> uuid.UUID | None:
    """Insert unless (source, event_id) is already recorded; the new id, or None for a replay."""
    statement = (
        insert(TimelineEntry)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["source", "event_id"])
        .returning(TimelineEntry.id)
    )
    return (await session.execute(statement)).scalar_one_or_none()


def _timeline_conditions(
    trade_id: uuid.UUID,
    *,
    kinds: Sequence[str],
    since: datetime | None,
    until: datetime | None,
    hidden_org_ids: Sequence[str],
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [TimelineEntry.trade_id == trade_id]
    if kinds:
        conditions.append(TimelineEntry.kind.in_(kinds))
    if since:
        conditions.append(TimelineEntry.occurred_at >= since)
    if until:
        conditions.append(TimelineEntry.occurred_at < until)
    if hidden_org_ids:
        for column in (TimelineEntry.actor_org_id, TimelineEntry.subject_org_id):
            conditions.append(or_(column.is_(None), column.not_in(hidden_org_ids)))
    return conditions


async def list_timeline(
    session: AsyncSession,
    trade_id: uuid.UUID,
    *,
    kinds: Sequence[str] = (),
    since: datetime | None = None,
    until: datetime | None = None,
    hidden_org_ids: Sequence[str] = (),
    after: tuple[datetime, uuid.UUID] | None = None,
    limit: int,
) -> list[TimelineEntry]:
    statement = (
        select(TimelineEntry)
        .where(
            *_timeline_conditions(
                trade_id, kinds=kinds, since=since, until=until, hidden_org_ids=hidden_org_ids
            )
        )
        .order_by(TimelineEntry.occurred_at, TimelineEntry.id)
        .limit(limit)
    )
    if after is not None:
        statement = statement.where(
            tuple_(TimelineEntry.occurred_at, TimelineEntry.id)
            > tuple_(literal(after[0]), literal(after[1]))
        )
    return list((await session.execute(statement)).scalars())


async def count_timeline_for_event(session: AsyncSession, *, source: str, event_id: str) -> int:
    statement = select(func.count()).where(
        TimelineEntry.source == source, TimelineEntry.event_id == event_id
    )
    return int(await session.scalar(statement) or 0)


# --- tasks -------------------------------------------------------------------------------------


async def rules_for_event(session: AsyncSession, event_type: str) -> list[TaskRule]:
    statement = (
        select(TaskRule)
        .where(TaskRule.event_type == event_type, TaskRule.enabled)
        .order_by(TaskRule.id)
    )
    return list((await session.execute(statement)).scalars())


async def status_rules_for_event(session: AsyncSession, event_type: str) -> list[StatusRule]:
    statement = (
        select(StatusRule)
        .where(StatusRule.event_type == event_type, StatusRule.enabled)
        .order_by(StatusRule.id)
    )
    return list((await session.execute(statement)).scalars())


async def insert_rule_task(session: AsyncSession, values: dict[str, Any]) -> uuid.UUID | None:
    """A rule's task, unless this rule already fired for this event (replays create nothing)."""
    statement = (
        insert(Task)
        .values(**values)
        .on_conflict_do_nothing(
            index_elements=["rule_id", "source_event_id"],
            index_where=Task.rule_id.is_not(None),
        )
        .returning(Task.id)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def get_task(session: AsyncSession, trade_id: uuid.UUID, task_id: uuid.UUID) -> Task | None:
    statement = select(Task).where(Task.id == task_id, Task.trade_id == trade_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def list_tasks(
    session: AsyncSession,
    trade_id: uuid.UUID,
    *,
    hidden_org_ids: Sequence[str],
    statuses: Sequence[str] = (),
    assignee_org_id: str | None = None,
    overdue_at: datetime | None = None,
) -> list[Task]:
    conditions: list[ColumnElement[bool]] = [Task.trade_id == trade_id]
    if hidden_org_ids:
        conditions.append(Task.assignee_org_id.not_in(hidden_org_ids))
        conditions.append(
            or_(Task.created_by_org_id.is_(None), Task.created_by_org_id.not_in(hidden_org_ids))
        )
    if statuses:
        conditions.append(Task.status.in_(statuses))
    if assignee_org_id:
        conditions.append(Task.assignee_org_id == assignee_org_id)
    if overdue_at is not None:
        conditions.append(and_(Task.due_at < overdue_at, Task.status.in_(OPEN_TASK_STATUSES)))
    statement = select(Task).where(*conditions).order_by(Task.created_at, Task.id).limit(1000)
    return list((await session.execute(statement)).scalars())


async def task_comments(session: AsyncSession, task_id: uuid.UUID) -> list[TaskComment]:
    statement = (
        select(TaskComment)
        .where(TaskComment.task_id == task_id)
        .order_by(TaskComment.created_at, TaskComment.id)
    )
    return list((await session.execute(statement)).scalars())


# --- messages ----------------------------------------------------------------------------------


def _thread_visible(org_id: str, hidden_org_ids: Sequence[str]) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        or_(
            MessageThread.member_org_ids.is_(None),
            literal(org_id) == any_(MessageThread.member_org_ids),
        )
    ]
    if hidden_org_ids:
        conditions.append(MessageThread.created_by_org_id.not_in(hidden_org_ids))
    return conditions


async def list_threads(
    session: AsyncSession,
    trade_id: uuid.UUID,
    *,
    org_id: str,
    user_id: str,
    hidden_org_ids: Sequence[str],
) -> list[tuple[MessageThread, int]]:
    """The caller's threads with the number of messages newer than the caller's read mark."""
    unread = (
        select(func.count())
        .where(
            Message.thread_id == MessageThread.id,
            Message.author_user_id != user_id,
            or_(MessageRead.read_at.is_(None), Message.created_at > MessageRead.read_at),
        )
        .correlate(MessageThread, MessageRead)
        .scalar_subquery()
    )
    statement = (
        select(MessageThread, unread)
        .outerjoin(
            MessageRead,
            and_(MessageRead.thread_id == MessageThread.id, MessageRead.user_id == user_id),
        )
        .where(MessageThread.trade_id == trade_id, *_thread_visible(org_id, hidden_org_ids))
        .order_by(MessageThread.last_message_at.desc(), MessageThread.id)
        .limit(500)
    )
    return [(thread, int(count)) for thread, count in (await session.execute(statement)).all()]


async def get_thread(
    session: AsyncSession,
    trade_id: uuid.UUID,
    thread_id: uuid.UUID,
    *,
    org_id: str,
    hidden_org_ids: Sequence[str],
) -> MessageThread | None:
    statement = select(MessageThread).where(
        MessageThread.id == thread_id,
        MessageThread.trade_id == trade_id,
        *_thread_visible(org_id, hidden_org_ids),
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def list_messages(
    session: AsyncSession,
    thread_id: uuid.UUID,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Message]:
    statement = (
        select(Message)
        .where(Message.thread_id == thread_id)
        .order_by(Message.created_at, Message.id)
        .limit(limit)
    )
    if after is not None:
        statement = statement.where(
            tuple_(Message.created_at, Message.id) > tuple_(literal(after[0]), literal(after[1]))
        )
    return list((await session.execute(statement)).scalars())


async def mark_thread_read(
    session: AsyncSession, *, thread_id: uuid.UUID, user_id: str, read_at: datetime
) -> None:
    statement = (
        insert(MessageRead)
        .values(thread_id=thread_id, user_id=user_id, read_at=read_at)
        .on_conflict_do_update(
            index_elements=["thread_id", "user_id"],
            set_={"read_at": func.greatest(MessageRead.read_at, read_at)},
        )
    )
    await session.execute(statement)
