"""Login throttling, checked before any password is hashed, shared by every gateway replica.

Two counters per attempt, both rows in PostgreSQL and updated with one atomic upsert each:

* per account: keyed by a digest of the e-mail whether or not an account exists (so the lock reveals
  nothing); failures are forgotten after a day without any. The first ``free_failures`` cost nothing; each one after that locks the account
  for ``base_delay * 2^(n - free_failures)`` seconds, capped at ``max_lock`` (30 min by default, in line
  with PCI DSS 8.3.4). Password, TOTP and recovery-code failures share the counter. Success resets it.
* per client IP: a fixed window; ``ip_max_failures`` failures in ``ip_window`` lock the IP until the
  window ends (password spraying across many accounts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, delete, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import AuthThrottle
from gateway.domain.errors import TooManyAttempts


@dataclass(frozen=True)
class ThrottlePolicy:
    free_failures: int = 5
    base_delay_s: int = 30
    max_lock_s: int = 1800
    ip_window_s: int = 900
    ip_max_failures: int = 50
    account_memory_s: int = 24 * 3600

    def account_lock_s(self, failures: int) -> int:
        if failures < self.free_failures:
            return 0
        return int(min(self.base_delay_s * 2 ** (failures - self.free_failures), self.max_lock_s))


class LoginThrottle:
    def __init__(self, session: AsyncSession, policy: ThrottlePolicy) -> None:
        self.session = session
        self.policy = policy

    async def check(self, keys: list[str], now: datetime) -> None:
        """Refuse at once when any key is locked (no hashing, no lookup of the account)."""
        rows = (
            await self.session.scalars(select(AuthThrottle).where(AuthThrottle.key.in_(keys)))
        ).all()
        waits = [
            (row.locked_until - now).total_seconds()
            for row in rows
            if row.locked_until is not None and row.locked_until > now
        ]
        if waits:
            raise TooManyAttempts(math.ceil(max(waits)))

    async def record_failure(self, account_key: str, ip_key: str | None, now: datetime) -> None:
        await self._prune(now)
        await self._bump_account(account_key, now)
        if ip_key is not None:
            await self._bump_ip(ip_key, now)

    async def _bump_account(self, key: str, now: datetime) -> None:
        statement = (
            insert(AuthThrottle)
            .values(key=key, failures=1, window_started_at=now, last_failure_at=now)
            .on_conflict_do_update(
                index_elements=[AuthThrottle.key],
                set_={
                    # A day without failures forgets the earlier ones.
                    "failures": case(
                        (
                            AuthThrottle.last_failure_at
                            > now - timedelta(seconds=self.policy.account_memory_s),
                            AuthThrottle.failures + 1,
                        ),
                        else_=1,
                    ),
                    "last_failure_at": now,
                },
            )
            .returning(AuthThrottle.failures)
        )
        failures = int((await self.session.execute(statement)).scalar_one())
        lock_s = self.policy.account_lock_s(failures)
        if lock_s:
            await self._lock(key, now + timedelta(seconds=lock_s))

    async def _bump_ip(self, key: str, now: datetime) -> None:
        window_start = now - timedelta(seconds=self.policy.ip_window_s)
        statement = (
            insert(AuthThrottle)
            .values(key=key, failures=1, window_started_at=now, last_failure_at=now)
            .on_conflict_do_update(
                index_elements=[AuthThrottle.key],
                set_={
                    # A window that has ended starts again at this failure.
                    "failures": _case_window(window_start, AuthThrottle.failures + 1, 1),
                    "window_started_at": _case_window(
                        window_start, AuthThrottle.window_started_at, now
                    ),
                    "last_failure_at": now,
                },
            )
            .returning(AuthThrottle.failures, AuthThrottle.window_started_at)
        )
        failures, started = (await self.session.execute(statement)).one()
        if failures >= self.policy.ip_max_failures:
            await self._lock(key, started + timedelta(seconds=self.policy.ip_window_s))

    async def _lock(self, key: str, until: datetime) -> None:
        row = await self.session.get(AuthThrottle, key, populate_existing=True)
        if row is not None:
            row.locked_until = until
            await self.session.flush()

    async def _prune(self, now: datetime) -> None:
        """Forget a bounded batch of counters idle for longer than any window (a spray of unknown
        e-mails must not grow the table without end)."""
        idle = now - timedelta(seconds=max(self.policy.account_memory_s, self.policy.ip_window_s))
        stale = (
            select(AuthThrottle.key)
            .where(
                AuthThrottle.last_failure_at < idle,
                or_(AuthThrottle.locked_until.is_(None), AuthThrottle.locked_until < now),
            )
            .limit(100)
            .scalar_subquery()
        )
        await self.session.execute(delete(AuthThrottle).where(AuthThrottle.key.in_(stale)))

    async def reset(self, key: str) -> None:
        await self.session.execute(delete(AuthThrottle).where(AuthThrottle.key == key))


def _case_window(window_start: datetime, inside: Any, outside: Any) -> ColumnElement[Any]:
    return case((AuthThrottle.window_started_at > window_start, inside), else_=outside)
