"""Message threads among a trade's participants, with mentions and per-user read state.

A thread is open to every participant, or restricted to listed organisations. A hidden participant
may only take part in threads whose members can all see it (itself and its sponsor), so that
writing a message never reveals it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import InvalidInput, field_error
from trades.db import repositories as repo
from trades.db.models import Message, MessageThread
from trades.domain.access import TradeAccess
from trades.domain.errors import NotPermitted, ThreadNotFound
from trades.domain.events import Actor, emit
from trades.runtime import Runtime
from trades.schemas import Mention, MessageCreate, ThreadCreate


def _members(access: TradeAccess, requested: list[str] | None) -> list[str] | None:
    if requested is None:
        if access.viewer.hidden:
            raise NotPermitted(
                "A hidden participant may only write in threads restricted to organisations that"
                " can see it (list member_org_ids)"
            )
        return None
    members = sorted({*requested, access.viewer.org_id})
    for index, org_id in enumerate(requested):
        member = access.member(org_id)
        if member is None or not member.active or not access.sees(member):
            raise InvalidInput(
                "Thread members must be active participants",
                errors=[field_error(["member_org_ids", index], "not an active participant")],
            )
    for org_id in members:
        member = access.member(org_id)
        if member is not None and member.hidden:
            allowed = {member.org_id, member.sponsor_org_id}
            if not set(members) <= allowed:
                raise InvalidInput(
                    "A hidden participant can share a thread only with its sponsor",
                    errors=[field_error(["member_org_ids"], f"{org_id} is hidden from others")],
                )
    return members


def _check_mentions(
    access: TradeAccess, mentions: list[Mention], members: list[str] | None
) -> list[dict[str, str | None]]:
    for index, mention in enumerate(mentions):
        member = access.member(mention.org_id)
        in_thread = members is None or mention.org_id in members
        if member is None or not member.active or not access.sees(member) or not in_thread:
            raise InvalidInput(
                "Only members of the thread can be mentioned",
                errors=[field_error(["mentions", index, "org_id"], "not a member of the thread")],
            )
    return [mention.model_dump() for mention in mentions]


async def _post(
    session: AsyncSession,
    *,
    access: TradeAccess,
    actor: Actor,
    runtime: Runtime,
    thread: MessageThread,
    body: str,
    mentions: list[Mention],
) -> Message:
    now = runtime.clock()
    message = Message(
        id=runtime.new_id(),
        thread_id=thread.id,
        trade_id=access.trade_id,
        author_org_id=access.viewer.org_id,
        author_user_id=actor.user_id or "",
        body=body,
        mentions=_check_mentions(access, mentions, thread.member_org_ids),
        created_at=now,
    )
    thread.last_message_at = now
    await repo.add(session, message)
    # The author has read their own message.
    await repo.mark_thread_read(
        session, thread_id=thread.id, user_id=message.author_user_id, read_at=now
    )
    await emit(
        session,
        runtime=runtime,
        trade_id=access.trade_id,
        topic="message.posted",
        data={
            "thread_id": str(thread.id),
            "message_id": str(message.id),
            "subject": thread.subject,
            "author_org_id": message.author_org_id,
            "author_user_id": message.author_user_id,
            "mentions": message.mentions,
            "excerpt": body[:200],
        },
        actor=actor,
        summary=None,  # conversations stay in threads (which may be restricted), not the timeline
        audience_org_ids=thread.member_org_ids,
    )
    return message


async def create_thread(
    session: AsyncSession,
    *,
    access: TradeAccess,
    actor: Actor,
    runtime: Runtime,
    data: ThreadCreate,
) -> tuple[MessageThread, Message]:
    access.require_active()
    members = _members(access, data.member_org_ids)
    now = runtime.clock()
    thread = MessageThread(
        id=runtime.new_id(),
        trade_id=access.trade_id,
        subject=data.subject,
        member_org_ids=members,
        created_by_org_id=access.viewer.org_id,
        created_by_user_id=actor.user_id or "",
        created_at=now,
        last_message_at=now,
    )
    await repo.add(session, thread)
    message = await _post(
        session,
        access=access,
        actor=actor,
        runtime=runtime,
        thread=thread,
        body=data.body,
        mentions=data.mentions,
    )
    return thread, message


async def get_thread(
    session: AsyncSession, *, access: TradeAccess, thread_id: uuid.UUID
) -> MessageThread:
    access.require_active()
    thread = await repo.get_thread(
        session,
        access.trade_id,
        thread_id,
        org_id=access.viewer.org_id,
        hidden_org_ids=sorted(access.hidden_org_ids),
    )
    if thread is None:
        raise ThreadNotFound("No such thread in this trade")
    return thread


async def post_message(
    session: AsyncSession,
    *,
    access: TradeAccess,
    actor: Actor,
    runtime: Runtime,
    thread_id: uuid.UUID,
    data: MessageCreate,
) -> Message:
    thread = await get_thread(session, access=access, thread_id=thread_id)
    if thread.member_org_ids is None and access.viewer.hidden:
        raise NotPermitted("A hidden participant cannot write in a thread open to everyone")
    return await _post(
        session,
        access=access,
        actor=actor,
        runtime=runtime,
        thread=thread,
        body=data.body,
        mentions=data.mentions,
    )


async def list_threads(
    session: AsyncSession, *, access: TradeAccess, user_id: str
) -> list[tuple[MessageThread, int]]:
    access.require_active()
    return await repo.list_threads(
        session,
        access.trade_id,
        org_id=access.viewer.org_id,
        user_id=user_id,
        hidden_org_ids=sorted(access.hidden_org_ids),
    )


async def list_messages(
    session: AsyncSession,
    *,
    access: TradeAccess,
    thread_id: uuid.UUID,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> tuple[list[Message], tuple[datetime, uuid.UUID] | None]:
    thread = await get_thread(session, access=access, thread_id=thread_id)
    rows = await repo.list_messages(session, thread.id, after=after, limit=limit + 1)
    page = rows[:limit]
    next_key = (page[-1].created_at, page[-1].id) if len(rows) > limit else None
    return page, next_key


async def mark_read(
    session: AsyncSession,
    *,
    access: TradeAccess,
    runtime: Runtime,
    thread_id: uuid.UUID,
    user_id: str,
) -> None:
    thread = await get_thread(session, access=access, thread_id=thread_id)
    await repo.mark_thread_read(
        session, thread_id=thread.id, user_id=user_id, read_at=runtime.clock()
    )
