"""The proxy hop against a scripted raw HTTP/1.1 upstream: framing, connection reuse, failures, sizes.

The upstream is a bare asyncio server (no framework), so a test controls every byte and can count the
connections the gateway opens. Every test runs with both proxy clients (``GATEWAY_PROXY_CLIENT``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from starlette.types import Message

from gateway.app import create_app
from gateway.config import Settings
from shared.testing.plugin import asgi_client
from shared.testing.tokens import TestIssuer

Writer = asyncio.StreamWriter
Handler = Callable[[bytes, bytes, Writer], Awaitable[bool]]  # (method, path, writer) -> keep open?


@dataclass
class RawUpstream:
    handlers: dict[bytes, Handler] = field(default_factory=dict)
    connections: int = 0
    requests: int = 0
    port: int = 0
    # per path: how many requests reached it, and on which connection number
    seen: list[tuple[bytes, int]] = field(default_factory=list)

    async def serve(self, reader: asyncio.StreamReader, writer: Writer) -> None:
        self.connections += 1
        number = self.connections
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                method, path, _ = request_line.split(" ")
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in header_lines if line)
                }
                if "content-length" in headers:
                    await reader.readexactly(int(headers["content-length"]))
                elif headers.get("transfer-encoding") == "chunked":
                    while True:
                        size = int((await reader.readline()).strip(), 16)
                        await reader.readexactly(size + 2)
                        if size == 0:
                            break
                self.requests += 1
                self.seen.append((path.encode(), number))
                handler = self.handlers.get(path.split("?")[0].encode(), ok)
                keep_open = await handler(method.encode(), path.encode(), writer)
                await writer.drain()
                if not keep_open:
                    return
        finally:
            writer.close()


async def ok(method: bytes, path: bytes, writer: Writer) -> bool:
    body = b'{"ok":true}'
    writer.write(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
        b"x-request-id: from-upstream\r\n\r\n%b" % (len(body), b"" if method == b"HEAD" else body)
    )
    return True


async def chunked(method: bytes, path: bytes, writer: Writer) -> bool:
    writer.write(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    for i in range(5):
        part = f"part-{i};".encode()
        writer.write(b"%x\r\n%b\r\n" % (len(part), part))
        await writer.drain()
        await asyncio.sleep(0.005)
    writer.write(b"0\r\n\r\n")
    return True


async def cut_mid_body(method: bytes, path: bytes, writer: Writer) -> bool:
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n" + b"x" * 100)
    await writer.drain()
    await asyncio.sleep(0.05)
    return False  # close with 900 bytes missing


async def never_answers(method: bytes, path: bytes, writer: Writer) -> bool:
    await asyncio.sleep(5)
    return False


LARGE = 8 * 1024 * 1024


async def large(method: bytes, path: bytes, writer: Writer) -> bool:
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\n")
    writer.write(b"content-length: %d\r\n\r\n" % LARGE)
    block = bytes(range(256)) * 256  # 64 KiB
    for _ in range(LARGE // len(block)):
        writer.write(block)
        await writer.drain()
    return True


async def close_after_answer(method: bytes, path: bytes, writer: Writer) -> bool:
    await ok(method, path, writer)
    return False  # the upstream ends keep-alive without saying so


async def two_answers(method: bytes, path: bytes, writer: Writer) -> bool:
    await ok(method, path, writer)
    writer.write(b"HTTP/1.1 418 I'm a teapot\r\ncontent-length: 5\r\nx-evil: 1\r\n\r\nteapo")
    return True


async def read_until_close(method: bytes, path: bytes, writer: Writer) -> bool:
    writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nno length, ends with the connection")
    return False


@pytest.fixture
async def raw_upstream() -> AsyncIterator[RawUpstream]:
    upstream = RawUpstream(
        handlers={
            b"/api/v1/raw/chunked": chunked,
            b"/api/v1/raw/cut": cut_mid_body,
            b"/api/v1/raw/hang": never_answers,
            b"/api/v1/raw/large": large,
            b"/api/v1/raw/close-after": close_after_answer,
            b"/api/v1/raw/eof-body": read_until_close,
            b"/api/v1/raw/two-answers": two_answers,
        }
    )
    server = await asyncio.start_server(upstream.serve, "127.0.0.1", 0)
    upstream.port = server.sockets[0].getsockname()[1]
    yield upstream
    server.close()


@pytest.fixture(params=["native", "aiohttp"])
def proxy_client(request: pytest.FixtureRequest) -> str:
    client: str = request.param
    return client


@pytest.fixture
def gateway(raw_upstream: RawUpstream, tmp_path: Path, proxy_client: str) -> FastAPI:
    settings = Settings(
        environment="test",
        proxy_client=proxy_client,
        keys_dir=tmp_path / "keys",
        upstreams={"raw": f"http://127.0.0.1:{raw_upstream.port}"},
        routes={"/api/v1/raw": "raw"},
        upstream_read_timeout_s=0.5,
        upstream_pool_size=8,
    )
    return create_app(settings)


@pytest.fixture
async def client(gateway: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async for c in asgi_client(gateway):
        yield c


@pytest.fixture
def auth(gateway: FastAPI, token_issuer: TestIssuer) -> dict[str, str]:
    token = gateway.state.keyring.sign(token_issuer.claims(subject="u1", org_id="o1"))
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Answer:
    status: int = 0
    body: bytearray = field(default_factory=bytearray)
    pieces: list[int] = field(default_factory=list)
    finished: bool = False  # the app sent its last body message


async def call(
    app: object, path: str, auth: dict[str, str], *, slow_client: bool = False
) -> Answer:
    """One GET straight through the ASGI app, recording how the body is handed over."""
    answer = Answer()

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            answer.status = int(message["status"])  # type: ignore[call-overload]
        elif message["type"] == "http.response.body":
            body = message.get("body", b"")
            assert isinstance(body, bytes)
            answer.pieces.append(len(body))
            answer.body.extend(body)
            answer.finished = not message.get("more_body", False)
            if slow_client:
                await asyncio.sleep(0.001)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"gateway"), (b"authorization", auth["Authorization"].encode())],
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 8000),
    }
    await app(scope, receive, send)  # type: ignore[operator]
    return answer


class TestFraming:
    async def test_chunked_response_arrives_whole(
        self, client: httpx.AsyncClient, auth: dict[str, str]
    ) -> None:
        response = await client.get("/api/v1/raw/chunked", headers=auth)
        assert response.status_code == 200
        assert response.text == "".join(f"part-{i};" for i in range(5))
        assert "transfer-encoding" not in response.headers or response.headers[
            "transfer-encoding"
        ] == ("chunked")

    async def test_body_delimited_by_close(
        self, client: httpx.AsyncClient, auth: dict[str, str], raw_upstream: RawUpstream
    ) -> None:
        response = await client.get("/api/v1/raw/eof-body", headers=auth)
        assert response.text == "no length, ends with the connection"
        await client.get("/api/v1/raw/ok", headers=auth)
        assert raw_upstream.connections == 2  # that connection could not be reused

    async def test_head_has_no_body_and_keeps_the_connection(
        self, client: httpx.AsyncClient, auth: dict[str, str], raw_upstream: RawUpstream
    ) -> None:
        head = await client.head("/api/v1/raw/ok", headers=auth)
        assert head.status_code == 200
        assert head.content == b""
        after = await client.get("/api/v1/raw/ok", headers=auth)
        assert after.json() == {"ok": True}
        assert raw_upstream.connections == 1

    async def test_the_gateways_request_id_replaces_the_upstreams(
        self, client: httpx.AsyncClient, auth: dict[str, str]
    ) -> None:
        response = await client.get("/api/v1/raw/ok", headers={**auth, "X-Request-ID": "rid-7"})
        assert response.headers.get_list("x-request-id") == ["rid-7"]


class TestMisbehavingUpstream:
    async def test_a_second_answer_to_one_request_is_dropped_with_its_connection(
        self, client: httpx.AsyncClient, auth: dict[str, str], raw_upstream: RawUpstream
    ) -> None:
        first = await client.get("/api/v1/raw/two-answers", headers=auth)
        assert first.status_code == 200
        assert first.json() == {"ok": True}
        assert "x-evil" not in first.headers
        after = await client.get("/api/v1/raw/ok", headers=auth)
        assert after.status_code == 200
        assert after.json() == {"ok": True}
        assert raw_upstream.connections == 2


class TestConnectionReuse:
    async def test_sequential_requests_share_one_connection(
        self, client: httpx.AsyncClient, auth: dict[str, str], raw_upstream: RawUpstream
    ) -> None:
        for _ in range(20):
            assert (await client.get("/api/v1/raw/ok", headers=auth)).status_code == 200
        assert raw_upstream.requests == 20
        assert raw_upstream.connections == 1

    async def test_many_concurrent_requests_stay_within_the_pool(
        self, client: httpx.AsyncClient, auth: dict[str, str], raw_upstream: RawUpstream
    ) -> None:
        responses = await asyncio.gather(
            *(client.get(f"/api/v1/raw/ok?i={i}", headers=auth) for i in range(200))
        )
        assert [r.status_code for r in responses] == [200] * 200
        assert raw_upstream.requests == 200
        assert raw_upstream.connections <= 8  # upstream_pool_size

    async def test_a_pooled_connection_closed_before_answering_is_retried_for_get(
        self, client: httpx.AsyncClient, auth: dict[str, str], raw_upstream: RawUpstream
    ) -> None:
        # The upstream answers, then closes without saying so: the pooled connection is dead.
        assert (await client.get("/api/v1/raw/close-after", headers=auth)).status_code == 200
        await asyncio.sleep(0.05)
        response = await client.get("/api/v1/raw/ok", headers=auth)
        assert response.status_code == 200
        assert raw_upstream.connections == 2


class TestFailures:
    async def test_upstream_closing_mid_body_truncates_and_is_not_reused(
        self, gateway: FastAPI, auth: dict[str, str], raw_upstream: RawUpstream
    ) -> None:
        async with LifespanManager(gateway) as manager:
            cut = await call(manager.app, "/api/v1/raw/cut", auth)
            after = await call(manager.app, "/api/v1/raw/ok", auth)
        # The answer had started: the client gets a response that never finishes (uvicorn then
        # closes the connection), not a made-up end.
        assert cut.status == 200
        assert bytes(cut.body) == b"x" * 100
        assert not cut.finished
        assert after.status == 200
        assert after.finished
        assert raw_upstream.connections == 2

    async def test_headers_too_slow_is_504_within_the_read_timeout(
        self, client: httpx.AsyncClient, auth: dict[str, str]
    ) -> None:
        started = time.monotonic()
        response = await client.get("/api/v1/raw/hang", headers=auth)
        assert response.status_code == 504
        assert response.json()["code"] == "upstream_timeout"
        assert time.monotonic() - started < 1.5


class TestClientGone:
    async def test_a_caller_leaving_mid_upload_is_not_forwarded_as_a_whole_body(
        self, gateway: FastAPI, auth: dict[str, str], raw_upstream: RawUpstream
    ) -> None:
        messages: Iterator[Message] = iter(
            [
                {"type": "http.request", "body": b"part", "more_body": True},
                {"type": "http.disconnect"},
            ]
        )
        sent: list[Message] = []

        async def receive() -> Message:
            return next(messages)

        async def send(message: Message) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/api/v1/raw/ok",
            "raw_path": b"/api/v1/raw/ok",
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"gateway"),
                (b"authorization", auth["Authorization"].encode()),
                (b"content-length", b"100"),
            ],
            "client": ("127.0.0.1", 1234),
            "server": ("127.0.0.1", 8000),
        }
        async with LifespanManager(gateway) as manager:
            await manager.app(scope, receive, send)
            await asyncio.sleep(0.05)
        assert sent == []  # nobody to answer
        assert raw_upstream.requests == 0  # the upstream never got a complete request


class TestLargeBodies:
    async def test_large_response_is_streamed_not_buffered(
        self, gateway: FastAPI, auth: dict[str, str]
    ) -> None:
        """A client slower than the upstream: the body must come in bounded pieces."""
        async with LifespanManager(gateway) as manager:
            answer = await call(manager.app, "/api/v1/raw/large", auth, slow_client=True)
        assert answer.status == 200
        assert answer.finished
        assert len(answer.body) == LARGE
        assert answer.body[:512] == bytes(range(256)) * 2
        assert len(answer.pieces) > 8
        assert max(answer.pieces) <= 1024 * 1024  # never the whole body in one piece
