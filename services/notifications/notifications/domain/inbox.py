"""In-app notifications of a user (organisation-wide items, per-user read state) and preferences."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from notifications.db.repositories import InboxRepository
from notifications.domain.catalogue import CATALOGUE, EVENT_TYPE_NAMES, is_known_type_pattern
from notifications.domain.mail import EMAIL_DEFAULT_TYPES
from notifications.domain.preferences import muted_in_app
from notifications.domain.runtime import Runtime
from notifications.schemas import (
    NotificationOut,
    PreferenceItem,
    PreferencesIn,
    PreferencesOut,
)
from shared.errors import InvalidInput, NotFound, field_error


@dataclass(frozen=True)
class InboxUser:
    user_id: str
    org_id: str
    is_org_admin: bool


def title_for(event_type: str, version: int, locale: str) -> str:
    entry = CATALOGUE.get((event_type, version))
    if entry is None:
        return event_type
    return entry.summary_ja if locale == "ja" else entry.summary


class Inbox:
    def __init__(self, session: AsyncSession, *, runtime: Runtime) -> None:
        self.repo = InboxRepository(session)
        self.runtime = runtime

    async def _state(self, user: InboxUser) -> tuple[int, list[str], str]:
        profile = await self.repo.profile(user.user_id)
        muted = muted_in_app(await self.repo.preferences(user.user_id), EVENT_TYPE_NAMES)
        if profile is None or profile.org_id != user.org_id:
            return 0, muted, "ja"
        return profile.read_through_position, muted, profile.locale

    async def list(
        self, user: InboxUser, *, unread_only: bool, before: int | None, limit: int
    ) -> tuple[list[NotificationOut], int | None]:
        read_through, muted, locale = await self._state(user)
        rows = await self.repo.list_for_user(
            user_id=user.user_id,
            org_id=user.org_id,
            read_through=read_through,
            muted_types=muted,
            unread_only=unread_only,
            before_position=before,
            limit=limit + 1,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        items = [
            NotificationOut(
                id=n.id,
                event_id=n.event_id,
                type=n.event_type,
                trade_id=n.trade_id,
                title=title_for(e.type, e.version, locale),
                created_at=n.created_at,
                read=read,
            )
            for n, e, read in rows
        ]
        return items, (rows[-1][0].position if more and rows else None)

    async def unread_count(self, user: InboxUser) -> int:
        read_through, muted, _ = await self._state(user)
        return await self.repo.unread_count(
            user_id=user.user_id, org_id=user.org_id, read_through=read_through, muted_types=muted
        )

    async def mark_read(self, user: InboxUser, notification_id: uuid.UUID) -> None:
        notification = await self.repo.get_notification(notification_id, user.org_id)
        if notification is None:
            raise NotFound("No such notification")
        await self.repo.mark_read(user.user_id, notification.id, self.runtime.now())

    async def mark_all_read(self, user: InboxUser) -> None:
        latest = await self.repo.latest_position(user.org_id)
        profile = await self.repo.profile(user.user_id)
        await self.repo.upsert_profile(
            {
                "user_id": user.user_id,
                "org_id": user.org_id,
                "email": profile.email if profile else None,
                "locale": profile.locale if profile else "ja",
                "is_org_admin": user.is_org_admin,
                "read_through_position": latest,
                "updated_at": self.runtime.now(),
            }
        )

    async def preferences(self, user: InboxUser) -> PreferencesOut:
        profile = await self.repo.profile(user.user_id)
        prefs = await self.repo.preferences(user.user_id)
        return PreferencesOut(
            email=profile.email if profile else None,
            locale="en" if profile is not None and profile.locale == "en" else "ja",
            preferences=[
                PreferenceItem(
                    event_type=p.event_type,
                    channel="email" if p.channel == "email" else "in_app",
                    enabled=p.enabled,
                )
                for p in prefs
            ],
            email_defaults=sorted(EMAIL_DEFAULT_TYPES),
        )

    async def save_preferences(self, user: InboxUser, payload: PreferencesIn) -> PreferencesOut:
        bad = [
            field_error(
                ["preferences", i, "event_type"], f"{p.event_type!r} is not in the catalogue"
            )
            for i, p in enumerate(payload.preferences)
            if not is_known_type_pattern(p.event_type)
        ]
        if bad:
            raise InvalidInput("Unknown event types", errors=bad)
        profile = await self.repo.profile(user.user_id)
        await self.repo.upsert_profile(
            {
                "user_id": user.user_id,
                "org_id": user.org_id,
                "email": payload.email,
                "locale": payload.locale,
                "is_org_admin": user.is_org_admin,
                "read_through_position": profile.read_through_position if profile else 0,
                "updated_at": self.runtime.now(),
            }
        )
        unique = {(p.event_type, p.channel): p.enabled for p in payload.preferences}
        await self.repo.replace_preferences(
            user.user_id,
            [
                {"user_id": user.user_id, "event_type": t, "channel": c, "enabled": enabled}
                for (t, c), enabled in sorted(unique.items())
            ],
        )
        return await self.preferences(user)
