"""Authentication: first login from an invitation, TOTP enrolment, login with e-mail + password
(+ confirmation code), refresh with rotation, logout, password reset by a mailed code.

No user enumeration: an unknown e-mail, a wrong password, an invited or deactivated account all get
the same answer, after the same argon2 work (a decoy hash when there is no account), and count against
the same per-e-mail throttle. Password reset always answers "accepted".
"""

from __future__ import annotations

import hmac
import uuid
from datetime import timedelta

from gateway.db.models import OneTimeSecret, RecoveryCode, User
from gateway.domain import totp
from gateway.domain.context import Env, Rejected
from gateway.domain.errors import (
    InvalidCode,
    InvalidCredentials,
    InvalidToken,
    TotpRequired,
)
from gateway.domain.mail import password_reset_mail
from gateway.domain.passwords import password_problems
from gateway.schemas import (
    EnrolTotpResult,
    LoginResult,
    TokenPair,
    TotpEnrolment,
)
from shared.errors import Conflict, InvalidInput, field_error

RECOVERY_CODE_COUNT = 10
ENROLMENT_MAX_ATTEMPTS = 5
INVITATION = "invitation"
TOTP_ENROLMENT = "totp_enrolment"
PASSWORD_RESET = "password_reset"  # noqa: S105 - a purpose name, not a secret


def account_key(env: Env, email: str) -> str:
    return "acct:" + env.box.digest("throttle", email.strip().lower())


def ip_key(env: Env) -> str | None:
    return f"ip:{env.ip}" if env.ip else None


def _throttle_keys(env: Env, email: str) -> list[str]:
    keys = [account_key(env, email)]
    ip = ip_key(env)
    if ip:
        keys.append(ip)
    return keys


async def check_password_policy(
    env: Env, password: str, *, email: str, field: str = "password"
) -> None:
    problems = password_problems(password, email=email)
    if problems:
        raise InvalidInput(
            f"The {field.replace('_', ' ')} is not acceptable",
            errors=[
                field_error([field], f"Password {problem}", kind="password_policy")
                for problem in problems
            ],
        )


def totp_required(env: Env, user: User, org_require_totp: bool | None) -> bool:
    if user.totp_enabled:
        return True
    if org_require_totp is None:  # a platform operator
        return env.settings.operator_require_totp
    return org_require_totp


async def issue_user_tokens(env: Env, user: User, family_id: uuid.UUID | None = None) -> TokenPair:
    org = await env.orgs.get(user.org_id) if user.org_id else None
    forms = await env.users.form_permissions(user.id)
    access = env.access_tokens.sign(
        subject=str(user.id),
        kind="user",
        jti=env.random.uuid().hex,
        org_id=user.org_id,
        roles=list(user.roles),
        business_types=list(org.business_types) if org else [],
        forms=forms,
    )
    refresh = await env.refresh_tokens.issue(user.id, family_id)
    return TokenPair(access_token=access, expires_in=env.access_tokens.ttl_s, refresh_token=refresh)


async def _new_secret(env: Env, user: User, purpose: str, value_digest: str, ttl_s: int) -> None:
    now = env.clock.now()
    await env.secrets.void_open(user.id, purpose, now)
    env.session.add(
        OneTimeSecret(
            id=env.random.uuid(),
            user_id=user.id,
            purpose=purpose,
            digest=value_digest,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_s),
            attempts=0,
        )
    )
    await env.session.flush()


async def start_enrolment(env: Env, user: User) -> TotpEnrolment:
    secret = env.random.base32(32).upper()  # 160 bits (RFC 4226 §4)
    user.totp_secret_encrypted = env.box.seal(secret.encode(), context=f"totp:{user.id}")
    user.totp_enabled = False
    user.totp_last_step = None
    token = env.random.token(32)
    await _new_secret(
        env,
        user,
        TOTP_ENROLMENT,
        env.box.digest(TOTP_ENROLMENT, token),
        env.settings.enrolment_ttl_s,
    )
    return TotpEnrolment(
        enrolment_token=token,
        secret=secret,
        otpauth_uri=totp.provisioning_uri(secret, user.email),
        expires_at=env.clock.now() + timedelta(seconds=env.settings.enrolment_ttl_s),
    )


async def _org_requires_totp(env: Env, user: User) -> bool | None:
    if user.org_id is None:
        return None
    org = await env.orgs.get(user.org_id)
    return bool(org and org.require_totp)


async def _after_password(env: Env, user: User) -> LoginResult:
    """Password accepted and no second factor pending: tokens, or TOTP enrolment when required."""
    if totp_required(env, user, await _org_requires_totp(env, user)) and not user.totp_enabled:
        enrolment = await start_enrolment(env, user)
        env.audit.record("totp_enrolment_started", org_id=user.org_id, subject_id=user.id)
        return LoginResult(status="totp_enrolment_required", enrolment=enrolment)
    user.last_login_at = env.clock.now()
    env.audit.record("login_succeeded", org_id=user.org_id, actor_id=user.id, subject_id=user.id)
    return LoginResult(status="authenticated", tokens=await issue_user_tokens(env, user))


