"""Who participates in a trade: the one question this service asks the trades service.

The trades service owns participants; this service never reads its database. The interface is a small
protocol so the domain does not care whether the answer comes over HTTP (production) or from a table in
a test. The expected endpoint on the trades service::

    GET /internal/trades/{trade_id}/participants
    200 {"trade_id": "...", "participants": [{"org_id": "...", "hidden": false, "roles": ["shipper"]}]}
    404 when the trade does not exist

(and ``GET /internal/trades/{trade_id}/access?org=...`` for a single yes/no, which ``can_access`` uses
when the full list is not needed).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Protocol

from pydantic import BaseModel, Field

from shared.http import ServiceClient, UpstreamProblem


class TradeParticipant(BaseModel):
    org_id: uuid.UUID
    hidden: bool = False
    roles: list[str] = Field(default_factory=list)


class TradeParticipants(BaseModel):
    trade_id: uuid.UUID
    participants: list[TradeParticipant]

    def org_ids(self) -> set[uuid.UUID]:
        return {p.org_id for p in self.participants}

    def hidden_org_ids(self) -> set[uuid.UUID]:
        return {p.org_id for p in self.participants if p.hidden}


class TradeAccessAnswer(BaseModel):
    allowed: bool
    hidden: bool = False


class TradeDirectory(Protocol):
    async def participants(self, trade_id: uuid.UUID) -> TradeParticipants | None:
        """The trade's participants, or None when there is no such trade."""

    async def can_access(self, trade_id: uuid.UUID, org_id: uuid.UUID) -> bool | None:
        """Whether ``org_id`` participates in the trade (hidden ones included); None: unknown."""


class HttpTradeDirectory:
    """The trades service over HTTP, with a service token (timeouts and retries from ServiceClient)."""

    def __init__(self, client: ServiceClient, token: Callable[[], str | None]) -> None:
        self._client = client
        self._token = token

    async def participants(self, trade_id: uuid.UUID) -> TradeParticipants | None:
        try:
            body = await self._client.json(
                "GET", f"/internal/trades/{trade_id}/participants", token=self._token()
            )
        except UpstreamProblem as exc:
            if exc.upstream_status == 404:
                return None
            raise
        return TradeParticipants.model_validate(body)

    async def can_access(self, trade_id: uuid.UUID, org_id: uuid.UUID) -> bool | None:
        try:
            body = await self._client.json(
                "GET",
                f"/internal/trades/{trade_id}/access",
                params={"org": str(org_id)},
                token=self._token(),
            )
        except UpstreamProblem as exc:
            if exc.upstream_status == 404:
                return False
            raise
        return TradeAccessAnswer.model_validate(body).allowed


class NoTradeDirectory:
    """Used when no trades URL is configured: nothing is known, so only declared audiences apply."""

    async def participants(self, trade_id: uuid.UUID) -> TradeParticipants | None:
        return None

    async def can_access(self, trade_id: uuid.UUID, org_id: uuid.UUID) -> bool | None:
        return None
