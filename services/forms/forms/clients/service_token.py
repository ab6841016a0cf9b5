"""This service's own token for calls to other Minato services.

Either a fixed token from the settings (``FORMS_SERVICE_TOKEN``, as the other services use until
every deployment provisions service clients), or one obtained from the gateway with OAuth2 client
credentials as ``svc-forms`` (``FORMS_SERVICE_CLIENT_SECRET``) and reused until shortly before it
expires. Only this service's token is cached, never an answer about who may see what.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx

from shared.errors import UpstreamUnavailable

SERVICE_CLIENT_ID = "svc-forms"
# Renew this long before expiry, so a token never expires between being handed out and being used.
RENEW_BEFORE_S = 30.0


class StaticToken:
    def __init__(self, token: str | None) -> None:
        self._token = token

    async def __call__(self) -> str | None:
        return self._token


class ClientCredentialsToken:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        token_url: str,
        client_secret: str,
        client_id: str = SERVICE_CLIENT_ID,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._monotonic = monotonic
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def __call__(self) -> str | None:
        if self._token and self._monotonic() < self._expires_at:
            return self._token
        async with self._lock:
            if self._token and self._monotonic() < self._expires_at:
                return self._token
            try:
                response = await self._http.post(
                    self._token_url,
                    data={"grant_type": "client_credentials"},
                    auth=(self._client_id, self._client_secret),
                )
                response.raise_for_status()
                body = response.json()
                self._token = str(body["access_token"])
                lifetime = float(body.get("expires_in", 300))
            except (httpx.HTTPError, KeyError, ValueError) as exc:
                raise UpstreamUnavailable(
                    "Could not obtain a service token from the gateway"
                ) from exc
            self._expires_at = self._monotonic() + max(0.0, lifetime - RENEW_BEFORE_S)
            return self._token
