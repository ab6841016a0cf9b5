"""Message threads of a trade: list with unread counts, start, read, post, mark read."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from shared.db import SessionDep
from shared.errors import PROBLEM_SCHEMA
from trades.api.deps import AccessDep, CallerDep, IdempotencyKey, RuntimeDep, idempotent
from trades.api.views import message_read, thread_read
from trades.domain import messages as message_service
from trades.domain.pagination import MAX_PAGE_SIZE, decode_cursor, encode_cursor
from trades.schemas import MessageCreate, MessageRead, Page, ThreadCreate, ThreadRead

router = APIRouter(prefix="/api/v1/trades/{trade_id}/threads", tags=["messages"])


@router.get("", response_model=list[ThreadRead])
async def list_threads(
    session: SessionDep, access: AccessDep, caller: CallerDep
) -> list[ThreadRead]:
    """Threads you can read, most recently active first, with your unread count."""
    threads = await message_service.list_threads(
        session, access=access, user_id=caller.principal.subject
    )
    return [thread_read(thread, unread) for thread, unread in threads]


@router.post(
    "",
    status_code=201,
    response_model=ThreadRead,
    responses={403: PROBLEM_SCHEMA, 422: PROBLEM_SCHEMA},
)
async def create_thread(
    body: ThreadCreate,
    request: Request,
    session: SessionDep,
    access: AccessDep,
    caller: CallerDep,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Start a thread with its first message. Accepts `Idempotency-Key`."""

    async def produce() -> tuple[int, Any, dict[str, str]]:
        thread, _ = await message_service.create_thread(
            session, access=access, actor=caller.actor, runtime=runtime, data=body
        )
        return 201, thread_read(thread, 0).model_dump(mode="json"), {}

    return await idempotent(
        session,
        request=request,
        caller=caller,
        runtime=runtime,
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        produce=produce,
    )


@router.get("/{thread_id}/messages", response_model=Page[MessageRead])
async def list_messages(
    thread_id: uuid.UUID,
    session: SessionDep,
    access: AccessDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> Page[MessageRead]:
    """Messages of a thread, oldest first."""
    messages, next_key = await message_service.list_messages(
        session, access=access, thread_id=thread_id, after=decode_cursor(cursor), limit=limit
    )
    return Page[MessageRead](
        items=[message_read(m) for m in messages],
        next_cursor=encode_cursor(*next_key) if next_key else None,
    )


@router.post(
    "/{thread_id}/messages",
    status_code=201,
    response_model=MessageRead,
    responses={403: PROBLEM_SCHEMA, 422: PROBLEM_SCHEMA},
)
async def post_message(
    thread_id: uuid.UUID,
    body: MessageCreate,
    request: Request,
    session: SessionDep,
    access: AccessDep,
    caller: CallerDep,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Post a message; `mentions` name the organisations (and users) to notify. Accepts `Idempotency-Key`."""

    async def produce() -> tuple[int, Any, dict[str, str]]:
        message = await message_service.post_message(
            session,
            access=access,
            actor=caller.actor,
            runtime=runtime,
            thread_id=thread_id,
            data=body,
        )
        return 201, message_read(message).model_dump(mode="json"), {}

    return await idempotent(
        session,
        request=request,
        caller=caller,
        runtime=runtime,
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        produce=produce,
    )


@router.post("/{thread_id}/read", status_code=204)
async def mark_read(
    thread_id: uuid.UUID,
    session: SessionDep,
    access: AccessDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> Response:
    """Mark the thread read up to now, for you (the calling user)."""
    await message_service.mark_read(
        session,
        access=access,
        runtime=runtime,
        thread_id=thread_id,
        user_id=caller.principal.subject,
    )
    return Response(status_code=204)
