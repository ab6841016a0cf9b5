"""The dispatcher's own HTTP/1.1 client for webhook deliveries: ``asyncio.Protocol`` + ``httptools``.

Why not httpx here: a profile of the webhook fan-out (bench/webhook_fanout.py) put ~36 % of the
notifications process in httpx/httpcore/anyio sending the deliveries (the pool scanning every pooled
socket for readability on each request, h11 events, anyio stream wrappers). A delivery needs none of
that generality: one ``POST`` with a small body that is already bytes, one answer of which we keep the
status, ``Retry-After`` and the first KiB.

What it guarantees (what the SSRF guard relies on):

- **pinned address:** the socket connects to the address that ``check_target`` checked, given as a
  numeric address (``AI_NUMERICHOST``): no name is ever resolved here, so a DNS answer that changed
  since the check cannot move the connection;
- **the original name** goes in ``Host`` and, for https, in the TLS SNI *and* the certificate check
  (``server_hostname``; the default context verifies the chain and the name);
- **no redirects:** a 3xx is an answer like any other, its ``Location`` is never followed;
- **timeouts:** the connect (TCP and TLS handshake) within ``connect_timeout_s``; the whole exchange
  (writing the request, reading the answer) within ``timeout_s``;
- **bounded reads:** at most ``max_body_bytes`` of the response body are kept; the connection is
  closed as soon as that much has arrived (never read to the end), and a response head larger than
  ``MAX_HEAD_BYTES`` is refused;
- **keep-alive per target:** idle connections are pooled per (scheme, address, port, name) and reused
  newest first; at most ``max_idle_per_target`` are kept (``max_idle`` over all targets), each for
  ``keepalive_s``. A connection goes
  back only after a complete response on which both sides said keep-alive. A reused connection that
  turns out to be closed before any byte of the answer arrived is retried once on a fresh connection
  (the receiver closed it while it was idle; the usual keep-alive race).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast
from urllib.parse import quote

import httptools

MAX_HEAD_BYTES = 64 * 1024  # status line and headers of an answer
# Characters that may stay as they are in a request target (RFC 3986 pchar, "/" and "?" and "%").
_SAFE_PATH = "/%:@!$&'()*+,;=-._~"
_SAFE_QUERY = _SAFE_PATH + "?"


class WebhookHttpError(Exception):
    """Base of every failure of a delivery exchange; the message is safe to store."""


class WebhookConnectError(WebhookHttpError):
    """The connection was refused or could not be opened (TCP or TLS)."""


class WebhookTimeout(WebhookHttpError):
    """No connection within the connect timeout, or no complete answer within the timeout."""


class WebhookClosed(WebhookHttpError):
    """The receiver closed the connection before its answer was complete."""

    def __init__(self, message: str, *, got_bytes: bool) -> None:
        super().__init__(message)
        self.got_bytes = got_bytes


class WebhookProtocolError(WebhookHttpError):
    """The answer is not valid HTTP/1.1."""


@dataclass(frozen=True)
class WebhookResponse:
    status: int
    retry_after: str | None
    body: bytes  # the first ``max_body_bytes`` at most
    truncated: bool  # more body followed and was not read


def request_target(path: str, query: str) -> str:
    """The origin-form target of a URL's path and query, percent-encoded where it has to be."""
    target = quote(path or "/", safe=_SAFE_PATH)
    if query:
        target += "?" + quote(query, safe=_SAFE_QUERY)
    return target


def ascii_host(host: str) -> str:
    """The name as it goes on the wire (IDNA A-labels for an internationalised name)."""
    return host if host.isascii() else host.encode("idna").decode("ascii")


def host_header(host: str, port: int, scheme: str) -> str:
    default_port = 443 if scheme == "https" else 80
    name = f"[{host}]" if ":" in host else ascii_host(host)
    return name if port == default_port else f"{name}:{port}"


