"""Tasks: assigned to an organisation (optionally a user), with a due date and comments. Rules turn
other services' events into tasks (``task_rule`` rows: data, not code)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from shared.concurrency import check_if_match, etag_for
from shared.errors import InvalidInput, PreconditionFailed, field_error
from trades.db import repositories as repo
from trades.db.models import Task, TaskComment, TaskRule, Trade
from trades.domain.access import TradeAccess
from trades.domain.errors import NotPermitted, TaskNotFound
from trades.domain.events import Actor, emit
from trades.runtime import Runtime
from trades.schemas import IncomingEvent, TaskCommentCreate, TaskCreate, TaskStatus, TaskUpdate

OPEN_STATUSES = (TaskStatus.OPEN, TaskStatus.IN_PROGRESS)


def is_overdue(task: Task, now: datetime) -> bool:
    return task.due_at is not None and task.due_at < now and task.status in OPEN_STATUSES


def task_etag(task: Task) -> str:
    return etag_for(task.id, task.version)


def _audience(access: TradeAccess, *org_ids: str | None) -> list[str] | None:
    """Events about a hidden participant's task go only to those who can see that participant."""
    hidden = [access.member(o) for o in org_ids if o]
    hidden_members = [m for m in hidden if m is not None and m.hidden]
    if not hidden_members:
        return None
    audience = set()
    for member in hidden_members:
        audience.add(member.org_id)
        if member.sponsor_org_id:
            audience.add(member.sponsor_org_id)
    return sorted(audience)


def _require_assignable(access: TradeAccess, org_id: str) -> None:
    member = access.member(org_id)
    if member is None or not member.active or not access.sees(member):
        raise InvalidInput(
            "Tasks can be assigned only to active participants of the trade",
            errors=[field_error(["assignee_org_id"], "not an active participant")],
        )


def _task_data(task: Task) -> dict[str, Any]:
    return {
        "task_id": str(task.id),
        "title": task.title,
        "assignee_org_id": task.assignee_org_id,
        "assignee_user_id": task.assignee_user_id,
        "due_at": task.due_at.isoformat() if task.due_at else None,
        "status": task.status,
        "rule_id": task.rule_id,
    }


