"""Time, ids and randomness, injected so that tests are exact (TOTP steps, expiries, lockouts)."""

from __future__ import annotations

import secrets
import string
import uuid
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that moves only when told to (tests)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = (start or datetime.now(UTC)).astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)

    def set(self, moment: datetime) -> None:
        self._now = moment.astimezone(UTC)


class Randomness(Protocol):
    def uuid(self) -> uuid.UUID: ...
    def token(self, nbytes: int) -> str: ...
    def digits(self, count: int) -> str: ...
    def base32(self, count: int) -> str: ...


class SystemRandomness:
    """Cryptographically secure randomness (``secrets``); ids are UUIDv4."""

    def uuid(self) -> uuid.UUID:
        return uuid.uuid4()

    def token(self, nbytes: int) -> str:
        return secrets.token_urlsafe(nbytes)

    def digits(self, count: int) -> str:
        return "".join(secrets.choice(string.digits) for _ in range(count))

    def base32(self, count: int) -> str:
        # Lower-case and without 0/1/8/9 look-alikes, so recovery codes survive being written down.
        alphabet = "abcdefghijklmnopqrstuvwxyz234567"
        return "".join(secrets.choice(alphabet) for _ in range(count))
