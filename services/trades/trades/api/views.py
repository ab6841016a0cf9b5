"""ORM rows → wire schemas, with what depends on who is looking."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row

from trades.db.models import Message, MessageThread, Participant, Task, TaskComment, Trade
from trades.domain import lifecycle
from trades.domain.access import TradeAccess
from trades.domain.tasks import is_overdue
from trades.schemas import (
    ContainerRead,
    Mention,
    MessageRead,
    ParticipantRead,
    ParticipantStatus,
    Role,
    TaskCommentRead,
    TaskRead,
    TaskStatus,
    ThreadRead,
    TradeRead,
    TradeSummary,
    Vessel,
)


def trade_read(trade: Trade, access: TradeAccess) -> TradeRead:
    direction = lifecycle.Direction(trade.direction)
    status = lifecycle.TradeStatus(trade.status)
    return TradeRead(
        id=trade.id,
        trade_no=trade.trade_no,
        direction=direction,
        status=status,
        owner_org_id=trade.owner_org_id,
        owner_reference=trade.owner_reference if access.viewer.is_owner else None,
        bl_no=trade.bl_no,
        booking_no=trade.booking_no,
        carrier_scac=trade.carrier_scac,
        vessel=Vessel(call_sign=trade.vessel_call_sign, name=trade.vessel_name),
        voyage_no=trade.voyage_no,
        place_of_receipt=trade.place_of_receipt,
        port_of_loading=trade.port_of_loading,
        port_of_discharge=trade.port_of_discharge,
        place_of_delivery=trade.place_of_delivery,
        etd=trade.etd,
        eta=trade.eta,
        containers=[
            ContainerRead(container_no=c.container_no, size_type=c.size_type, seal_no=c.seal_no)
            for c in trade.containers
        ],
        created_at=trade.created_at,
        updated_at=trade.updated_at,
        version=trade.version,
        my_role=access.viewer.role,
        my_status=access.viewer.status,
        allowed_transitions=sorted(lifecycle.allowed_next(direction, status)),
    )


def trade_summary(trade: Trade | Row[Any]) -> TradeSummary:
    """A trade, or a row of the list's summary columns, as the list shows it."""
    return TradeSummary.model_validate(trade, from_attributes=True)


def participant_read(participant: Participant) -> ParticipantRead:
    return ParticipantRead(
        org_id=participant.org_id,
        display_name=participant.display_name,
        role=Role(participant.role),
        status=ParticipantStatus(participant.status),
        hidden=participant.hidden,
        is_owner=participant.is_owner,
        sponsor_org_id=participant.sponsor_org_id,
        invited_at=participant.invited_at,
        accepted_at=participant.accepted_at,
    )


def task_read(task: Task, now: datetime, comments: list[TaskComment] | None = None) -> TaskRead:
    return TaskRead(
        id=task.id,
        trade_id=task.trade_id,
        title=task.title,
        description=task.description,
        assignee_org_id=task.assignee_org_id,
        assignee_user_id=task.assignee_user_id,
        due_at=task.due_at,
        status=TaskStatus(task.status),
        overdue=is_overdue(task, now),
        rule_id=task.rule_id,
        created_by_org_id=task.created_by_org_id,
        created_at=task.created_at,
        updated_at=task.updated_at,
        completed_at=task.completed_at,
        version=task.version,
        comments=[
            TaskCommentRead(
                id=c.id,
                author_org_id=c.author_org_id,
                author_user_id=c.author_user_id,
                body=c.body,
                created_at=c.created_at,
            )
            for c in comments or []
        ],
    )


def message_read(message: Message) -> MessageRead:
    return MessageRead(
        id=message.id,
        thread_id=message.thread_id,
        author_org_id=message.author_org_id,
        author_user_id=message.author_user_id,
        body=message.body,
        mentions=[Mention.model_validate(m) for m in message.mentions],
        created_at=message.created_at,
    )


def thread_read(thread: MessageThread, unread_count: int) -> ThreadRead:
    return ThreadRead(
        id=thread.id,
        trade_id=thread.trade_id,
        subject=thread.subject,
        member_org_ids=thread.member_org_ids,
        created_by_org_id=thread.created_by_org_id,
        created_at=thread.created_at,
        last_message_at=thread.last_message_at,
        unread_count=unread_count,
    )
