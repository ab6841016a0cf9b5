"""What the trades service takes from the outside world, injectable so tests are exact."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Runtime:
    clock: Callable[[], datetime] = utcnow
    new_id: Callable[[], uuid.UUID] = field(default=uuid.uuid4)