def _header_bytes(headers: Iterable[tuple[str, str]]) -> bytes:
    lines = []
    for name, value in headers:
        if any(c in name or c in value for c in "\r\n\0") or not name or ":" in name:
            raise ValueError(f"invalid header {name!r}")
        lines.append(f"{name}: {value}\r\n")
    return "".join(lines).encode("latin-1")


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one exchange at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop, max_body_bytes: int) -> None:
        self.loop = loop
        self.max_body_bytes = max_body_bytes
        self.transport: asyncio.Transport | None = None
        self.parser: httptools.HttpResponseParser | None = None
        self.closed = False
        self.idle_since = 0.0
        self._waiter: asyncio.Future[None] | None = None
        self._reset()

    def _reset(self) -> None:
        self.status = 0
        self.retry_after: str | None = None
        self.body = bytearray()
        self.head_bytes = 0
        self.headers_done = False
        self.complete = False
        self.truncated = False
        self.keep_alive = False
        self.got_bytes = False
        self.error: WebhookHttpError | None = None
        self._informational = False
        self._framed = False

    # -- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        parser = self.parser
        if parser is None or self.complete:
            # Bytes nobody asked for (on an idle connection, or after the answer): not reusable.
            self._abort()
            return
        self.got_bytes = True
        if not self.headers_done:
            self.head_bytes += len(data)
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.error = WebhookProtocolError("the receiver switched protocols")
            self._abort()
        except httptools.HttpParserError as exc:
            if not self.complete:
                self.error = WebhookProtocolError(f"invalid HTTP answer: {exc}")
            self._abort()
        if not self.headers_done and self.head_bytes > MAX_HEAD_BYTES and self.error is None:
            self.error = WebhookProtocolError("the answer's head is too large")
            self._abort()
        if self.complete or self.error is not None:
            self._wake()

    def eof_received(self) -> bool | None:
        return False  # close the transport; connection_lost settles the answer

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.parser is not None and not self.complete and self.error is None:
            if exc is None and self.headers_done and not self._framed and not self._informational:
                self.complete = True  # a body delimited by the (orderly) end of the connection
                self.keep_alive = False
            else:
                self.error = WebhookClosed(
                    "the receiver closed the connection", got_bytes=self.got_bytes
                )
        self._wake()

    # -- httptools callbacks -------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.complete:
            return
        name = name.lower()
        if name == b"content-length" or name == b"transfer-encoding":
            self._framed = True
        elif name == b"retry-after":
            self.retry_after = value.decode("latin-1").strip()

    def on_headers_complete(self) -> None:
        if self.complete:
            return
        assert self.parser is not None
        status = self.parser.get_status_code()
        if 100 <= status < 200:
            # An interim answer (100 Continue, 103 Early Hints): the real one follows.
            self._informational = True
            self._framed = False
            self.retry_after = None
            return
        self.status = status
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        if self.complete:
            return
        room = self.max_body_bytes - len(self.body)
        if len(body) > room:
            # Enough: keep what fits and stop reading (the connection is closed, not reused).
            self.body += body[:room]
            self.truncated = True
            self.complete = True
            self.keep_alive = False
            self._abort()
            return
        self.body += body

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        if not self.complete:
            assert self.parser is not None
            self.complete = True
            self.keep_alive = self.parser.should_keep_alive()

    # -- used by the client --------------------------------------------------------------------

    def _abort(self) -> None:
        self.keep_alive = False
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def start(self) -> None:
        self._reset()
        self.parser = httptools.HttpResponseParser(self)

    async def exchange(self, request: bytes) -> None:
        """Write the request and wait until the answer is complete or failed (no timeout here)."""
        assert self.transport is not None
        self.start()
        self._waiter = self.loop.create_future()
        try:
            self.transport.write(request)
            if not (self.complete or self.error is not None or self.closed):
                await self._waiter
        finally:
            self._waiter = None
        if self.error is not None and not self.complete:
            raise self.error
        if not self.complete:
            raise WebhookClosed("the receiver closed the connection", got_bytes=self.got_bytes)

    def close(self) -> None:
        self._abort()


PoolKey = tuple[str, str, int, str]  # scheme, pinned address, port, name (Host, SNI)


