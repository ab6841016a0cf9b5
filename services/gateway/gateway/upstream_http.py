"""The proxy hop's own HTTP/1.1 client: ``asyncio.Protocol`` + ``httptools``, pooled keep-alive.

Why not aiohttp on this path: a profile of the gateway under load put ~40% of its CPU in aiohttp's
general-purpose request machinery (header multidicts, auto headers, payload objects, a task per
request). A proxy needs none of it: the request line and headers are already bytes, they go out in one
``transport.write`` (with the body when it is small), and the response is parsed by llhttp (httptools,
already installed with uvicorn) straight into the list of header pairs ASGI wants.

What it does, and no more:
- one pool per upstream ``host:port``: idle connections are reused newest first, at most ``limit`` open
  (callers wait beyond that), dropped after ``keepalive_s`` idle or when the upstream closes them;
- a connection goes back to the pool only when its response was read completely and both sides said
  keep-alive; anything else (timeout, error, a caller that gave up midway) closes it;
- bodies: Content-Length, chunked, or read-until-close responses; HEAD/204/304 have none;
- the response is handed out as it is parsed; reading from the upstream pauses while more than
  ``HIGH_WATER`` bytes wait for a slow client, so a large body is never buffered whole;
- timeouts: connect (``UpstreamConnectTimeout``) and read, i.e. no byte for ``read_timeout_s`` while
  we wait for one (``UpstreamReadTimeout``); a refused or failed connect is ``UpstreamConnectError``.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
from collections.abc import AsyncIterator
from typing import cast
from urllib.parse import urlsplit

import httptools

# Response headers that describe this connection, not the message: never passed on.
HOP_BY_HOP_RESPONSE = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
HIGH_WATER = 256 * 1024  # bytes parsed but not yet taken by the caller before we stop reading
LOW_WATER = 64 * 1024


class UpstreamError(Exception):
    """Base of every failure of the hop."""


class UpstreamConnectError(UpstreamError):
    """The upstream refused the connection, or it could not be opened."""


class UpstreamConnectTimeout(UpstreamError):
    """No connection within the connect timeout."""


class UpstreamReadTimeout(UpstreamError):
    """No byte from the upstream within the read timeout while we waited for one."""


class UpstreamClosed(UpstreamError):
    """The upstream closed the connection before the response was complete."""

    def __init__(self, message: str, *, got_response_bytes: bool) -> None:
        super().__init__(message)
        self.got_response_bytes = got_response_bytes


class UpstreamProtocolError(UpstreamError):
    """The upstream's answer is not valid HTTP/1.1."""


