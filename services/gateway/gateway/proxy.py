"""The gateway's hot path: a pure-ASGI streaming reverse proxy over pooled keep-alive connections.

Two clients can carry the hop (``GATEWAY_PROXY_CLIENT``):
- ``native`` (default): ``gateway.upstream_http``, a small HTTP/1.1 client on ``asyncio.Protocol`` and
  httptools that writes the request in one ``transport.write`` and streams the parsed response to ASGI
  ``send``. It roughly halves the gateway's CPU per proxied request (``bench/README.md``).
- ``aiohttp``: the general-purpose client, kept as the fallback. Not httpx: its default transport was
  measured at ~230-300 req/s as a proxy on a 2-core box (encode/httpx#3215), aiohttp at ~2,200.
The services still talk to each other with httpx (``shared.http``), where that cost does not sit on
every request. ``make bench`` measures this hop against nginx.

The proxy verifies the bearer token at the edge (the services verify it again), stamps the request id,
passes bodies through unchanged in both directions, and turns a dead or slow upstream into a 502/504
problem within the configured timeouts.

A service may run as several replicas (``GATEWAY_UPSTREAMS`` lists their URLs): requests take them in
turn, and passive health passes over a replica that refused a connection for ``upstream_down_s``
(``UpstreamGroup``). A request whose connection could not be opened was never sent, so it goes to the
next replica whatever its method; one that was sent and met a closed connection before any answer
byte is repeated only when repeating is harmless (GET, HEAD, OPTIONS, PUT, DELETE or an
``Idempotency-Key``, with its body in hand). With one URL per service none of this runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import orjson
import structlog
from fastapi import FastAPI
from multidict import CIMultiDict
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from yarl import URL

from gateway.upstream_http import (
    UpstreamClosed,
    UpstreamConnectError,
    UpstreamConnectTimeout,
    UpstreamError,
    UpstreamPool,
    UpstreamReadTimeout,
    write_streamed_body,
)
from shared import tracing
from shared.auth import TokenVerifier, bearer_token_from_header
from shared.errors import AppError, UpstreamTimeout, UpstreamUnavailable, problem_body
from shared.metrics import ROUTE_LABEL_KEY, HttpMetrics
from shared.observability import (
    bind_request,
    current_request_id,
    outgoing_traceparent,
    send_internal_error,
    unbind_request,
)

log = structlog.get_logger("gateway.proxy")

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
    }
)
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Request headers the native client never copies: hop-by-hop ones, those it sets itself, and Expect
# (the body is read before the upstream is asked, so an interim 100 Continue would only cost a packet).
_NOT_FORWARDED = HOP_BY_HOP | {
    b"x-request-id",
    b"traceparent",
    b"content-length",
    b"expect",
    b"x-forwarded-for",
    b"x-forwarded-proto",
    b"x-forwarded-host",
}
_BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "TRACE"})
PROXY_CLIENTS = ("native", "aiohttp")


class ClientGone(Exception):
    """The caller disconnected before its request body was complete: nobody to answer."""


# Counted under this status when the caller left mid-upload (nginx's convention).
CLIENT_CLOSED_REQUEST = 499


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"
    title = "Request body too large"


@dataclass(frozen=True)
class Route:
    prefix: str
    service: str
    base_url: str  # the first replica
    # Every replica's URL when the service runs several (``base_url`` is the first); empty: just one.
    replica_urls: tuple[str, ...] = ()

    def matches(self, path: str) -> bool:
        return path == self.prefix or path.startswith(self.prefix + "/")

    @property
    def urls(self) -> tuple[str, ...]:
        return self.replica_urls or (self.base_url,)


class Replica:
    """One process of a service, its connection pool, and what passive health knows of it."""

    __slots__ = ("down_until", "pool", "refusals", "url")

    def __init__(self, url: str) -> None:
        self.url = url
        self.pool: UpstreamPool | None = None  # the native client's
        self.down_until = 0.0  # loop time before which it is passed over (it refused a connection)
        self.refusals = 0  # connections it refused or did not accept in time, since the start


class UpstreamGroup:
    """The replicas of one service, taken in turn; one that refused a connection sits out a while.

    Round robin rather than least-in-flight: the replicas are alike and each request is short, and the
    turn costs a counter. Passive health only (no probes): a refused or timed-out connect marks the
    replica down for ``down_s``; when every replica is marked, the one back soonest is tried anyway.
    """

    def __init__(self, service: str, urls: tuple[str, ...], down_s: float) -> None:
        self.service = service
        self.replicas = [Replica(url) for url in urls]
        # The single-replica fast path: no turn, no clock, no marks.
        self.single: Replica | None = self.replicas[0] if len(self.replicas) == 1 else None
        self.down_s = down_s
        self._turn = 0

    def pick(self, now: float) -> Replica:
        replicas = self.replicas
        count = len(replicas)
        start = self._turn
        for step in range(count):
            replica = replicas[(start + step) % count]
            if replica.down_until <= now:
                self._turn = (start + step + 1) % count
                return replica
        replica = min(replicas, key=lambda r: r.down_until)
        self._turn = (replicas.index(replica) + 1) % count
        return replica

    def mark_down(self, replica: Replica, now: float) -> None:
        if self.single is None:
            replica.refusals += 1
            replica.down_until = now + self.down_s
            log.warning("upstream_replica_down", service=self.service, url=replica.url)

    def untried(self, tried: list[Replica], now: float) -> Replica | None:
        """The next replica to retry on: one not tried yet, those not marked down first."""
        if self.single is not None:
            return None
        left = [r for r in self.replicas if r not in tried]
        if not left:
            return None
        up = [r for r in left if r.down_until <= now]
        return (up or left)[0]


class UpstreamProxy:
    """The upstream routes, the connection pool, and how one request is forwarded."""

    def __init__(
        self,
        *,
        routes: list[Route],
        verifier_ref: object | None,
        connect_timeout_s: float,
        read_timeout_s: float,
        pool_size: int,
        max_body_bytes: int,
        client: str = "native",
        down_s: float = 5.0,
    ) -> None:
        if client not in PROXY_CLIENTS:
            raise ValueError(f"proxy client must be one of {PROXY_CLIENTS}, not {client!r}")
        self.client = client
        # Longest prefix first, so /api/v1/trades-x never falls into /api/v1/trades.
        self.routes = sorted(routes, key=lambda r: len(r.prefix), reverse=True)
        self._verifier_ref = verifier_ref
        self.timeout = aiohttp.ClientTimeout(
            total=None, connect=connect_timeout_s, sock_read=read_timeout_s
        )
        self.pool_size = pool_size
        self.max_body_bytes = max_body_bytes
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self._session: aiohttp.ClientSession | None = None
        self.pools: dict[str, UpstreamPool] = {}  # by replica URL
        # One group per service, shared by its routes (forms has two prefixes, one turn).
        self.groups: dict[str, UpstreamGroup] = {}
        for route in self.routes:
            if route.service not in self.groups:
                self.groups[route.service] = UpstreamGroup(route.service, route.urls, down_s)

    def bind_verifier(self, holder: object) -> None:
        """``holder.token_verifier`` is read per request, so the verifier can be swapped (key rotation)."""
        self._verifier_ref = holder

    async def start(self) -> None:
        if self.client == "native":
            for group in self.groups.values():
                for replica in group.replicas:
                    if replica.url not in self.pools:
                        self.pools[replica.url] = UpstreamPool(
                            replica.url,
                            limit=self.pool_size,
                            connect_timeout_s=self.connect_timeout_s,
                            read_timeout_s=self.read_timeout_s,
                            keepalive_s=30.0,  # below the services' 65 s, as for aiohttp
                            # The gateway's own X-Request-ID is the one the caller sees.
                            drop_response_headers=frozenset({b"x-request-id"}),
                        )
                    replica.pool = self.pools[replica.url]
            return
        connector = aiohttp.TCPConnector(
            limit=self.pool_size,
            limit_per_host=self.pool_size,
            # Below the services' keep-alive (uvicorn runs with 65 s) so we never reuse a connection the
            # upstream is about to close.
            keepalive_timeout=30,
            enable_cleanup_closed=False,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self.timeout,
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept", "Content-Type"),
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    async def close(self) -> None:
        pools, self.pools = self.pools, {}
        for group in self.groups.values():
            for replica in group.replicas:
                replica.pool = None
        for pool in pools.values():
            await pool.close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def skipped_replicas(self, service: str, now: float) -> set[str]:
        """URLs of the service's replicas that passive health passes over right now."""
        group = self.groups.get(service)
        if group is None:
            return set()
        return {r.url for r in group.replicas if r.down_until > now}

    def route_for(self, path: str) -> Route | None:
        for route in self.routes:
            if route.matches(path):
                return route
        return None

    async def handle(
        self,
        route: Route,
        scope: Scope,
        receive: Receive,
        send: Send,
        request_id: bytes | None = None,
    ) -> int:
        """Answer one proxied request; returns the status sent (0: none).

        With ``request_id`` the answer carries it as ``X-Request-ID`` (on the fast path there is no
        middleware to add it), replacing any the upstream sent.
        """
        scope[ROUTE_LABEL_KEY] = f"proxy {route.prefix}"
        id_header = None if request_id is None else (b"x-request-id", request_id)
        try:
            await self._authenticate(scope)
            if tracing.tracer is not None:
                return await self._forward_traced(route, scope, receive, send, id_header)
            if self.client == "native":
                return await self._forward_native(route, scope, receive, send, id_header)
            return await self._forward(route, scope, receive, send, id_header)
        except AppError as exc:
            await _send_problem(send, scope, exc, id_header)
            return exc.status_code
        except ClientGone:
            return CLIENT_CLOSED_REQUEST

    async def _forward_traced(
        self,
        route: Route,
        scope: Scope,
        receive: Receive,
        send: Send,
        id_header: tuple[bytes, bytes] | None,
    ) -> int:
        """The hop as a CLIENT span (tracing on only): the service's own span becomes its child."""
        method = scope["method"]
        attributes = {"http.request.method": method, "url.path": scope["path"]}
        with tracing.client_span(f"{method} {route.service}", attributes) as span:
            if self.client == "native":
                status = await self._forward_native(route, scope, receive, send, id_header)
            else:
                status = await self._forward(route, scope, receive, send, id_header)
            tracing.record_status(span, status)
            return status

    async def _authenticate(self, scope: Scope) -> None:
        verifier = getattr(self._verifier_ref, "token_verifier", None)
        if not isinstance(verifier, TokenVerifier):
            raise UpstreamUnavailable("Token verification is not ready")
        header = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                header = value.decode("latin-1")
                break
        await verifier.verify(bearer_token_from_header(header))

    async def _read_body(
        self, receive: Receive, too_large: list[bool], gone: list[bool] | None = None
    ) -> bytes | AsyncIterator[bytes]:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        first: bytes = message.get("body", b"")
        if not message.get("more_body", False):
            if len(first) > self.max_body_bytes:
                raise PayloadTooLarge(f"The limit is {self.max_body_bytes} bytes")
            return first
        limit = self.max_body_bytes

        async def stream() -> AsyncIterator[bytes]:
            seen = len(first)
            yield first
            while True:
                msg = await receive()
                if msg["type"] == "http.disconnect":
                    if gone is not None:
                        gone[0] = True  # aiohttp wraps what we raise; the flag survives
                    raise ClientGone  # never pass a cut-short body on as if it were whole
                chunk = msg.get("body", b"")
                seen += len(chunk)
                if seen > limit:
                    too_large[0] = True  # aiohttp may wrap what we raise; the flag survives
                    raise PayloadTooLarge(f"The limit is {limit} bytes")
                if chunk:
                    yield chunk
                if not msg.get("more_body", False):
                    return

        return stream()

    def _upstream_headers(self, scope: Scope) -> CIMultiDict[str]:
        headers: CIMultiDict[str] = CIMultiDict()
        host = ""
        for raw_name, raw_value in scope["headers"]:
            name = raw_name.lower()
            if name == b"host":
                host = raw_value.decode("latin-1")
            if (
                name in HOP_BY_HOP
                or name in (b"x-request-id", b"traceparent")
                or name.startswith(b"x-forwarded-")
            ):
                continue
            headers.add(raw_name.decode("latin-1"), raw_value.decode("latin-1"))
        client = scope.get("client")
        if client:
            headers["X-Forwarded-For"] = client[0]
        headers["X-Forwarded-Proto"] = scope.get("scheme", "http")
        if host:
            headers["X-Forwarded-Host"] = host
        request_id = current_request_id()
        if request_id:
            headers["X-Request-ID"] = request_id
        traceparent = outgoing_traceparent()
        if traceparent:
            headers["traceparent"] = traceparent
        return headers

    def _check_content_length(self, scope: Scope) -> bool:
        """Refuse a declared body over the limit; returns whether the request may have a body.

        In HTTP/1.x a request without Content-Length or Transfer-Encoding has none, so there is
        nothing to ``receive()`` (HTTP/2 carries bodies without either: always read there).
        """
        may_have_body = scope.get("http_version", "1.1") not in ("1.1", "1.0")
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > self.max_body_bytes:
                    raise PayloadTooLarge(f"The limit is {self.max_body_bytes} bytes")
                may_have_body = may_have_body or value != b"0"
            elif name == b"transfer-encoding":
                may_have_body = True
        return may_have_body

    def _request_head(
        self, pool: UpstreamPool, scope: Scope, method: str, body: bytes | AsyncIterator[bytes]
    ) -> tuple[bytes, bool]:
        """The request line and headers as one byte string, and whether the body goes chunked."""
        target = pool.base_path + (scope.get("raw_path") or scope["path"].encode("utf-8"))
        query = scope.get("query_string")
        if query:
            target += b"?" + query
        parts = [method.encode("ascii"), b" ", target, b" HTTP/1.1\r\nhost: ", pool.host_header]
        add = parts.extend
        host = content_length = None
        skip = _NOT_FORWARDED
        for name, value in scope["headers"]:
            if name in skip:
                if name == b"host":
                    host = value
                elif name == b"content-length":
                    content_length = value
                continue
            if name.startswith(b"x-forwarded-"):
                continue
            add((b"\r\n", name, b": ", value))
        client = scope.get("client")
        if client:
            add((b"\r\nx-forwarded-for: ", client[0].encode("latin-1")))
        add((b"\r\nx-forwarded-proto: ", scope.get("scheme", "http").encode("latin-1")))
        if host:
            add((b"\r\nx-forwarded-host: ", host))
        request_id = current_request_id()
        if request_id:
            add((b"\r\nx-request-id: ", request_id.encode("latin-1")))
        traceparent = outgoing_traceparent()
        if traceparent:
            add((b"\r\ntraceparent: ", traceparent.encode("latin-1")))
        chunked = False
        if isinstance(body, bytes):
            if body or method not in _BODYLESS_METHODS:
                add((b"\r\ncontent-length: ", str(len(body)).encode("ascii")))
        elif content_length is not None:
            add((b"\r\ncontent-length: ", content_length))
        else:
            parts.append(b"\r\ntransfer-encoding: chunked")
            chunked = True
        parts.append(b"\r\n\r\n")
        return b"".join(parts), chunked

    async def _forward_native(
        self,
        route: Route,
        scope: Scope,
        receive: Receive,
        send: Send,
        id_header: tuple[bytes, bytes] | None,
    ) -> int:
        group = self.groups[route.service]
        replica = group.single or group.pick(asyncio.get_running_loop().time())
        pool = replica.pool
        assert pool is not None, "proxy not started"
        method: str = scope["method"]
        too_large = [False]
        body: bytes | AsyncIterator[bytes] = b""
        if self._check_content_length(scope):
            body = await self._read_body(receive, too_large)
        head, chunked = self._request_head(pool, scope, method, body)
        # Sent, then closed before any answer: repeated once per replica when that is harmless.
        repeats_left = len(group.replicas)
        tried = [replica]
        service = route.service
        while True:
            try:
                conn = await pool.acquire()
            except (UpstreamConnectError, UpstreamConnectTimeout) as exc:
                # Nothing was sent: another replica may take it, whatever the method.
                now = asyncio.get_running_loop().time()
                group.mark_down(replica, now)
                other = group.untried(tried, now)
                if other is None:
                    if isinstance(exc, UpstreamConnectTimeout):
                        raise UpstreamTimeout(f"{service} did not answer in time") from exc
                    raise UpstreamUnavailable(f"{service} is unavailable") from exc
                replica, pool = other, other.pool
                assert pool is not None, "proxy not started"
                tried.append(other)
                head, chunked = self._request_head(pool, scope, method, body)
                continue
            except UpstreamError as exc:
                raise UpstreamUnavailable(f"{service} is unavailable") from exc
            try:
                conn.start(method == "HEAD")
                if isinstance(body, bytes):
                    if len(body) <= 16384:
                        conn.write(head + body if body else head)
                    else:
                        conn.write(head)
                        conn.write(body)
                else:
                    conn.write(head)
                    await write_streamed_body(conn, body, chunked=chunked)
                while not conn.headers_done:
                    if conn.error is not None:
                        raise conn.error
                    await conn.wait()
            except UpstreamClosed as exc:
                pool.release(conn, reusable=False)
                # Closed before any answer: a pooled connection the upstream had just dropped, or
                # a replica that went away with the request. Repeat only what may be repeated.
                if not exc.got_response_bytes and repeats_left > 0 and _may_repeat(scope, body):
                    repeats_left -= 1
                    if conn.reused:
                        # A fresh connection to the same replica, not another pooled one: if the
                        # replica died, the pool's other idle connections died with it.
                        pool.drop_idle()
                        continue
                    other = group.untried(tried, asyncio.get_running_loop().time())
                    if other is not None and other.pool is not None:
                        replica, pool = other, other.pool
                        tried.append(other)
                        head, chunked = self._request_head(pool, scope, method, body)
                        continue
                raise UpstreamUnavailable(f"{service} closed the connection") from exc
            except UpstreamReadTimeout as exc:
                pool.release(conn, reusable=False)
                raise UpstreamTimeout(f"{service} did not answer in time") from exc
            except UpstreamError as exc:
                pool.release(conn, reusable=False)
                raise UpstreamUnavailable(f"{service} broke the response") from exc
            except BaseException:
                pool.release(conn, reusable=False)
                raise
            break
        if replica.down_until:
            replica.down_until = 0.0  # it answered: back in the turn at once
        status = conn.status
        headers = conn.headers  # a new list per response, ours to extend
        if id_header is not None:
            headers.append(id_header)
        start: Message = {"type": "http.response.start", "status": status, "headers": headers}
        if conn.complete:
            # The whole answer is here (the common case): hand the connection back, then answer in
            # two messages instead of three.
            chunks = conn.take_body()
            pool.release(conn, reusable=True)
            await send(start)
            body_bytes = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            await send({"type": "http.response.body", "body": body_bytes})
            return status
        complete = False
        try:
            await send(start)
            while True:
                if conn.chunks:
                    for chunk in conn.take_body():
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    continue
                if conn.complete:
                    complete = True
                    break
                if conn.error is not None:
                    raise conn.error
                await conn.wait()
        except UpstreamError as exc:
            log.warning("upstream_broke_response", service=service, error=repr(exc))
            return status  # the client sees a truncated response; nothing else we can do
        finally:
            pool.release(conn, reusable=complete)
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return status

    async def _forward(
        self,
        route: Route,
        scope: Scope,
        receive: Receive,
        send: Send,
        id_header: tuple[bytes, bytes] | None,
    ) -> int:
        assert self._session is not None, "proxy not started"
        group = self.groups[route.service]
        replica = group.single or group.pick(asyncio.get_running_loop().time())
        target = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        query = scope.get("query_string", b"")
        if query:
            target += "?" + query.decode("latin-1")
        method = scope["method"]
        too_large, gone = [False], [False]
        body: bytes | AsyncIterator[bytes] = b""
        if self._check_content_length(scope):  # no Content-Length nor chunked: no body to read
            body = await self._read_body(receive, too_large, gone)
        headers = self._upstream_headers(scope)
        # Sent, then closed before any answer: repeated once per replica when that is harmless.
        attempts = 1 + len(group.replicas) if _may_repeat(scope, body) else 1
        tried = [replica]
        attempt = 0
        while True:
            try:
                response = await self._session.request(
                    method,
                    URL(replica.url + target, encoded=True),
                    headers=headers,
                    data=body if body or method not in _BODYLESS_METHODS else None,
                    allow_redirects=False,
                )
                break
            except PayloadTooLarge:
                raise
            except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
                # Nothing was sent (aiohttp reads a streamed body only once connected): another
                # replica may take it, whatever the method.
                now = asyncio.get_running_loop().time()
                group.mark_down(replica, now)
                other = group.untried(tried, now)
                if other is None:
                    if isinstance(exc, aiohttp.ConnectionTimeoutError):
                        raise UpstreamTimeout(f"{route.service} did not answer in time") from exc
                    raise UpstreamUnavailable(f"{route.service} is unavailable") from exc
                replica = other
                tried.append(other)
                continue
            except aiohttp.ServerDisconnectedError as exc:
                if gone[0]:
                    raise ClientGone from exc
                if too_large[0]:
                    raise PayloadTooLarge(f"The limit is {self.max_body_bytes} bytes") from exc
                # A pooled connection closed under us before any answer: safe to retry idempotent calls.
                attempt += 1
                if attempt < attempts:
                    other = group.untried(tried, asyncio.get_running_loop().time())
                    if other is not None:
                        replica = other
                        tried.append(other)
                    continue
                raise UpstreamUnavailable(f"{route.service} closed the connection") from exc
            except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
                raise UpstreamTimeout(f"{route.service} did not answer in time") from exc
            except aiohttp.ClientError as exc:
                if gone[0]:
                    raise ClientGone from exc
                if too_large[0]:
                    raise PayloadTooLarge(f"The limit is {self.max_body_bytes} bytes") from exc
                raise UpstreamUnavailable(f"{route.service} is unavailable") from exc
        if replica.down_until:
            replica.down_until = 0.0
        try:
            skip = HOP_BY_HOP if id_header is None else HOP_BY_HOP | {b"x-request-id"}
            response_headers = [
                (name.lower(), value)
                for name, value in response.raw_headers
                if name.lower() not in skip
            ]
            if id_header is not None:
                response_headers.append(id_header)
            started = False
            try:
                async for chunk in response.content.iter_any():
                    if not started:
                        await send(
                            {
                                "type": "http.response.start",
                                "status": response.status,
                                "headers": response_headers,
                            }
                        )
                        started = True
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            except (TimeoutError, aiohttp.ClientError) as exc:
                if not started:
                    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
                        raise UpstreamTimeout(f"{route.service} did not answer in time") from exc
                    raise UpstreamUnavailable(f"{route.service} broke the response") from exc
                log.warning("upstream_broke_response", service=route.service, error=repr(exc))
                return response.status  # the client sees a truncated response
            if not started:
                await send(
                    {
                        "type": "http.response.start",
                        "status": response.status,
                        "headers": response_headers,
                    }
                )
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return response.status
        finally:
            response.release()