class WebhookHttpClient:
    """POSTs webhook deliveries to pinned addresses; see the module's docstring for the guarantees."""

    def __init__(
        self,
        *,
        timeout_s: float,
        connect_timeout_s: float,
        max_body_bytes: int = 1024,
        max_idle_per_target: int = 20,
        max_idle: int = 500,
        keepalive_s: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.max_body_bytes = max_body_bytes
        self.max_idle_per_target = max_idle_per_target
        self.max_idle = max_idle
        self._idle_count = 0
        self.keepalive_s = keepalive_s
        self._ssl_context = ssl_context
        self._idle: dict[PoolKey, list[_Connection]] = {}
        self._closed = False
        self.connections_opened = 0  # for tests and diagnostics
        self._releases = 0

    @property
    def idle_connections(self) -> int:
        return self._idle_count

    @property
    def ssl_context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    async def post(
        self,
        *,
        scheme: str,
        address: str,
        port: int,
        host: str,
        target: str,
        headers: Iterable[tuple[str, str]],
        body: bytes,
        within_s: float | None = None,
    ) -> WebhookResponse:
        """POST ``body`` to ``scheme://host:port{target}``, connecting to ``address`` (numeric).

        ``within_s`` shortens the whole exchange, connect included, below ``timeout_s`` (the
        dispatcher's lease on the delivery must outlast it)."""
        if self._closed:
            raise WebhookConnectError("the client is closed")
        if scheme not in ("http", "https"):
            raise ValueError(f"unsupported scheme {scheme!r}")
        if any(c in target for c in " \r\n\0") or not target.startswith("/"):
            raise ValueError("invalid request target")
        request = (
            f"POST {target} HTTP/1.1\r\nHost: {host_header(host, port, scheme)}\r\n"
            f"Content-Length: {len(body)}\r\n".encode("latin-1")
            + _header_bytes(headers)
            + b"\r\n"
            + body
        )
        key: PoolKey = (scheme, address, port, host)
        loop = asyncio.get_running_loop()
        budget = self.timeout_s if within_s is None else max(0.0, min(self.timeout_s, within_s))
        deadline = loop.time() + budget
        conn = self._take_idle(key, loop.time())
        if conn is not None:
            try:
                async with asyncio.timeout_at(deadline):
                    await conn.exchange(request)
            except WebhookClosed as exc:
                conn.close()
                if exc.got_bytes:
                    raise
                conn = None  # closed while idle: once more on a fresh connection
            except TimeoutError:
                conn.close()
                raise WebhookTimeout("no complete answer in time") from None
            except BaseException:
                conn.close()
                raise
        if conn is None:
            connect_s = min(self.connect_timeout_s, max(0.0, deadline - loop.time()))
            conn = await self._connect(loop, scheme, address, port, host, connect_s)
            try:
                async with asyncio.timeout_at(deadline):
                    await conn.exchange(request)
            except TimeoutError:
                conn.close()
                raise WebhookTimeout("no complete answer in time") from None
            except BaseException:
                conn.close()
                raise
        response = WebhookResponse(
            status=conn.status,
            retry_after=conn.retry_after,
            body=bytes(conn.body),
            truncated=conn.truncated,
        )
        self._release(key, conn, loop.time())
        return response

    def _take_idle(self, key: PoolKey, now: float) -> _Connection | None:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            self._idle_count -= 1
            if conn.closed or now - conn.idle_since > self.keepalive_s:
                conn.close()
                continue
            return conn
        return None

    def _release(self, key: PoolKey, conn: _Connection, now: float) -> None:
        conn.parser = None
        if self._closed or conn.closed or not conn.complete or not conn.keep_alive:
            conn.close()
            return
        self._releases += 1
        if self._releases % 1000 == 0:
            self._prune(now)
        if self._idle_count >= self.max_idle:
            self._drop_oldest_idle()
        conn.idle_since = now
        idle = self._idle.setdefault(key, [])
        idle.append(conn)
        self._idle_count += 1
        if len(idle) > self.max_idle_per_target:
            idle.pop(0).close()  # the oldest
            self._idle_count -= 1

    def _drop_oldest_idle(self) -> None:
        """Close the connection idle the longest, over all targets (each list is oldest first)."""
        key = min(self._idle, key=lambda k: self._idle[k][0].idle_since, default=None)
        if key is None:
            return
        idle = self._idle[key]
        idle.pop(0).close()
        self._idle_count -= 1
        if not idle:
            del self._idle[key]

    def _prune(self, now: float) -> None:
        """Close the idle connections past ``keepalive_s`` and forget targets without any."""
        for key in list(self._idle):
            kept = []
            for conn in self._idle[key]:
                if conn.closed or now - conn.idle_since > self.keepalive_s:
                    conn.close()
                else:
                    kept.append(conn)
            self._idle_count -= len(self._idle[key]) - len(kept)
            if kept:
                self._idle[key] = kept
            else:
                del self._idle[key]

    async def _connect(
        self,
        loop: asyncio.AbstractEventLoop,
        scheme: str,
        address: str,
        port: int,
        host: str,
        connect_s: float,
    ) -> _Connection:
        try:
            # Numeric only: the address was checked, it is never looked up again.
            family, type_, proto, _, sockaddr = socket.getaddrinfo(
                address, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST
            )[0]
        except (OSError, IndexError) as exc:
            raise WebhookConnectError(f"not a numeric address {address!r}: {exc}") from None
        sock = socket.socket(family, type_, proto)
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            async with asyncio.timeout(connect_s):
                await loop.sock_connect(sock, sockaddr)
                _, protocol = await loop.create_connection(
                    lambda: _Connection(loop, self.max_body_bytes),
                    sock=sock,
                    ssl=self.ssl_context if scheme == "https" else None,
                    server_hostname=ascii_host(host) if scheme == "https" else None,
                )
        except TimeoutError:
            sock.close()
            raise WebhookTimeout(f"no connection to {address} port {port} in time") from None
        except ssl.SSLError as exc:
            sock.close()
            raise WebhookConnectError(f"TLS with {host}: {exc}") from None
        except OSError as exc:
            sock.close()
            raise WebhookConnectError(f"cannot connect to {address} port {port}: {exc}") from None
        except BaseException:
            sock.close()
            raise
        self.connections_opened += 1
        return protocol

    async def aclose(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()
        self._idle_count = 0
