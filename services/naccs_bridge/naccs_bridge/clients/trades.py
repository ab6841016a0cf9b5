"""Who may see a trade's NACCS forms: its participants, as the trades service says.

Expected at the trades service (``AccessAnswer`` in ``trades.schemas``)::

    GET /internal/trades/{trade_id}/access?org_id=...
    200 {"trade_id": ..., "org_id": ..., "participant": true, "status": "active", ...}   404: no such trade
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Protocol

from shared.http import ServiceClient, UpstreamProblem


class TradeAccess(Protocol):
    async def is_participant(self, trade_id: uuid.UUID, org_id: str) -> bool: ...


class TradesServiceAccess:
    def __init__(self, client: ServiceClient, token: Callable[[], Awaitable[str | None]]) -> None:
        self._client = client
        self._token = token

    async def is_participant(self, trade_id: uuid.UUID, org_id: str) -> bool:
        try:
            body = await self._client.json(
                "GET",
                f"/internal/trades/{trade_id}/access",
                params={"org_id": org_id},
                token=await self._token(),
            )
        except UpstreamProblem as problem:
            if problem.upstream_status == 404:
                return False
            raise
        return bool(body.get("participant")) and body.get("status") in (None, "active")


class StaticTradeAccess:
    """Participants given directly (tests, and development without the trades service)."""

    def __init__(self, participants: Mapping[uuid.UUID, Iterable[str]] | None = None) -> None:
        self._participants = {k: set(v) for k, v in (participants or {}).items()}

    def add(self, trade_id: uuid.UUID, *org_ids: str) -> None:
        self._participants.setdefault(trade_id, set()).update(org_ids)

    async def is_participant(self, trade_id: uuid.UUID, org_id: str) -> bool:
        return org_id in self._participants.get(trade_id, set())
