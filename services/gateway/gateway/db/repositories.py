"""Queries of the identity domain. Every query that reads an organisation's objects takes the org id
from the caller's verified identity, so one organisation's objects are never found from another."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, case, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import (
    ApiClient,
    AuditEvent,
    AuthThrottle,
    FormPermission,
    IdempotencyRecord,
    NaccsCredential,
    OneTimeSecret,
    Organisation,
    RecoveryCode,
    RefreshToken,
    User,
)


class Organisations:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, org_id: uuid.UUID) -> Organisation | None:
        row = await self.session.get(Organisation, org_id)
        return row

    async def by_corporate_number(self, corporate_number: str) -> Organisation | None:
        row = await self.session.scalar(
            select(Organisation).where(Organisation.corporate_number == corporate_number)
        )
        return row

    async def list(self, only: uuid.UUID | None, limit: int, offset: int) -> Sequence[Organisation]:
        query = select(Organisation).order_by(Organisation.created_at, Organisation.id)
        if only is not None:
            query = query.where(Organisation.id == only)
        return (await self.session.scalars(query.limit(limit).offset(offset))).all()


class Users:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: uuid.UUID) -> User | None:
        row = await self.session.get(User, user_id)
        return row

    async def get_for_update(self, user_id: uuid.UUID) -> User | None:
        row = await self.session.scalar(
            select(User)
            .where(User.id == user_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return row

    async def in_org(self, org_id: uuid.UUID, user_id: uuid.UUID) -> User | None:
        row = await self.session.scalar(
            select(User).where(User.id == user_id, User.org_id == org_id)
        )
        return row

    async def by_email(self, email: str) -> User | None:
        row = await self.session.scalar(select(User).where(User.email == email.lower()))
        return row

    async def list_in_org(self, org_id: uuid.UUID, limit: int, offset: int) -> Sequence[User]:
        query = (
            select(User)
            .where(User.org_id == org_id)
            .order_by(User.created_at, User.id)
            .limit(limit)
            .offset(offset)
        )
        return (await self.session.scalars(query)).all()

    async def active_with_role(self, org_id: uuid.UUID, role: str) -> Sequence[User]:
        query = (
            select(User)
            .where(User.org_id == org_id, User.status == "active", User.roles.contains([role]))
            .order_by(User.created_at, User.id)
        )
        return (await self.session.scalars(query)).all()

    async def form_permissions(self, user_id: uuid.UUID) -> dict[str, str]:
        rows = await self.session.scalars(
            select(FormPermission).where(FormPermission.user_id == user_id)
        )
        return {row.form_type: row.access for row in rows}

    async def set_form_permissions(self, user_id: uuid.UUID, changes: dict[str, str]) -> None:
        """Apply ``form type → access``; ``none`` removes the row (absent means no access)."""
        await self.session.execute(
            delete(FormPermission).where(
                FormPermission.user_id == user_id, FormPermission.form_type.in_(list(changes))
            )
        )
        for form_type, access in sorted(changes.items()):
            if access != "none":
                self.session.add(
                    FormPermission(user_id=user_id, form_type=form_type, access=access)
                )
        await self.session.flush()


class OneTimeSecrets:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_digest(self, purpose: str, digest: str) -> OneTimeSecret | None:
        row = await self.session.scalar(
            select(OneTimeSecret)
            .where(OneTimeSecret.purpose == purpose, OneTimeSecret.digest == digest)
            .with_for_update()
        )
        return row

    async def latest_open(
        self, user_id: uuid.UUID, purpose: str, now: datetime
    ) -> OneTimeSecret | None:
        row = await self.session.scalar(
            select(OneTimeSecret)
            .where(
                OneTimeSecret.user_id == user_id,
                OneTimeSecret.purpose == purpose,
                OneTimeSecret.used_at.is_(None),
                OneTimeSecret.expires_at > now,
            )
            .order_by(OneTimeSecret.created_at.desc())
            .limit(1)
            .with_for_update()
        )
        return row

    async def count_since(self, user_id: uuid.UUID, purpose: str, since: datetime) -> int:
        rows = await self.session.scalars(
            select(OneTimeSecret.id).where(
                OneTimeSecret.user_id == user_id,
                OneTimeSecret.purpose == purpose,
                OneTimeSecret.created_at > since,
            )
        )
        return len(rows.all())

    async def void_open(self, user_id: uuid.UUID, purpose: str, now: datetime) -> None:
        """Invalidate every unused secret of a purpose (a new one replaces them)."""
        await self.session.execute(
            update(OneTimeSecret)
            .where(
                OneTimeSecret.user_id == user_id,
                OneTimeSecret.purpose == purpose,
                OneTimeSecret.used_at.is_(None),
            )
            .values(used_at=now)
        )


class RecoveryCodes:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def unused(self, user_id: uuid.UUID, digest: str) -> RecoveryCode | None:
        row = await self.session.scalar(
            select(RecoveryCode)
            .where(
                RecoveryCode.user_id == user_id,
                RecoveryCode.digest == digest,
                RecoveryCode.used_at.is_(None),
            )
            .with_for_update()
        )
        return row

    async def replace(self, user_id: uuid.UUID, rows: list[RecoveryCode]) -> None:
        await self.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
        self.session.add_all(rows)
        await self.session.flush()


class Clients:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_client_id(self, client_id: str) -> ApiClient | None:
        row = await self.session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
        return row

    async def get(self, client_pk: uuid.UUID) -> ApiClient | None:
        row = await self.session.get(ApiClient, client_pk)
        return row

    async def list(self, org_id: uuid.UUID | None, kind: str | None) -> Sequence[ApiClient]:
        query = select(ApiClient).order_by(ApiClient.created_at, ApiClient.id)
        if org_id is not None:
            query = query.where(ApiClient.org_id == org_id)
        if kind is not None:
            query = query.where(ApiClient.kind == kind)
        return (await self.session.scalars(query)).all()


class NaccsCredentials:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: uuid.UUID) -> NaccsCredential | None:
        row = await self.session.get(NaccsCredential, user_id)
        return row

    async def remove(self, user_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            delete(NaccsCredential).where(NaccsCredential.user_id == user_id)
        )
        return bool(getattr(result, "rowcount", 0))


class AuditEvents:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def for_org(
        self, org_id: uuid.UUID, *, before: datetime | None, limit: int, event: str | None
    ) -> Sequence[AuditEvent]:
        query = select(AuditEvent).where(AuditEvent.org_id == org_id)
        if before is not None:
            query = query.where(AuditEvent.occurred_at < before)
        if event is not None:
            query = query.where(AuditEvent.event == event)
        query = query.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()).limit(limit)
        return (await self.session.scalars(query)).all()


class ThrottleCounters:
    """Login failure counters (see ``gateway.domain.throttle`` for the policy)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def for_keys(self, keys: list[str]) -> Sequence[AuthThrottle]:
        return (
            await self.session.scalars(select(AuthThrottle).where(AuthThrottle.key.in_(keys)))
        ).all()

    async def bump(
        self,
        key: str,
        now: datetime,
        *,
        restart: Literal["after_idle", "new_window"],
        cutoff: datetime,
    ) -> tuple[int, datetime]:
        """One more failure, atomically (concurrent replicas add up). The count starts again at 1
        when the last failure is older than ``cutoff`` (``after_idle``) or the window started before
        it (``new_window``). Returns the count and the window's start."""
        column = (
            AuthThrottle.last_failure_at
            if restart == "after_idle"
            else AuthThrottle.window_started_at
        )
        starts_again = column <= cutoff
        statement = (
            insert(AuthThrottle)
            .values(key=key, failures=1, window_started_at=now, last_failure_at=now)
            .on_conflict_do_update(
                index_elements=[AuthThrottle.key],
                set_={
                    "failures": case((starts_again, 1), else_=AuthThrottle.failures + 1),
                    "window_started_at": case(
                        (starts_again, now), else_=AuthThrottle.window_started_at
                    ),
                    "last_failure_at": now,
                },
            )
            .returning(AuthThrottle.failures, AuthThrottle.window_started_at)
        )
        failures, started = (await self.session.execute(statement)).one()
        return int(failures), started

    async def lock(self, key: str, until: datetime) -> None:
        await self.session.execute(
            update(AuthThrottle).where(AuthThrottle.key == key).values(locked_until=until)
        )

    async def prune(self, idle_before: datetime, now: datetime, batch: int = 100) -> None:
        stale = (
            select(AuthThrottle.key)
            .where(
                AuthThrottle.last_failure_at < idle_before,
                or_(AuthThrottle.locked_until.is_(None), AuthThrottle.locked_until < now),
            )
            .limit(batch)
            .scalar_subquery()
        )
        await self.session.execute(delete(AuthThrottle).where(AuthThrottle.key.in_(stale)))

    async def forget(self, key: str) -> None:
        await self.session.execute(delete(AuthThrottle).where(AuthThrottle.key == key))


class RefreshTokenStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_digest(self, digest: str, *, for_update: bool = False) -> RefreshToken | None:
        query = select(RefreshToken).where(RefreshToken.digest == digest)
        if for_update:
            query = query.with_for_update()
        row = await self.session.scalar(query)
        return row

    async def revoke_family(self, family_id: uuid.UUID, now: datetime) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def revoke_user(self, user_id: uuid.UUID, now: datetime) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )


class IdempotencyRecords:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def drop_expired(
        self, principal: str, key: str, expired_before: datetime, batch: int = 100
    ) -> None:
        """This key if it has expired (so it can be claimed again), and a batch of other expired ones."""
        expired = (
            select(IdempotencyRecord.id)
            .where(IdempotencyRecord.created_at < expired_before)
            .limit(batch)
            .scalar_subquery()
        )
        await self.session.execute(
            delete(IdempotencyRecord).where(
                or_(
                    IdempotencyRecord.id.in_(expired),
                    and_(
                        IdempotencyRecord.principal == principal,
                        IdempotencyRecord.key == key,
                        IdempotencyRecord.created_at < expired_before,
                    ),
                )
            )
        )

    async def insert_if_absent(self, record: dict[str, Any]) -> uuid.UUID | None:
        claimed = await self.session.scalar(
            insert(IdempotencyRecord)
            .values(**record)
            .on_conflict_do_nothing(index_elements=["principal", "key"])
            .returning(IdempotencyRecord.id)
        )
        return claimed

    async def get(self, principal: str, key: str) -> IdempotencyRecord | None:
        row = await self.session.scalar(
            select(IdempotencyRecord)
            .where(IdempotencyRecord.principal == principal, IdempotencyRecord.key == key)
            .execution_options(populate_existing=True)
        )
        return row
