"""What every identity operation works with: the request's session, time and randomness, the secret
box and hasher, the token issuers, the client IP and the mail queue; and who is acting."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.config import Settings
from gateway.db.models import User
from gateway.db.repositories import (
    AuditEvents,
    Clients,
    NaccsCredentials,
    OneTimeSecrets,
    Organisations,
    RecoveryCodes,
    Users,
)
from gateway.domain.audit import AuditLog
from gateway.domain.catalogue import Role
from gateway.domain.clock import Clock, Randomness
from gateway.domain.crypto import PasswordHashing, SecretBox
from gateway.domain.mail import OutgoingMail
from gateway.domain.throttle import LoginThrottle, ThrottlePolicy
from gateway.domain.tokens import AccessTokens, RefreshTokens
from shared.auth import Principal
from shared.errors import AppError, Forbidden, NotFound


class Rejected(Exception):
    """Refuse the request *and keep* what was written (failure counters, audit rows, a revoked token
    family): the endpoint turns it into a problem response instead of letting the unit of work roll
    back, which raising the ``AppError`` itself would do."""

    def __init__(self, error: AppError) -> None:
        super().__init__(error.detail)
        self.error = error


def throttle_policy(settings: Settings) -> ThrottlePolicy:
    return ThrottlePolicy(
        free_failures=settings.login_free_failures,
        base_delay_s=settings.login_base_delay_s,
        max_lock_s=settings.login_max_lock_s,
        ip_window_s=settings.ip_window_s,
        ip_max_failures=settings.ip_max_failures,
    )


@dataclass
class Env:
    session: AsyncSession
    settings: Settings
    clock: Clock
    random: Randomness
    box: SecretBox
    hashing: PasswordHashing
    access_tokens: AccessTokens
    ip: str | None
    send_mail: Callable[[OutgoingMail], None]
    sent: list[OutgoingMail] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.orgs = Organisations(self.session)
        self.users = Users(self.session)
        self.secrets = OneTimeSecrets(self.session)
        self.recovery_codes = RecoveryCodes(self.session)
        self.clients = Clients(self.session)
        self.naccs = NaccsCredentials(self.session)
        self.audit_events = AuditEvents(self.session)
        self.audit = AuditLog(self.session, self.clock, self.random, self.ip)
        self.throttle = LoginThrottle(self.session, throttle_policy(self.settings))
        self.refresh_tokens = RefreshTokens(
            self.session, self.box, self.clock, self.random, self.settings.refresh_token_ttl_s
        )

    def mail(self, message: OutgoingMail) -> None:
        self.sent.append(message)
        self.send_mail(message)


@dataclass(frozen=True)
class Actor:
    """A signed-in, currently active user (re-read from the database on every gateway request)."""

    principal: Principal
    user: User

    @property
    def id(self) -> uuid.UUID:
        return self.user.id

    @property
    def org_id(self) -> uuid.UUID | None:
        return self.user.org_id

    @property
    def is_operator(self) -> bool:
        return Role.PLATFORM_OPERATOR in self.user.roles

    @property
    def is_org_admin(self) -> bool:
        return Role.ORG_ADMIN in self.user.roles

    def require_operator(self) -> None:
        if not self.is_operator:
            raise Forbidden("Only a platform operator may do this")

    def see_org(self, org_id: uuid.UUID) -> None:
        """Another organisation's objects do not exist for this actor (404, never 403)."""
        if not self.is_operator and self.org_id != org_id:
            raise NotFound("No such organisation")

    def admin_of(self, org_id: uuid.UUID | None, what: str = "resource") -> None:
        if self.is_operator:
            return
        if org_id is None or self.org_id != org_id:
            raise NotFound(f"No such {what}")
        if not self.is_org_admin:
            raise Forbidden("Only an administrator of your organisation may do this")
