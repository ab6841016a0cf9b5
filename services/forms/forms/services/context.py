"""Who is asking, and the injectable clock and id source every use case takes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.auth import Principal

Clock = Callable[[], datetime]
IdFactory = Callable[[], uuid.UUID]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Caller:
    principal: Principal
    org_id: str
    clock: Clock
    new_id: IdFactory

    @property
    def user_id(self) -> str:
        return self.principal.subject
