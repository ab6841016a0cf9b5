"""Who may see a trade: asked of the trades service on every request, never cached.

Removing a participant must take effect at once, so there is no TTL cache here: the check is one
indexed lookup on the trades side. The trades service answers this only to Minato services, so the
call carries this service's token and names the caller's organisation, which comes from the caller's
verified token (never from a header the caller chose).

The contract (``trades.api.internal``; tolerant reader, unknown fields are ignored)::

    GET /internal/trades/{trade_id}/access?org={org_id}       Authorization: Bearer <service token>
    200 {"trade_id": "...", "org_id": "...", "participant": true, "status": "active",
         "role": "shipper", "hidden": false, "is_owner": false,
         "visible_participant_org_ids": ["..."]}
    ("participant": false for an organisation that does not, or no longer, take part)
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from pydantic import BaseModel, ConfigDict, Field

from shared.http import ServiceClient, UpstreamProblem

TokenSource = Callable[[], Awaitable[str | None]]


class TradeAccess(BaseModel):
    """The caller organisation's standing in one trade."""

    model_config = ConfigDict(extra="ignore")

    trade_id: uuid.UUID
    org_id: str
    participant: bool = False  # fail closed if the field ever goes missing
    role: str | None = None
    hidden: bool = False
    is_owner: bool = False
    visible_participant_org_ids: list[str] = Field(default_factory=list)


class TradesClient:
    def __init__(self, client: ServiceClient, token: TokenSource) -> None:
        self._client = client
        self._token = token

    async def aclose(self) -> None:
        await self._client.aclose()

    async def access(self, trade_id: uuid.UUID, *, org_id: str) -> TradeAccess | None:
        """The organisation's access to the trade, or None when it takes no part in it."""
        try:
            body = await self._client.json(
                "GET",
                f"/internal/trades/{trade_id}/access",
                params={"org": org_id},
                token=await self._token(),
            )
        except UpstreamProblem as exc:
            if exc.upstream_status == 404:
                return None
            raise
        answer = TradeAccess.model_validate(body)
        return answer if answer.participant and answer.org_id == org_id else None
