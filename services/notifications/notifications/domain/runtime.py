"""Time, ids, randomness and name resolution, injected so tests can be exact."""

from __future__ import annotations

import asyncio
import random
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

Resolver = Callable[[str, int], Awaitable[list[str]]]


def utc_now() -> datetime:
    return datetime.now(UTC)


async def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IPv4 and IPv6), as the connection would see them."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


@dataclass
class Runtime:
    now: Callable[[], datetime] = utc_now
    new_id: Callable[[], uuid.UUID] = uuid.uuid4
    rng: random.Random = field(default_factory=random.SystemRandom)
    resolve: Resolver = resolve_host