async def accept_invitation(env: Env, token: str, password: str) -> LoginResult:
    now = env.clock.now()
    invitation = await env.secrets.by_digest(INVITATION, env.box.digest(INVITATION, token))
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= now:
        raise InvalidToken("The invitation is invalid, expired or already used")
    user = await env.users.get_for_update(invitation.user_id)
    if user is None or user.status != "invited":
        raise InvalidToken("The invitation is invalid, expired or already used")
    await check_password_policy(env, password, email=user.email)
    user.password_hash = await env.hashing.hash(password)
    user.password_changed_at = now
    user.status = "active"
    user.updated_at = now
    invitation.used_at = now
    env.audit.record(
        "invitation_accepted", org_id=user.org_id, actor_id=user.id, subject_id=user.id
    )
    await env.session.flush()
    return await _after_password(env, user)


async def enrol_totp(env: Env, enrolment_token: str, code: str) -> EnrolTotpResult:
    now = env.clock.now()
    ticket = await env.secrets.by_digest(
        TOTP_ENROLMENT, env.box.digest(TOTP_ENROLMENT, enrolment_token)
    )
    if ticket is None or ticket.used_at is not None or ticket.expires_at <= now:
        raise InvalidToken("The enrolment is invalid, expired or already completed")
    user = await env.users.get_for_update(ticket.user_id)
    if user is None or user.status != "active" or user.totp_secret_encrypted is None:
        raise InvalidToken("The enrolment is invalid, expired or already completed")
    secret = env.box.open(user.totp_secret_encrypted, context=f"totp:{user.id}").decode()
    step = totp.accepted_step(secret, code, now, None)
    if step is None:
        ticket.attempts += 1
        if ticket.attempts >= ENROLMENT_MAX_ATTEMPTS:
            ticket.used_at = now  # start over with a new secret
        await env.session.flush()
        raise Rejected(InvalidCode("The confirmation code does not match"))
    ticket.used_at = now
    user.totp_enabled = True
    user.totp_last_step = step
    user.last_login_at = now
    codes = await _new_recovery_codes(env, user)
    env.audit.record("totp_enrolled", org_id=user.org_id, actor_id=user.id, subject_id=user.id)
    env.audit.record("login_succeeded", org_id=user.org_id, actor_id=user.id, subject_id=user.id)
    return EnrolTotpResult(tokens=await issue_user_tokens(env, user), recovery_codes=codes)


async def _new_recovery_codes(env: Env, user: User) -> list[str]:
    """A fresh set of single-use recovery codes; any earlier set stops working."""
    codes = [f"{env.random.base32(5)}-{env.random.base32(5)}" for _ in range(RECOVERY_CODE_COUNT)]
    await env.recovery_codes.replace(
        user.id,
        [
            RecoveryCode(
                id=env.random.uuid(),
                user_id=user.id,
                digest=env.box.digest(f"recovery:{user.id}", code),
            )
            for code in codes
        ],
    )
    return codes


async def regenerate_recovery_codes(env: Env, user: User, totp_code: str) -> list[str]:
    """New recovery codes for a signed-in user, who proves the second factor again."""
    await env.throttle.check(_throttle_keys(env, user.email), env.clock.now())
    locked = await env.users.get_for_update(user.id)
    assert locked is not None
    if not locked.totp_enabled or locked.totp_secret_encrypted is None:
        raise Conflict("Two-factor authentication is not enrolled")
    secret = env.box.open(locked.totp_secret_encrypted, context=f"totp:{locked.id}").decode()
    step = totp.accepted_step(secret, totp_code, env.clock.now(), locked.totp_last_step)
    if step is None:
        await _fail(env, locked.email, locked, "totp")
        raise Rejected(InvalidCredentials("The confirmation code is not correct"))
    locked.totp_last_step = step
    codes = await _new_recovery_codes(env, locked)
    env.audit.record(
        "recovery_codes_regenerated", org_id=locked.org_id, actor_id=locked.id, subject_id=locked.id
    )
    return codes


async def _fail(env: Env, email: str, user: User | None, reason: str) -> None:
    await env.throttle.record_failure(account_key(env, email), ip_key(env), env.clock.now())
    env.audit.record(
        "login_failed",
        org_id=user.org_id if user else None,
        subject_id=user.id if user else None,
        reason=reason,
    )
    await env.session.flush()