class Connection(asyncio.Protocol):
    """One keep-alive connection; carries one exchange at a time."""

    def __init__(self, pool: UpstreamPool) -> None:
        self.pool = pool
        self.loop = pool.loop
        self._skip_headers = pool.skip_response_headers
        self.transport: asyncio.Transport | None = None
        self.parser: httptools.HttpResponseParser | None = None
        # After a complete response llhttp is ready for the next one: kept for the next exchange.
        self._spare_parser: httptools.HttpResponseParser | None = None
        self.closed = False
        self.dropped = False
        self.reused = False
        self.idle_since = 0.0
        self.deadline = 0.0
        self._waiter: asyncio.Future[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None
        self._write_paused = False
        self._read_paused = False
        self._reset()

    def _reset(self) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.headers_done = False
        self.complete = False
        self.keep_alive = False
        self.got_bytes = False
        self.chunks: list[bytes] = []
        self.buffered = 0
        self.error: UpstreamError | None = None
        self._informational = False
        self._framed = False  # Content-Length or Transfer-Encoding seen
        self._no_body = False  # answer to HEAD
        self._extra = False  # bytes of a further message after the complete response

    # -- asyncio.Protocol --------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        parser = self.parser
        if parser is None or self.complete:
            # Bytes nobody asked for (on an idle connection, or after the response): not reusable.
            self.keep_alive = False
            self.closed = True
            assert self.transport is not None
            self.transport.close()
            return
        self.got_bytes = True
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.error = UpstreamProtocolError("upstream switched protocols")
            self._abort()
        except httptools.HttpParserError as exc:
            if not self.complete:  # trailing garbage after a complete HEAD answer is harmless
                self.error = UpstreamProtocolError(f"invalid response from upstream: {exc}")
            self._abort()
        if self.buffered > HIGH_WATER and not self._read_paused and self.transport is not None:
            self._read_paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool | None:
        return False  # close the transport; connection_lost settles the response

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.parser is not None and not self.complete and self.error is None:
            if exc is None and self.headers_done and not self._framed and not self._informational:
                self.complete = True  # a body delimited by the (orderly) end of the connection
                self.keep_alive = False
            else:
                self.error = UpstreamClosed(
                    "upstream closed the connection", got_response_bytes=self.got_bytes
                )
        self._wake()
        drain = self._drain_waiter
        if drain is not None and not drain.done():
            drain.set_exception(
                UpstreamClosed("upstream closed the connection", got_response_bytes=True)
            )
        self.pool._connection_lost(self)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        drain = self._drain_waiter
        if drain is not None and not drain.done():
            drain.set_result(None)

    # -- httptools callbacks -----------------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.complete:
            # A second answer to one request (in the same read): never let it touch the first one.
            self.keep_alive = False
            self._extra = True

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._extra:
            return
        name = name.lower()
        if name == b"content-length" or name == b"transfer-encoding":
            self._framed = True
        if name not in self._skip_headers:
            self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        if self._extra:
            return
        assert self.parser is not None
        status = self.parser.get_status_code()
        if 100 <= status < 200:
            # An interim answer (100 Continue, 103 Early Hints): the real one follows.
            self._informational = True
            self.headers = []
            self._framed = False
            return
        self.status = status
        self.headers_done = True
        if self._no_body:
            # llhttp cannot be told this answers a HEAD; the message ends with its headers.
            self.complete = True
            self.keep_alive = self.parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        if not self.complete:
            self.chunks.append(body)
            self.buffered += len(body)

    def on_message_complete(self) -> None:
        if self._extra:
            return
        if self._informational:
            self._informational = False
            return
        if not self.complete:
            assert self.parser is not None
            self.complete = True
            self.keep_alive = self.parser.should_keep_alive()

    # -- used by the exchange ----------------------------------------------------------------------

    def _abort(self) -> None:
        self.keep_alive = False
        if self.transport is not None:
            self.transport.close()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _timed_out(self, waiter: asyncio.Future[None]) -> None:
        if not waiter.done():
            self._waiter = None
            waiter.set_exception(UpstreamReadTimeout("upstream did not answer in time"))

    async def wait(self) -> None:
        """Until something new arrives from the upstream (bytes, end, error), or the read timeout.

        The deadline is checked by the pool's sweep (``UpstreamPool._sweep``), not a timer per wait:
        arming and cancelling a loop timer cost ~1.8 us, about 2% of the hop.
        """
        waiter = self.loop.create_future()
        self._waiter = waiter
        self.deadline = self.loop.time() + self.pool.read_timeout_s
        self.pool._watch(self)
        try:
            await waiter
        finally:
            self._waiter = None
            self.pool._waiting.discard(self)

    def start(self, head_only: bool) -> None:
        """Prepare to read one response (before its request is written)."""
        self._reset()
        self._no_body = head_only
        parser, self._spare_parser = self._spare_parser, None
        self.parser = parser or httptools.HttpResponseParser(self)

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    async def drain(self) -> None:
        if self.closed:
            raise UpstreamClosed(
                "upstream closed the connection", got_response_bytes=self.got_bytes
            )
        if self._write_paused:
            self._drain_waiter = self.loop.create_future()
            try:
                await self._drain_waiter
            finally:
                self._drain_waiter = None

    def take_body(self) -> list[bytes]:
        chunks = self.chunks
        if chunks:
            self.chunks = []
            self.buffered = 0
            if self._read_paused and self.transport is not None and not self.closed:
                self._read_paused = False
                self.transport.resume_reading()
        return chunks

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class UpstreamPool:
    """Keep-alive connections to one upstream ``scheme://host:port``."""

    def __init__(
        self,
        base_url: str,
        *,
        limit: int,
        connect_timeout_s: float,
        read_timeout_s: float,
        keepalive_s: float = 30.0,
        drop_response_headers: frozenset[bytes] = frozenset(),
    ) -> None:
        """``drop_response_headers``: lowercase names never passed on, besides hop-by-hop ones."""
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"unsupported upstream URL {base_url!r}")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.ssl: ssl.SSLContext | None = (
            ssl.create_default_context() if parts.scheme == "https" else None
        )
        default_port = 443 if parts.scheme == "https" else 80
        netloc = self.host if self.port == default_port else f"{self.host}:{self.port}"
        if ":" in self.host:  # IPv6 literal
            netloc = f"[{self.host}]" if self.port == default_port else f"[{self.host}]:{self.port}"
        self.host_header = netloc.encode("ascii")
        self.base_path = parts.path.rstrip("/").encode("ascii")
        self.limit = limit
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.keepalive_s = keepalive_s
        self.skip_response_headers = HOP_BY_HOP_RESPONSE | drop_response_headers
        self.loop = asyncio.get_running_loop()
        self._idle: list[Connection] = []
        self._open = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._closed = False
        self.connections_opened = 0  # for tests and diagnostics
        # Connections waiting for the upstream, and the sweep that fails those past their deadline
        # (a read timeout fires between read_timeout_s and read_timeout_s + _sweep_every_s).
        self._waiting: set[Connection] = set()
        self._sweep_every_s = max(0.01, min(0.1, read_timeout_s / 10))
        self._sweep_handle: asyncio.TimerHandle | None = None

    async def acquire(self) -> Connection:
        while True:
            if self._closed:
                raise UpstreamConnectError("the upstream pool is closed")
            idle = self._idle
            if idle:
                now = self.loop.time()
                while idle:
                    conn = idle.pop()
                    if conn.closed or now - conn.idle_since > self.keepalive_s:
                        self._drop(conn)
                        continue
                    conn.reused = True
                    return conn
            if self._open < self.limit:
                return await self._connect()
            waiter = self.loop.create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._wake_one()  # pass the turn on
                raise

    async def _connect(self) -> Connection:
        self._open += 1
        try:
            try:
                async with asyncio.timeout(self.connect_timeout_s):
                    _, protocol = await self.loop.create_connection(
                        lambda: Connection(self), self.host, self.port, ssl=self.ssl
                    )
            except TimeoutError as exc:
                raise UpstreamConnectTimeout(
                    f"no connection to {self.host}:{self.port} in time"
                ) from exc
            except OSError as exc:
                raise UpstreamConnectError(
                    f"cannot connect to {self.host}:{self.port}: {exc}"
                ) from exc
        except BaseException:
            self._open -= 1
            self._wake_one()
            raise
        self.connections_opened += 1
        return protocol

    def release(self, conn: Connection, *, reusable: bool) -> None:
        parser, conn.parser = conn.parser, None
        if (
            reusable
            and not self._closed
            and not conn.closed
            and conn.complete
            and conn.keep_alive
            and conn.error is None
        ):
            conn.idle_since = self.loop.time()
            conn.reused = False
            if not conn._no_body:  # after a HEAD answer llhttp still expects its body
                conn._spare_parser = parser
            self._idle.append(conn)
            self._wake_one()
        else:
            self._drop(conn)

    def drop_idle(self) -> None:
        """Forget every idle connection: one of them was found closed by a process that went away,
        and the others, opened to the same process, are as dead even if their close has not been
        read yet. The next request opens a fresh connection (refused at once if nobody listens)."""
        idle, self._idle = self._idle, []
        for conn in idle:
            self._drop(conn)

    def _drop(self, conn: Connection) -> None:
        if not conn.dropped:
            conn.dropped = True
            self._open -= 1
            conn.close()
            self._wake_one()

    def _watch(self, conn: Connection) -> None:
        self._waiting.add(conn)
        if self._sweep_handle is None:
            self._sweep_handle = self.loop.call_later(self._sweep_every_s, self._sweep)

    def _sweep(self) -> None:
        self._sweep_handle = None
        now = self.loop.time()
        for conn in [c for c in self._waiting if c.deadline <= now]:
            self._waiting.discard(conn)
            waiter = conn._waiter
            if waiter is not None:
                conn._timed_out(waiter)
        if self._waiting:
            self._sweep_handle = self.loop.call_later(self._sweep_every_s, self._sweep)

    def _connection_lost(self, conn: Connection) -> None:
        # An idle connection the upstream closed is dropped when next met in acquire().
        pass

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def close(self) -> None:
        self._closed = True
        if self._sweep_handle is not None:
            self._sweep_handle.cancel()
            self._sweep_handle = None
        for conn in self._idle:
            self._drop(conn)
        self._idle.clear()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)


async def write_streamed_body(
    conn: Connection, chunks: AsyncIterator[bytes], *, chunked: bool
) -> None:
    """Send a request body as it arrives from the client, respecting the upstream's flow control."""
    async for chunk in chunks:
        if not chunk:
            continue
        if chunked:
            conn.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
        else:
            conn.write(chunk)
        await conn.drain()
    if chunked:
        conn.write(b"0\r\n\r\n")