async def create_task(
    session: AsyncSession, *, access: TradeAccess, actor: Actor, runtime: Runtime, data: TaskCreate
) -> Task:
    access.require_active()
    _require_assignable(access, data.assignee_org_id)
    now = runtime.clock()
    task = Task(
        id=runtime.new_id(),
        trade_id=access.trade_id,
        title=data.title,
        description=data.description,
        assignee_org_id=data.assignee_org_id,
        assignee_user_id=data.assignee_user_id,
        due_at=data.due_at,
        status=TaskStatus.OPEN,
        created_by_org_id=access.viewer.org_id,
        created_by_user_id=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    await repo.add(session, task)
    await emit(
        session,
        runtime=runtime,
        trade_id=access.trade_id,
        topic="task.assigned",
        data=_task_data(task),
        actor=actor,
        summary=f"Task “{task.title}” assigned to {task.assignee_org_id}",
        subject_org_id=task.assignee_org_id,
        audience_org_ids=_audience(access, task.assignee_org_id, access.viewer.org_id),
    )
    return task


async def get_task(session: AsyncSession, *, access: TradeAccess, task_id: uuid.UUID) -> Task:
    access.require_active()
    task = await repo.get_task(session, access.trade_id, task_id)
    if (
        task is None
        or not access.sees_org(task.assignee_org_id)
        or not access.sees_org(task.created_by_org_id)
    ):
        raise TaskNotFound("No such task in this trade")
    return task


async def list_tasks(
    session: AsyncSession,
    *,
    access: TradeAccess,
    statuses: list[str],
    assignee_org_id: str | None,
    overdue_at: datetime | None,
) -> list[Task]:
    access.require_active()
    return await repo.list_tasks(
        session,
        access.trade_id,
        hidden_org_ids=sorted(access.hidden_org_ids),
        statuses=statuses,
        assignee_org_id=assignee_org_id,
        overdue_at=overdue_at,
    )


async def update_task(
    session: AsyncSession,
    *,
    access: TradeAccess,
    actor: Actor,
    runtime: Runtime,
    task_id: uuid.UUID,
    if_match: str | None,
    data: TaskUpdate,
) -> Task:
    """The assignee, the creator and the owner may change a task."""
    task = await get_task(session, access=access, task_id=task_id)
    org = access.viewer.org_id
    if not (access.viewer.is_owner or org in (task.assignee_org_id, task.created_by_org_id)):
        raise NotPermitted("Only the assignee, the creator or the owner may change this task")
    check_if_match(if_match, task_etag(task))
    sent = data.model_fields_set
    reassigned = "assignee_org_id" in sent and data.assignee_org_id != task.assignee_org_id
    if reassigned and data.assignee_org_id is not None:
        _require_assignable(access, data.assignee_org_id)
    for name in ("title", "description", "assignee_user_id", "due_at"):
        if name in sent:
            setattr(task, name, getattr(data, name))
    if reassigned and data.assignee_org_id is not None:
        task.assignee_org_id = data.assignee_org_id
    now = runtime.clock()
    if "status" in sent and data.status is not None and data.status != task.status:
        task.status = data.status
        task.completed_at = now if data.status is TaskStatus.DONE else None
    task.updated_at = now
    try:
        await session.flush()
    except StaleDataError as exc:
        raise PreconditionFailed("The task was changed by someone else") from exc
    await emit(
        session,
        runtime=runtime,
        trade_id=access.trade_id,
        topic="task.assigned" if reassigned else "task.updated",
        data=_task_data(task),
        actor=actor,
        summary=f"Task “{task.title}” "
        + (f"reassigned to {task.assignee_org_id}" if reassigned else f"is {task.status}"),
        subject_org_id=task.assignee_org_id,
        audience_org_ids=_audience(access, task.assignee_org_id, task.created_by_org_id),
    )
    return task


async def add_comment(
    session: AsyncSession,
    *,
    access: TradeAccess,
    actor: Actor,
    runtime: Runtime,
    task_id: uuid.UUID,
    data: TaskCommentCreate,
) -> TaskComment:
    task = await get_task(session, access=access, task_id=task_id)
    comment = TaskComment(
        id=runtime.new_id(),
        task_id=task.id,
        author_org_id=access.viewer.org_id,
        author_user_id=actor.user_id or "",
        body=data.body,
        created_at=runtime.clock(),
    )
    await repo.add(session, comment)
    await emit(
        session,
        runtime=runtime,
        trade_id=access.trade_id,
        topic="task.commented",
        data={"task_id": str(task.id), "comment_id": str(comment.id), "title": task.title},
        actor=actor,
        summary=None,  # comments are conversation, not history
        audience_org_ids=_audience(access, task.assignee_org_id, access.viewer.org_id),
    )
    return comment


async def comments(session: AsyncSession, *, task: Task) -> list[TaskComment]:
    return await repo.task_comments(session, task.id)


def rule_matches(rule: TaskRule, *, trade: Trade, data: dict[str, Any]) -> bool:
    if rule.direction is not None and rule.direction != trade.direction:
        return False
    return all(data.get(key) == value for key, value in rule.match.items())


async def apply_rules(
    session: AsyncSession, *, runtime: Runtime, trade: Trade, event: IncomingEvent
) -> list[uuid.UUID]:
    """Create the tasks the rules ask for; each rule fires at most once per event id.

    The task goes to the first active participant with the rule's role, else to the owner, so that
    the work is never silently dropped.
    """
    created: list[uuid.UUID] = []
    now = runtime.clock()
    for rule in await repo.rules_for_event(session, event.type):
        if not rule_matches(rule, trade=trade, data=event.data):
            continue
        candidates = await repo.participants_with_role(session, trade.id, rule.assignee_role)
        assignee = candidates[0].org_id if candidates else trade.owner_org_id
        due_at = (
            event.occurred_at + timedelta(hours=rule.due_in_hours) if rule.due_in_hours else None
        )
        task_id = await repo.insert_rule_task(
            session,
            {
                "id": runtime.new_id(),
                "trade_id": trade.id,
                "title": rule.title,
                "description": rule.description,
                "assignee_org_id": assignee,
                "due_at": due_at,
                "status": TaskStatus.OPEN,
                "rule_id": rule.id,
                "source_event_id": event.id,
                "created_at": now,
                "updated_at": now,
                "version": 1,
            },
        )
        if task_id is None:
            continue
        created.append(task_id)
        audience: list[str] | None = None
        if candidates and candidates[0].hidden:
            audience = sorted({assignee, candidates[0].sponsor_org_id or assignee})
        await emit(
            session,
            runtime=runtime,
            trade_id=trade.id,
            topic="task.assigned",
            data={
                "task_id": str(task_id),
                "title": rule.title,
                "assignee_org_id": assignee,
                "assignee_user_id": None,
                "due_at": due_at.isoformat() if due_at else None,
                "status": TaskStatus.OPEN,
                "rule_id": rule.id,
                "caused_by": {"source": event.source, "event_id": event.id, "type": event.type},
            },
            actor=Actor(user_id=None, org_id=None),
            summary=f"Task “{rule.title}” assigned to {assignee} (rule {rule.id})",
            subject_org_id=assignee,
            audience_org_ids=audience,
        )
    return created