async def login(
    env: Env,
    email: str,
    password: str,
    totp_code: str | None,
    recovery_code: str | None,
) -> LoginResult:
    email = email.strip().lower()
    await env.throttle.check(_throttle_keys(env, email), env.clock.now())
    user = await env.users.by_email(email)
    # Always one argon2 verification: the account's hash, or a decoy when there is none.
    matched = await env.hashing.verify(user.password_hash if user else None, password)
    if user is None or not matched or user.status != "active":
        await _fail(env, email, user, "password")
        raise Rejected(InvalidCredentials())
    user = await env.users.get_for_update(user.id)  # serialises TOTP step checks per user
    assert user is not None
    if user.totp_enabled:
        now = env.clock.now()
        if totp_code is not None:
            assert user.totp_secret_encrypted is not None
            secret = env.box.open(user.totp_secret_encrypted, context=f"totp:{user.id}").decode()
            step = totp.accepted_step(secret, totp_code, now, user.totp_last_step)
            if step is None:
                await _fail(env, email, user, "totp")
                raise Rejected(InvalidCredentials("The confirmation code is not correct"))
            user.totp_last_step = step
        elif recovery_code is not None:
            row = await env.recovery_codes.unused(
                user.id, env.box.digest(f"recovery:{user.id}", recovery_code.strip().lower())
            )
            if row is None:
                await _fail(env, email, user, "recovery_code")
                raise Rejected(InvalidCredentials("The recovery code is not correct"))
            row.used_at = now
            env.audit.record("recovery_code_used", org_id=user.org_id, subject_id=user.id)
        else:
            raise TotpRequired()
    await env.throttle.reset(account_key(env, email))
    return await _after_password(env, user)


async def refresh(env: Env, token: str) -> TokenPair:
    outcome, row = await env.refresh_tokens.consume(token)
    if row is None:
        if outcome.reused:
            user = await env.users.get(outcome.user_id) if outcome.user_id else None
            env.audit.record(
                "refresh_token_reused",
                org_id=user.org_id if user else None,
                subject_id=outcome.user_id,
                family_id=str(outcome.family_id),
            )
        await env.session.flush()
        raise Rejected(InvalidToken())
    user = await env.users.get(row.user_id)
    if user is None or user.status != "active":
        await env.refresh_tokens.revoke_family(row.family_id)
        raise Rejected(InvalidToken())
    return await issue_user_tokens(env, user, family_id=row.family_id)


async def logout(env: Env, token: str) -> None:
    row = await env.refresh_tokens.family_of(token)
    if row is not None:
        await env.refresh_tokens.revoke_family(row.family_id)
        user = await env.users.get(row.user_id)
        env.audit.record(
            "logout",
            org_id=user.org_id if user else None,
            actor_id=row.user_id,
            subject_id=row.user_id,
        )


async def request_password_reset(env: Env, email: str) -> None:
    email = email.strip().lower()
    user = await env.users.by_email(email)
    if user is None or user.status != "active":
        return
    now = env.clock.now()
    recent = await env.secrets.count_since(user.id, PASSWORD_RESET, now - timedelta(hours=1))
    if recent >= env.settings.password_reset_max_per_hour:
        env.audit.record("password_reset_refused", org_id=user.org_id, subject_id=user.id)
        return
    code = env.random.digits(8)
    await _new_secret(
        env,
        user,
        PASSWORD_RESET,
        env.box.digest(PASSWORD_RESET, f"{user.id}:{code}"),
        env.settings.password_reset_ttl_s,
    )
    env.audit.record("password_reset_requested", org_id=user.org_id, subject_id=user.id)
    env.mail(
        password_reset_mail(
            to=user.email,
            locale=user.locale,
            code=code,
            valid_minutes=env.settings.password_reset_ttl_s // 60,
        )
    )


async def confirm_password_reset(env: Env, email: str, code: str, new_password: str) -> None:
    email = email.strip().lower()
    now = env.clock.now()
    await env.throttle.check(_throttle_keys(env, email), now)
    user = await env.users.by_email(email)
    ticket = (
        await env.secrets.latest_open(user.id, PASSWORD_RESET, now)
        if user is not None and user.status == "active"
        else None
    )
    expected = env.box.digest(PASSWORD_RESET, f"{user.id}:{code}") if user else ""
    if user is None or ticket is None or not hmac.compare_digest(ticket.digest, expected):
        if ticket is not None:
            ticket.attempts += 1
            if ticket.attempts >= env.settings.password_reset_max_attempts:
                ticket.used_at = now
        await _fail(env, email, user, "password_reset_code")
        raise Rejected(InvalidCode())
    await check_password_policy(env, new_password, email=user.email, field="new_password")
    user = await env.users.get_for_update(user.id)
    assert user is not None
    user.password_hash = await env.hashing.hash(new_password)
    user.password_changed_at = now
    user.updated_at = now
    ticket.used_at = now
    await env.refresh_tokens.revoke_all_for(user)
    await env.throttle.reset(account_key(env, email))
    env.audit.record("password_reset", org_id=user.org_id, actor_id=user.id, subject_id=user.id)
    await env.session.flush()


async def change_password(env: Env, user: User, current: str, new: str) -> None:
    if not await env.hashing.verify(user.password_hash, current):
        await _fail(env, user.email, user, "password_change")
        raise Rejected(InvalidCredentials("The current password is not correct"))
    await check_password_policy(env, new, email=user.email, field="new_password")
    user.password_hash = await env.hashing.hash(new)
    user.password_changed_at = env.clock.now()
    user.updated_at = env.clock.now()
    await env.refresh_tokens.revoke_all_for(user)
    env.audit.record("password_changed", org_id=user.org_id, actor_id=user.id, subject_id=user.id)
    await env.session.flush()
