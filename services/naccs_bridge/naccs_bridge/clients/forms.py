"""The trade's forms as one bundle for the prefill engine (``naccs_bridge.domain.bundle.TradeBundle``).

The forms service answers with this service's token (scope ``forms:read``)::

    GET /internal/trades/{trade_id}/naccs-bundle
    200 {"SI": {...}, "BK": {...}, "IV": {...}, "PL": {...}, "BL": {...}, "AN": {...}, "shared": {...}}

one key per form type the trade has (UL040, UL050, UL100, UL120, UL150, UL290; cancelled forms left out),
each with the trade's shared items merged in; 404 when the trade has no forms yet. ``PUT .../forms/{code}``
without a ``bundle`` reads it (and reads it again on every such refresh); a ``bundle`` in the request
takes its place, for data from outside Minato's forms.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from shared.http import ServiceClient, UpstreamProblem


class TradeForms(Protocol):
    async def bundle_for(self, trade_id: uuid.UUID) -> dict[str, Any] | None: ...


class FormsServiceBundle:
    def __init__(self, client: ServiceClient, token: Callable[[], Awaitable[str | None]]) -> None:
        self._client = client
        self._token = token

    async def bundle_for(self, trade_id: uuid.UUID) -> dict[str, Any] | None:
        try:
            body = await self._client.json(
                "GET", f"/internal/trades/{trade_id}/naccs-bundle", token=await self._token()
            )
        except UpstreamProblem as problem:
            if problem.upstream_status == 404:
                return None
            raise
        return body if isinstance(body, dict) else None


class NoTradeForms:
    """No forms service configured: the bundle must come with the request."""

    async def bundle_for(self, trade_id: uuid.UUID) -> dict[str, Any] | None:
        return None
