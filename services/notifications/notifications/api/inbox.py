"""In-app notifications of the calling user, and their notification preferences."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from notifications.api.deps import (
    ORG_ADMIN_ROLE,
    RuntimeDep,
    UserDep,
    decode_cursor,
    encode_cursor,
    org_of,
)
from notifications.domain.inbox import Inbox, InboxUser
from notifications.schemas import NotificationPage, PreferencesIn, PreferencesOut, UnreadCount
from shared.auth import Principal
from shared.db import SessionDep
from shared.errors import PROBLEM_SCHEMA

router = APIRouter(
    prefix="/api/v1/notifications", tags=["notifications"], responses={403: PROBLEM_SCHEMA}
)


def inbox_user(principal: Principal) -> InboxUser:
    return InboxUser(
        user_id=principal.subject,
        org_id=org_of(principal),
        is_org_admin=ORG_ADMIN_ROLE in principal.roles,
    )


@router.get("/inbox", summary="Your notifications, newest first")
async def list_notifications(
    principal: UserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    unread_only: bool = False,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> NotificationPage:
    parsed = decode_cursor(cursor, int)
    items, next_position = await Inbox(session, runtime=runtime).list(
        inbox_user(principal),
        unread_only=unread_only,
        before=parsed[0] if parsed else None,
        limit=limit,
    )
    return NotificationPage(
        items=items, next_cursor=encode_cursor(next_position) if next_position else None
    )


@router.get("/inbox/unread-count", summary="How many of your notifications are unread")
async def unread_count(principal: UserDep, session: SessionDep, runtime: RuntimeDep) -> UnreadCount:
    return UnreadCount(
        unread=await Inbox(session, runtime=runtime).unread_count(inbox_user(principal))
    )


@router.post(
    "/inbox/{notification_id}/read",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Mark one notification read",
    responses={404: PROBLEM_SCHEMA},
)
async def mark_read(
    notification_id: uuid.UUID, principal: UserDep, session: SessionDep, runtime: RuntimeDep
) -> Response:
    await Inbox(session, runtime=runtime).mark_read(inbox_user(principal), notification_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/inbox/read-all", status_code=status.HTTP_204_NO_CONTENT, summary="Mark everything read"
)
async def mark_all_read(principal: UserDep, session: SessionDep, runtime: RuntimeDep) -> Response:
    await Inbox(session, runtime=runtime).mark_all_read(inbox_user(principal))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me/preferences", summary="Your e-mail address, language and channel preferences")
async def get_preferences(
    principal: UserDep, session: SessionDep, runtime: RuntimeDep
) -> PreferencesOut:
    return await Inbox(session, runtime=runtime).preferences(inbox_user(principal))


@router.put(
    "/me/preferences",
    summary="Set your e-mail address, language (ja/en) and per type and channel preferences",
)
async def put_preferences(
    payload: PreferencesIn, principal: UserDep, session: SessionDep, runtime: RuntimeDep
) -> PreferencesOut:
    return await Inbox(session, runtime=runtime).save_preferences(inbox_user(principal), payload)
