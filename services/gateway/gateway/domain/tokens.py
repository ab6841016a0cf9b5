"""Access tokens (short-lived RS256 JWTs) and refresh tokens (opaque, rotated, reuse-detecting).

Why form permissions travel *in* the access token (``forms`` claim) rather than being looked up:
every service verifies tokens offline against the JWKS and decides form access from the claims alone,
with no call back to the gateway on the hot path and no shared database. The claim is small (at most
the ~40 form types × a few bytes). The cost is staleness, bounded by the access-token lifetime
(``access_token_ttl_s``, 10 min by default): every refresh re-reads permissions, roles and the account
status from the database, so a change takes effect at the latest when the current access token
expires, and a deactivated user cannot refresh at all (their refresh families are revoked at once).
The gateway's own identity endpoints go further and re-check the account on every request.

Refresh tokens (OAuth 2.0 Security BCP §4.14): 256-bit random, stored as keyed digests, one family per
login. Every use rotates: the presented token is marked rotated and a new one of the same family is
issued. Presenting a rotated (or revoked) token again means it was copied: the whole family is
revoked, so both the thief and the victim must log in again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import RefreshToken, User
from gateway.db.repositories import RefreshTokenStore
from gateway.domain.clock import Clock, Randomness
from gateway.domain.crypto import SecretBox
from gateway.keys import KeyRing

REFRESH_PREFIX = "mrt_"


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    expires_in: int
    refresh_token: str | None
    scope: str = ""


@dataclass(frozen=True)
class RefreshOutcome:
    user_id: uuid.UUID | None
    family_id: uuid.UUID | None
    reused: bool


class AccessTokens:
    def __init__(
        self, keyring: KeyRing, *, issuer: str, audience: str, ttl_s: int, clock: Clock
    ) -> None:
        self.keyring = keyring
        self.issuer = issuer
        self.audience = audience
        self.ttl_s = ttl_s
        self.clock = clock

    def sign(
        self,
        *,
        subject: str,
        kind: str,
        jti: str,
        org_id: uuid.UUID | None = None,
        roles: list[str] | None = None,
        scopes: list[str] | None = None,
        business_types: list[str] | None = None,
        forms: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> str:
        now = int(self.clock.now().timestamp())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + self.ttl_s,
            "jti": jti,
            "kind": kind,
            "roles": sorted(roles or []),
            "scope": " ".join(sorted(scopes or [])),
            "btypes": sorted(business_types or []),
            "forms": dict(sorted((forms or {}).items())),
        }
        if org_id is not None:
            claims["org"] = str(org_id)
        claims.update(extra or {})
        return self.keyring.sign(claims)


class RefreshTokens:
    def __init__(
        self,
        session: AsyncSession,
        box: SecretBox,
        clock: Clock,
        random: Randomness,
        ttl_s: int,
    ) -> None:
        self.session = session
        self.box = box
        self.clock = clock
        self.random = random
        self.ttl_s = ttl_s
        self.store = RefreshTokenStore(session)

    def _digest(self, token: str) -> str:
        return self.box.digest("refresh", token)

    async def issue(self, user_id: uuid.UUID, family_id: uuid.UUID | None = None) -> str:
        token = REFRESH_PREFIX + self.random.token(32)
        now = self.clock.now()
        self.session.add(
            RefreshToken(
                id=self.random.uuid(),
                family_id=family_id or self.random.uuid(),
                user_id=user_id,
                digest=self._digest(token),
                issued_at=now,
                expires_at=now + timedelta(seconds=self.ttl_s),
            )
        )
        await self.session.flush()
        return token

    async def consume(self, token: str) -> tuple[RefreshOutcome, RefreshToken | None]:
        """Mark the token rotated. A token already rotated or revoked revokes its whole family."""
        # Locked: of two racing refreshes with one token, the second sees it rotated.
        row = await self.store.by_digest(self._digest(token), for_update=True)
        now = self.clock.now()
        if row is None:
            return RefreshOutcome(None, None, reused=False), None
        if row.rotated_at is not None or row.revoked_at is not None:
            await self.revoke_family(row.family_id, now)
            return RefreshOutcome(
                row.user_id, row.family_id, reused=row.rotated_at is not None
            ), None
        if row.expires_at <= now:
            return RefreshOutcome(row.user_id, row.family_id, reused=False), None
        row.rotated_at = now
        await self.session.flush()
        return RefreshOutcome(row.user_id, row.family_id, reused=False), row

    async def revoke_family(self, family_id: uuid.UUID, now: datetime | None = None) -> None:
        await self.store.revoke_family(family_id, now or self.clock.now())

    async def revoke_all_for(self, user: User) -> None:
        await self.store.revoke_user(user.id, self.clock.now())

    async def family_of(self, token: str) -> RefreshToken | None:
        return await self.store.by_digest(self._digest(token))
