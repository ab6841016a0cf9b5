"""A fresh system's first account: platform operators (CLI) and, in dev only, a demo operator."""

from __future__ import annotations

from gateway.db.models import User
from gateway.domain.catalogue import Role
from gateway.domain.context import Env
from gateway.domain.identity import send_invitation
from shared.errors import Conflict


async def create_operator(env: Env, email: str, display_name: str, locale: str) -> tuple[User, str]:
    """An invited platform operator; the returned invitation token is also mailed."""
    email = email.strip().lower()
    if await env.users.by_email(email):
        raise Conflict(f"{email} already has an account")
    now = env.clock.now()
    user = User(
        id=env.random.uuid(),
        org_id=None,
        email=email,
        display_name=display_name,
        locale=locale,
        roles=[Role.PLATFORM_OPERATOR.value],
        status="invited",
        totp_enabled=False,
        created_at=now,
        updated_at=now,
    )
    env.session.add(user)
    await env.session.flush()
    token = await send_invitation(env, user, None)
    env.audit.record("operator_created", org_id=None, subject_id=user.id, via="cli")
    return user, token


async def ensure_demo_operator(env: Env, email: str, password: str) -> User:
    """Dev only: an active operator with a known password, so `make run` can be tried at once."""
    email = email.strip().lower()
    user = await env.users.by_email(email)
    now = env.clock.now()
    if user is None:
        user = User(
            id=env.random.uuid(),
            org_id=None,
            email=email,
            display_name="Demo operator",
            locale="ja",
            roles=[Role.PLATFORM_OPERATOR.value],
            status="active",
            totp_enabled=False,
            created_at=now,
            updated_at=now,
        )
        env.session.add(user)
    if user.password_hash is None or not await env.hashing.verify(user.password_hash, password):
        user.password_hash = await env.hashing.hash(password)
        user.password_changed_at = now
    user.status = "active"
    await env.session.flush()
    return user
