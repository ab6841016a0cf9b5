"""Forwarding partner S/I data to the forms service, behind a typed interface.

The forms service's import API is still being built; the expected call is::

    POST /internal/trades/{trade_id}/forms/UL040/imports   (Idempotency-Key: <inbound id>)
    201 {"form_id": "...", "version": 1}
    4xx problem: the data was refused (permanent); 5xx / unreachable: try again later
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from shared.errors import UpstreamTimeout, UpstreamUnavailable
from shared.http import ServiceClient


@dataclass(frozen=True)
class ForwardOutcome:
    accepted: bool
    retryable: bool
    detail: str
    form_id: str | None = None


class FormsGateway(Protocol):
    async def import_shipping_instructions(
        self,
        *,
        trade_id: uuid.UUID,
        org_id: str,
        payload: dict[str, Any],
        idempotency_key: str,
    ) -> ForwardOutcome: ...


class HttpFormsGateway:
    def __init__(self, client: ServiceClient, token: Callable[[], Awaitable[str | None]]) -> None:
        self._client = client
        self._token = token

    async def import_shipping_instructions(
        self,
        *,
        trade_id: uuid.UUID,
        org_id: str,
        payload: dict[str, Any],
        idempotency_key: str,
    ) -> ForwardOutcome:
        try:
            response = await self._client.request(
                "POST",
                f"/internal/trades/{trade_id}/forms/UL040/imports",
                json={"on_behalf_of_org": str(org_id), "data": payload},
                token=await self._token(),
                headers={"Idempotency-Key": idempotency_key},
            )
        except (UpstreamTimeout, UpstreamUnavailable) as exc:
            return ForwardOutcome(accepted=False, retryable=True, detail=exc.detail)
        if response.status_code < 300:
            body = response.json() if response.content else {}
            return ForwardOutcome(
                accepted=True,
                retryable=False,
                detail="imported",
                form_id=str(body.get("form_id")) if isinstance(body, dict) else None,
            )
        detail = response.text[:300]
        # 401/403 are our own credentials or scopes: retried, so a configuration fix gets the
        # partner's message through instead of rejecting it for our mistake.
        retryable = response.status_code >= 500 or response.status_code in (401, 403, 408, 429)
        return ForwardOutcome(
            accepted=False, retryable=retryable, detail=f"{response.status_code}: {detail}"
        )


class NoFormsGateway:
    """No forms URL configured: keep the message and say so, rather than pretend it went anywhere."""

    async def import_shipping_instructions(
        self,
        *,
        trade_id: uuid.UUID,
        org_id: str,
        payload: dict[str, Any],
        idempotency_key: str,
    ) -> ForwardOutcome:
        return ForwardOutcome(accepted=False, retryable=True, detail="forms service not configured")
