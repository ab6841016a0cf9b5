"""This service's own access token, for calls to other Minato services (client credentials).

At the gateway (RFC 6749 §4.4)::

    POST /api/v1/auth/token  grant_type=client_credentials&client_id=...&client_secret=...
    200 {"access_token": "...", "expires_in": 300}
"""

from __future__ import annotations

import asyncio
import time

import httpx


class ServiceTokenSource:
    def __init__(
        self, client: httpx.AsyncClient, token_url: str, client_id: str, client_secret: str
    ) -> None:
        self._client = client
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def token(self) -> str | None:
        async with self._lock:
            if self._token is None or time.monotonic() > self._expires_at - 30:
                response = await self._client.post(
                    self._token_url,
                    data={
                        "grant_type": "client_credentials",
                        "client_id": self._client_id,
                        "client_secret": self._client_secret,
                    },
                )
                response.raise_for_status()
                body = response.json()
                self._token = str(body["access_token"])
                self._expires_at = time.monotonic() + float(body.get("expires_in", 300))
            return self._token