def _may_repeat(scope: Scope, body: bytes | AsyncIterator[bytes]) -> bool:
    """Whether sending this request twice is harmless: an idempotent method or an Idempotency-Key,
    and a body we still hold whole."""
    if not isinstance(body, bytes):
        return False
    if scope["method"] in IDEMPOTENT:
        return True
    return any(name == b"idempotency-key" for name, _ in scope["headers"])


class EdgeProxy:
    """In front of the whole middleware stack: proxied requests take a short path, the rest go on.

    A proxied request needs none of FastAPI's machinery (routing, dependencies, exception handlers),
    yet crossed six ASGI layers, each wrapping ``send``: ~15-20 us of the gateway's ~100 us of CPU
    per request. Here it gets what those layers gave it, in one place: the request and trace ids bound
    to the context (``shared.observability.bind_request``) and echoed as ``X-Request-ID``, the request
    counted (``shared.metrics.HttpMetrics``), the access log line when enabled, and a 500 problem for
    anything unexpected. FastAPI's own OpenTelemetry hooks do not see proxied requests (we do not use
    them; the trace context is still propagated upstream).
    """

    def __init__(
        self, app: ASGIApp, *, proxy: UpstreamProxy, service: str, access_log: bool
    ) -> None:
        self.app = app
        self.proxy = proxy
        self.metrics = HttpMetrics(service)
        self.access_log = access_log
        self.log = structlog.get_logger("access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            route = self.proxy.route_for(scope["path"])
            if route is not None:
                await self._proxied(route, scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _proxied(self, route: Route, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        context = bind_request(scope)
        request_id = context[0]
        status = 500
        try:
            status = await self.proxy.handle(
                route, scope, receive, send, request_id.encode("latin-1")
            )
        except Exception:
            self.log.exception("unhandled_error", path=scope["path"])
            try:  # fails if the answer had already started; the client then sees it cut short
                await send_internal_error(
                    _with_request_id(send, request_id), scope["path"], request_id
                )
            except (OSError, RuntimeError):
                pass
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.record(scope["method"], scope[ROUTE_LABEL_KEY], status, elapsed)
            if self.access_log:
                self.log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    duration_ms=round(elapsed * 1000, 3),
                )
            unbind_request(context, scope, status)


def _with_request_id(send: Send, request_id: str) -> Send:
    async def send_with_id(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            headers.append((b"x-request-id", request_id.encode("latin-1")))
            message = {**message, "headers": headers}
        await send(message)

    return send_with_id


def install_edge(app: FastAPI, proxy: UpstreamProxy, *, service: str, access_log: bool) -> None:
    """Put ``EdgeProxy`` outermost in ``app``'s middleware stack (Starlette builds it lazily)."""
    build = app.build_middleware_stack

    def build_with_edge() -> ASGIApp:
        return EdgeProxy(build(), proxy=proxy, service=service, access_log=access_log)

    app.build_middleware_stack = build_with_edge  # type: ignore[method-assign]


class ProxyMiddleware:
    """Sends paths that match a route upstream; everything else goes to the gateway's own app.

    The plain-middleware form (inside the request-id and metrics middleware); the gateway installs
    ``EdgeProxy`` instead.
    """

    def __init__(self, app: ASGIApp, *, proxy: UpstreamProxy) -> None:
        self.app = app
        self.proxy = proxy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            route = self.proxy.route_for(scope["path"])
            if route is not None:
                await self.proxy.handle(route, scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _send_problem(
    send: Send, scope: Scope, exc: AppError, id_header: tuple[bytes, bytes] | None = None
) -> None:
    body = orjson.dumps(
        problem_body(
            status=exc.status_code,
            code=exc.code,
            title=exc.title,
            detail=exc.detail,
            instance=scope["path"],
        )
    )
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
    ]
    for name, value in (exc.headers or {}).items():
        headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
    if id_header is not None:
        headers.append(id_header)
    message: Message = {
        "type": "http.response.start",
        "status": exc.status_code,
        "headers": headers,
    }
    try:
        await send(message)
        await send({"type": "http.response.body", "body": body, "more_body": False})
    except (OSError, RuntimeError, asyncio.CancelledError):  # client went away
        pass
