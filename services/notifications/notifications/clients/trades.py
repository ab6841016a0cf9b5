"""Who participates in a trade: the questions this service asks the trades service.

The trades service owns participants; this service never reads its database. Two questions:

* ``can_access(trade, org)``: may this organisation see the trade now? Asked of the trades service's
  ``GET /internal/trades/{trade_id}/access?org=...`` (answer ``{"participant": bool, "hidden": bool,
  ...}``) on every read that names a trade, so a removed participant loses access at once.
* ``participants(trade)``: every active participant with its hidden flag, to decide who hears of
  an event: ``GET /internal/trades/{trade_id}/participants`` → ``{"trade_id", "participants":
  [{"org_id", "hidden", "roles", ...}]}`` (404: no such trade). With
  ``NOTIFICATIONS_TRADES_PARTICIPANTS_API=false`` (or no trades URL) ``participants`` answers None and
  the audience comes from the membership this service projects from the trades service's own
  participant events (see ``domain/membership.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Protocol

from pydantic import BaseModel, Field

from shared.http import ServiceClient, UpstreamProblem


class TradeParticipant(BaseModel):
    org_id: str
    hidden: bool = False
    roles: list[str] = Field(default_factory=list)


class TradeParticipants(BaseModel):
    trade_id: uuid.UUID
    participants: list[TradeParticipant]

    def org_ids(self) -> set[str]:
        return {p.org_id for p in self.participants}

    def hidden_org_ids(self) -> set[str]:
        return {p.org_id for p in self.participants if p.hidden}


class TradeAccessAnswer(BaseModel):
    """The part of the trades service's access answer this service uses."""

    participant: bool
    hidden: bool = False


class TradeDirectory(Protocol):
    async def participants(self, trade_id: uuid.UUID) -> TradeParticipants | None:
        """The trade's active participants; None when this directory cannot say."""

    async def can_access(self, trade_id: uuid.UUID, org_id: str) -> bool | None:
        """Whether ``org_id`` participates in the trade (hidden ones included); None: unknown."""


class HttpTradeDirectory:
    """The trades service over HTTP, with a service token (timeouts and retries from ServiceClient)."""

    def __init__(
        self,
        client: ServiceClient,
        token: Callable[[], Awaitable[str | None]],
        *,
        participants_api: bool = False,
    ) -> None:
        self._client = client
        self._token = token
        self._participants_api = participants_api

    async def participants(self, trade_id: uuid.UUID) -> TradeParticipants | None:
        if not self._participants_api:
            return None
        try:
            body = await self._client.json(
                "GET", f"/internal/trades/{trade_id}/participants", token=await self._token()
            )
        except UpstreamProblem as exc:
            if exc.upstream_status == 404:
                return TradeParticipants(trade_id=trade_id, participants=[])
            raise
        return TradeParticipants.model_validate(body)

    async def can_access(self, trade_id: uuid.UUID, org_id: str) -> bool | None:
        try:
            body = await self._client.json(
                "GET",
                f"/internal/trades/{trade_id}/access",
                params={"org": org_id},
                token=await self._token(),
            )
        except UpstreamProblem as exc:
            if exc.upstream_status == 404:
                return False
            raise
        return TradeAccessAnswer.model_validate(body).participant


class NoTradeDirectory:
    """No trades URL configured: the projected membership is the only source."""

    async def participants(self, trade_id: uuid.UUID) -> TradeParticipants | None:
        return None

    async def can_access(self, trade_id: uuid.UUID, org_id: str) -> bool | None:
        return None
