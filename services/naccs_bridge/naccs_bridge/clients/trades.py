"""Who may see a trade's NACCS forms: its participants, as the trades service says.

Expected at the trades service (``AccessAnswer`` in ``trades.schemas``)::

    GET /internal/trades/{trade_id}/access?org_id=...
    200 {"trade_id": ..., "org_id": ..., "participant": true, "status": "active",
         "trade_no": "EXP-2026-000123", ...}   404: no such trade
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Protocol

from shared.http import ServiceClient, UpstreamProblem


class TradeAccess(Protocol):
    async def is_participant(self, trade_id: uuid.UUID, org_id: str) -> bool: ...

    async def trade_number(self, trade_id: uuid.UUID, org_id: str) -> str | None:
        """The trade's number (取引管理番号) as ``org_id`` may see it; None when unknown."""
        ...


class TradesServiceAccess:
    def __init__(self, client: ServiceClient, token: Callable[[], Awaitable[str | None]]) -> None:
        self._client = client
        self._token = token

    async def _answer(self, trade_id: uuid.UUID, org_id: str) -> dict[str, Any] | None:
        try:
            body = await self._client.json(
                "GET",
                f"/internal/trades/{trade_id}/access",
                params={"org_id": org_id},
                token=await self._token(),
            )
        except UpstreamProblem as problem:
            if problem.upstream_status == 404:
                return None
            raise
        return body if isinstance(body, dict) else None

    async def is_participant(self, trade_id: uuid.UUID, org_id: str) -> bool:
        body = await self._answer(trade_id, org_id)
        if body is None:
            return False
        return bool(body.get("participant")) and body.get("status") in (None, "active")

    async def trade_number(self, trade_id: uuid.UUID, org_id: str) -> str | None:
        body = await self._answer(trade_id, org_id)
        number = body.get("trade_no") if body is not None and body.get("participant") else None
        return number if isinstance(number, str) and number else None


class StaticTradeAccess:
    """Participants given directly (tests, and development without the trades service)."""

    def __init__(
        self,
        participants: Mapping[uuid.UUID, Iterable[str]] | None = None,
        trade_numbers: Mapping[uuid.UUID, str] | None = None,
    ) -> None:
        self._participants = {k: set(v) for k, v in (participants or {}).items()}
        self.trade_numbers = dict(trade_numbers or {})

    def add(self, trade_id: uuid.UUID, *org_ids: str) -> None:
        self._participants.setdefault(trade_id, set()).update(org_ids)

    async def is_participant(self, trade_id: uuid.UUID, org_id: str) -> bool:
        return org_id in self._participants.get(trade_id, set())

    async def trade_number(self, trade_id: uuid.UUID, org_id: str) -> str | None:
        if not await self.is_participant(trade_id, org_id):
            return None
        return self.trade_numbers.get(trade_id)
