"""Service-to-service HTTP client.

Timeouts on every call; retries only for idempotent methods (or requests carrying an
``Idempotency-Key``), with jittered exponential backoff; the request id and the caller's token are
propagated; an upstream problem becomes an ``UpstreamProblem`` carrying its status and body.

A peer that runs as several processes (``<PREFIX>PEER_REPLICAS``, set up at start by
``configure_peer_replicas``) is reached through ``PeerReplicas``: every client made with
``peer_transport()`` (``ServiceClient`` by default) spreads the calls to a first replica's URL over all
of them and passes over one that refuses connections.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
import stamina

from shared import tracing
from shared.errors import AppError, UpstreamTimeout, UpstreamUnavailable
from shared.observability import current_request_id, outgoing_traceparent

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class UpstreamProblem(AppError):
    """An upstream service answered with an error; its problem body is passed on."""

    status_code = 502
    code = "upstream_error"
    title = "A backing service refused the request"

    def __init__(self, status: int, body: Mapping[str, Any] | None) -> None:
        detail = str((body or {}).get("detail") or (body or {}).get("title") or "")
        super().__init__(detail or None, extra={"upstream_status": status})
        self.upstream_status = status
        self.upstream_body = dict(body or {})


def _origin(url: httpx.URL) -> tuple[str, str, int]:
    return url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80)


class _Replica:
    __slots__ = ("down_until", "url")

    def __init__(self, url: httpx.URL) -> None:
        self.url = url
        self.down_until = 0.0


class _ReplicaGroup:
    """One peer's replicas and their passive health, shared by every client of the process."""

    def __init__(self, urls: Sequence[str], down_s: float) -> None:
        self.replicas = [_Replica(httpx.URL(url)) for url in urls]
        self.down_s = down_s
        self._turn = 0

    def pick(self, now: float, tried: Sequence[_Replica] = ()) -> _Replica | None:
        """The next replica in turn not tried yet, one not marked down if there is any."""
        count = len(self.replicas)
        fallback = None
        for step in range(count):
            replica = self.replicas[(self._turn + step) % count]
            if replica in tried:
                continue
            if replica.down_until <= now:
                self._turn = (self._turn + step + 1) % count
                return replica
            if fallback is None or replica.down_until < fallback.down_until:
                fallback = replica
        return fallback


class PeerReplicas(httpx.AsyncBaseTransport):
    """Spreads requests to a peer over its replicas, in turn; a refusing replica sits out ``down_s``.

    A request whose connection could not be opened was never sent, so it goes to the next replica
    whatever its method; anything that fails later is the caller's to retry (``ServiceClient`` does
    for idempotent calls, the outbox relays by design). URLs of other hosts pass through untouched.
    """

    def __init__(
        self,
        groups: Mapping[tuple[str, str, int], _ReplicaGroup],
        inner: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._groups = groups
        self._inner = inner or httpx.AsyncHTTPTransport()
        self._clock = clock

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        group = self._groups.get(_origin(request.url))
        if group is None:
            return await self._inner.handle_async_request(request)
        tried: list[_Replica] = []
        while True:
            replica = group.pick(self._clock(), tried)
            if replica is None:
                raise AssertionError("unreachable: a group has at least one replica")
            tried.append(replica)
            request.url = request.url.copy_with(
                scheme=replica.url.scheme, host=replica.url.host, port=replica.url.port
            )
            request.headers["Host"] = request.url.netloc.decode("ascii")
            try:
                response = await self._inner.handle_async_request(request)
            except (httpx.ConnectError, httpx.ConnectTimeout):
                replica.down_until = self._clock() + group.down_s
                if len(tried) == len(group.replicas):
                    raise
                continue
            replica.down_until = 0.0
            return response

    async def aclose(self) -> None:
        await self._inner.aclose()


_peer_groups: dict[tuple[str, str, int], _ReplicaGroup] = {}


def configure_peer_replicas(replicas: Mapping[str, Sequence[str]], *, down_s: float = 5.0) -> None:
    """Called once at start with ``settings.peer_replicas``: first replica's URL -> all the URLs."""
    _peer_groups.clear()
    for first, urls in replicas.items():
        if len(urls) > 1:
            _peer_groups[_origin(httpx.URL(first))] = _ReplicaGroup(urls, down_s)


def peer_transport() -> httpx.AsyncBaseTransport | None:
    """A transport for a new client that reaches peers' replicas, or None when there are none.

    One per client (closing a client closes its transport); the turns and marks are the process's.
    """
    return PeerReplicas(_peer_groups) if _peer_groups else None


class _Retryable(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class ServiceClient:
    def __init__(
        self,
        base_url: str,
        *,
        timeout: httpx.Timeout | None = None,
        attempts: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.attempts = attempts
        self._host = httpx.URL(self.base_url).netloc.decode("ascii")
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=timeout or httpx.Timeout(5.0, connect=2.0),
            transport=transport or peer_transport(),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    def _headers(self, token: str | None, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers: dict[str, str] = {}
        request_id = current_request_id()
        if request_id:
            headers["X-Request-ID"] = request_id
        traceparent = outgoing_traceparent()
        if traceparent:
            headers["traceparent"] = traceparent
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if extra:
            headers.update(extra)
        return headers

    async def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        method = method.upper()
        all_headers = self._headers(token, headers)
        retryable = method in IDEMPOTENT_METHODS or "Idempotency-Key" in all_headers
        attempts = self.attempts if retryable else 1

        async def once() -> httpx.Response:
            if tracing.tracer is None:
                response = await self._client.request(
                    method, path, json=json, params=params, headers=all_headers
                )
            else:
                response = await self._traced(method, path, json, params, all_headers)
            if response.status_code in (502, 503, 504) and retryable:
                raise _Retryable(response)
            return response

        try:
            async for attempt in stamina.retry_context(
                on=(httpx.TransportError, _Retryable), attempts=attempts, wait_max=2.0
            ):
                with attempt:
                    return await once()
        except _Retryable as exc:
            return exc.response
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(f"{self.base_url} did not answer in time") from exc
        except httpx.TransportError as exc:
            raise UpstreamUnavailable(f"{self.base_url} is unreachable") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def _traced(
        self,
        method: str,
        path: str,
        json: Any,
        params: Mapping[str, Any] | None,
        headers: dict[str, str],
    ) -> httpx.Response:
        """One attempt as a CLIENT span; the callee's span is its child (``traceparent``)."""
        attributes = {"http.request.method": method, "url.full": self.base_url + path}
        with tracing.client_span(f"{method} {self._host}", attributes) as span:
            traceparent = tracing.current_traceparent()
            if traceparent:
                headers = {**headers, "traceparent": traceparent}
            response = await self._client.request(
                method, path, json=json, params=params, headers=headers
            )
            tracing.record_status(span, response.status_code)
            return response

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Request and return the decoded JSON body; an error status becomes ``UpstreamProblem``."""
        response = await self.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"detail": response.text[:200]}
            raise UpstreamProblem(response.status_code, body if isinstance(body, dict) else None)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()
