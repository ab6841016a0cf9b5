"""Service-to-service authentication: a Minato service calls another with its own access token.

Each service has a client of kind ``service`` at the gateway (the devstack provisions ``svc-<name>``
with a per-run secret and passes ``<PREFIX>SERVICE_CLIENT_ID``, ``<PREFIX>SERVICE_CLIENT_SECRET`` and
``<PREFIX>TOKEN_URL``). ``ServiceTokenProvider`` gets a token with the OAuth2 client-credentials grant
and caches it until shortly before it expires; concurrent callers share one fetch. ``ServiceAuth``
plugs it into an ``httpx.AsyncClient`` and retries once with a fresh token on a 401 (e.g. after the
gateway rotated its keys)::

    provider = ServiceTokenProvider.from_env("NACCS_BRIDGE_")
    async with httpx.AsyncClient(auth=ServiceAuth(provider)) as client: ...
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncGenerator, Callable, Mapping

import httpx

from shared.errors import UpstreamUnavailable
from shared.http import peer_transport
from shared.settings import DEV_SECRET_MARKER

DEFAULT_REFRESH_MARGIN_S = 60.0


class ServiceTokenProvider:
    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str | None = None,
        http_client: httpx.AsyncClient | None = None,
        refresh_margin_s: float = DEFAULT_REFRESH_MARGIN_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._secret = client_secret
        self.scope = scope
        self.refresh_margin_s = refresh_margin_s
        self._clock = clock
        self._http = http_client
        self._owns_http = http_client is None
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.fetches = 0  # how many tokens were fetched (observability and tests)

    @classmethod
    def from_env(
        cls, prefix: str, environ: Mapping[str, str] | None = None, **kwargs: object
    ) -> ServiceTokenProvider | None:
        """The provider a service's environment describes, or None when it has no service client."""
        env = os.environ if environ is None else environ
        names = ("TOKEN_URL", "SERVICE_CLIENT_ID", "SERVICE_CLIENT_SECRET")
        values = [env.get(prefix + name) for name in names]
        if not all(values):
            return None
        token_url, client_id, client_secret = (str(v) for v in values)
        # Read from the environment directly (not through Settings), so the prod guard is repeated here.
        if env.get(prefix + "ENVIRONMENT", "dev") == "prod" and client_secret.startswith(
            DEV_SECRET_MARKER
        ):
            raise ValueError(f"{prefix}SERVICE_CLIENT_SECRET still has its development default")
        return cls(
            token_url=token_url,
            client_id=client_id,
            client_secret=client_secret,
            **kwargs,  # type: ignore[arg-type]
        )

    def _fresh(self) -> bool:
        return self._token is not None and self._clock() < self._expires_at - self.refresh_margin_s

    async def token(self) -> str:
        if self._fresh():
            assert self._token is not None
            return self._token
        async with self._lock:
            if not self._fresh():  # another caller may have fetched while we waited
                await self._fetch()
            assert self._token is not None
            return self._token

    async def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token()}"}

    def invalidate(self) -> None:
        self._token = None
        self._expires_at = 0.0

    async def _fetch(self) -> None:
        if self._http is None:
            self._http = httpx.AsyncClient(
                timeout=httpx.Timeout(5.0, connect=2.0), transport=peer_transport()
            )
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        started = self._clock()
        try:
            response = await self._http.post(
                self.token_url, data=form, auth=httpx.BasicAuth(self.client_id, self._secret)
            )
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable("The gateway's token endpoint is unreachable") from exc
        if response.status_code != 200:
            raise UpstreamUnavailable(
                f"The gateway refused the service's credentials ({response.status_code})"
            )
        body = response.json()
        self._token = str(body["access_token"])
        self._expires_at = started + float(body.get("expires_in", 0))
        self.fetches += 1

    async def aclose(self) -> None:
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None


class ServiceAuth(httpx.Auth):
    """httpx auth flow: the service's bearer token, renewed once on a 401."""

    def __init__(self, provider: ServiceTokenProvider) -> None:
        self.provider = provider

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        request.headers["Authorization"] = f"Bearer {await self.provider.token()}"
        response = yield request
        if response.status_code == 401:
            self.provider.invalidate()
            request.headers["Authorization"] = f"Bearer {await self.provider.token()}"
            yield request
