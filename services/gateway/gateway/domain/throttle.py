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

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.repositories import ThrottleCounters
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
        self.counters = ThrottleCounters(session)
        self.policy = policy

    async def check(self, keys: list[str], now: datetime) -> None:
        """Refuse at once when any key is locked (no hashing, no lookup of the account)."""
        waits = [
            (row.locked_until - now).total_seconds()
            for row in await self.counters.for_keys(keys)
            if row.locked_until is not None and row.locked_until > now
        ]
        if waits:
            raise TooManyAttempts(math.ceil(max(waits)))

    async def record_failure(self, account_key: str, ip_key: str | None, now: datetime) -> None:
        # Forget a bounded batch of idle counters (a spray of unknown e-mails must not grow the table).
        idle = max(self.policy.account_memory_s, self.policy.ip_window_s)
        await self.counters.prune(now - timedelta(seconds=idle), now)
        failures, _ = await self.counters.bump(
            account_key,
            now,
            restart="after_idle",
            cutoff=now - timedelta(seconds=self.policy.account_memory_s),
        )
        lock_s = self.policy.account_lock_s(failures)
        if lock_s:
            await self.counters.lock(account_key, now + timedelta(seconds=lock_s))
        if ip_key is not None:
            failures, started = await self.counters.bump(
                ip_key,
                now,
                restart="new_window",
                cutoff=now - timedelta(seconds=self.policy.ip_window_s),
            )
            if failures >= self.policy.ip_max_failures:
                await self.counters.lock(
                    ip_key, started + timedelta(seconds=self.policy.ip_window_s)
                )

    async def reset(self, key: str) -> None:
        await self.counters.forget(key)
