"""Tasks of a trade: list (with overdue flag and filter), create, read, update, comment."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from shared.db import SessionDep
from shared.errors import PROBLEM_SCHEMA
from trades.api.deps import AccessDep, CallerDep, IdempotencyKey, IfMatch, RuntimeDep, idempotent
from trades.api.views import task_read
from trades.domain import tasks as task_service
from trades.schemas import (
    TaskCommentCreate,
    TaskCommentRead,
    TaskCreate,
    TaskRead,
    TaskStatus,
    TaskUpdate,
)

router = APIRouter(prefix="/api/v1/trades/{trade_id}/tasks", tags=["tasks"])


@router.get("", response_model=list[TaskRead])
async def list_tasks(
    session: SessionDep,
    access: AccessDep,
    runtime: RuntimeDep,
    status: Annotated[list[TaskStatus] | None, Query()] = None,
    assignee_org_id: Annotated[str | None, Query(max_length=64)] = None,
    overdue: Annotated[bool, Query(description="Only open tasks past their due time")] = False,
) -> list[TaskRead]:
    """Tasks of the trade, oldest first; `overdue` is computed against the service clock."""
    now = runtime.clock()
    tasks = await task_service.list_tasks(
        session,
        access=access,
        statuses=[s.value for s in status or ()],
        assignee_org_id=assignee_org_id,
        overdue_at=now if overdue else None,
    )
    return [task_read(t, now) for t in tasks]


@router.post("", status_code=201, response_model=TaskRead, responses={422: PROBLEM_SCHEMA})
async def create_task(
    body: TaskCreate,
    request: Request,
    session: SessionDep,
    access: AccessDep,
    caller: CallerDep,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Assign a task to a participant organisation (optionally a user). Accepts `Idempotency-Key`."""

    async def produce() -> tuple[int, Any, dict[str, str]]:
        task = await task_service.create_task(
            session, access=access, actor=caller.actor, runtime=runtime, data=body
        )
        view = task_read(task, runtime.clock())
        return 201, view.model_dump(mode="json"), {"ETag": task_service.task_etag(task)}

    return await idempotent(
        session,
        request=request,
        caller=caller,
        runtime=runtime,
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        produce=produce,
    )


@router.get("/{task_id}", response_model=TaskRead)
async def get_task(
    task_id: uuid.UUID,
    session: SessionDep,
    access: AccessDep,
    runtime: RuntimeDep,
    response: Response,
) -> TaskRead:
    """One task with its comments and `ETag`."""
    task = await task_service.get_task(session, access=access, task_id=task_id)
    comments = await task_service.comments(session, task=task)
    response.headers["ETag"] = task_service.task_etag(task)
    return task_read(task, runtime.clock(), comments)


@router.patch(
    "/{task_id}",
    response_model=TaskRead,
    responses={403: PROBLEM_SCHEMA, 412: PROBLEM_SCHEMA, 428: PROBLEM_SCHEMA},
)
async def update_task(
    task_id: uuid.UUID,
    body: TaskUpdate,
    session: SessionDep,
    access: AccessDep,
    caller: CallerDep,
    runtime: RuntimeDep,
    response: Response,
    if_match: IfMatch = None,
) -> TaskRead:
    """Change status, assignee, due date or text. Requires `If-Match`."""
    task = await task_service.update_task(
        session,
        access=access,
        actor=caller.actor,
        runtime=runtime,
        task_id=task_id,
        if_match=if_match,
        data=body,
    )
    response.headers["ETag"] = task_service.task_etag(task)
    return task_read(task, runtime.clock())


@router.post("/{task_id}/comments", status_code=201, response_model=TaskCommentRead)
async def comment_task(
    task_id: uuid.UUID,
    body: TaskCommentCreate,
    session: SessionDep,
    access: AccessDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> TaskCommentRead:
    """Add a comment to a task."""
    comment = await task_service.add_comment(
        session, access=access, actor=caller.actor, runtime=runtime, task_id=task_id, data=body
    )
    return TaskCommentRead.model_validate(comment, from_attributes=True)
