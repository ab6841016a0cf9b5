"""Several replicas of one service behind the gateway: turns, passive health, what is retried where.

Each replica is a bare asyncio HTTP/1.1 server that answers with its own name, or takes the request
and closes the connection without a word (a replica dying with the request). A replica that refuses
connections is a free port nobody listens on. Every test runs with both proxy clients.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from gateway.app import create_app
from gateway.config import Settings
from gateway.proxy import UpstreamProxy
from gateway.upstream_http import UpstreamPool
from shared.devstack.stack import free_port
from shared.testing.tokens import TestIssuer


@dataclass
class Replica:
    name: str
    drops_requests: bool = False  # read the request, then close without answering
    seen: list[str] = field(default_factory=list)  # "METHOD path" of every request read
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                request_line, *lines = head.decode("latin-1").split("\r\n")
                method, path, _ = request_line.split(" ")
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines if line)
                }
                if headers.get("transfer-encoding") == "chunked":
                    while size := int((await reader.readline()).strip(), 16):
                        await reader.readexactly(size + 2)
                    await reader.readline()
                else:
                    await reader.readexactly(int(headers.get("content-length", "0")))
                self.seen.append(f"{method} {path}")
                if self.drops_requests:
                    return
                body = self.name.encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: %d\r\n\r\n%b"
                    % (len(body), b"" if method == "HEAD" else body)
                )
                await writer.drain()
        finally:
            writer.close()


@pytest.fixture
async def replicas() -> AsyncIterator[list[Replica]]:
    started = [Replica("a"), Replica("b")]
    servers = []
    for replica in started:
        server = await asyncio.start_server(replica.serve, "127.0.0.1", 0)
        replica.port = server.sockets[0].getsockname()[1]
        servers.append(server)
    yield started
    for server in servers:
        server.close()


@pytest.fixture(params=["native", "aiohttp"])
def proxy_client(request: pytest.FixtureRequest) -> str:
    client: str = request.param
    return client


@pytest.fixture
def refusing_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nobody listens there


def gateway_for(urls: list[str], tmp_path: Path, proxy_client: str) -> FastAPI:
    settings = Settings(
        environment="test",
        proxy_client=proxy_client,
        keys_dir=tmp_path / "keys",
        upstreams={"svc": urls},
        routes={"/api/v1/svc": "svc"},
        upstream_read_timeout_s=1.0,
        upstream_down_s=30.0,
    )
    return create_app(settings)


async def client_for(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway under uvicorn, as deployed: a small body reaches the proxy in one piece."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            yield client
    finally:
        server.should_exit = True
        await task


AuthFor = Callable[[FastAPI], dict[str, str]]


@pytest.fixture
def auth_for(token_issuer: TestIssuer) -> AuthFor:
    def make(app: FastAPI) -> dict[str, str]:
        token = app.state.keyring.sign(token_issuer.claims(subject="u1", org_id="o1"))
        return {"Authorization": f"Bearer {token}"}

    return make


async def answers(client: httpx.AsyncClient, auth: dict[str, str], count: int) -> list[str]:
    names = []
    for _ in range(count):
        response = await client.get("/api/v1/svc/x", headers=auth)
        assert response.status_code == 200, response.text
        names.append(response.text)
    return names


class TestTurns:
    async def test_requests_take_the_replicas_in_turn(
        self, replicas: list[Replica], tmp_path: Path, proxy_client: str, auth_for: AuthFor
    ) -> None:
        app = gateway_for([r.url for r in replicas], tmp_path, proxy_client)
        async for client in client_for(app):
            auth = auth_for(app)
            names = await answers(client, auth, 6)
        assert sorted(names) == ["a", "a", "a", "b", "b", "b"]
        assert names[0] != names[1]

    async def test_a_single_url_still_works(
        self, replicas: list[Replica], tmp_path: Path, proxy_client: str, auth_for: AuthFor
    ) -> None:
        settings = Settings(
            environment="test",
            proxy_client=proxy_client,
            keys_dir=tmp_path / "keys",
            upstreams={"svc": replicas[0].url},
            routes={"/api/v1/svc": "svc"},
        )
        app = create_app(settings)
        async for client in client_for(app):
            names = await answers(client, auth_for(app), 3)
        assert names == ["a", "a", "a"]


class TestPassiveHealth:
    async def test_a_refusing_replica_is_skipped_and_its_requests_answered_by_another(
        self,
        replicas: list[Replica],
        refusing_url: str,
        tmp_path: Path,
        proxy_client: str,
        auth_for: AuthFor,
    ) -> None:
        app = gateway_for([refusing_url, replicas[0].url], tmp_path, proxy_client)
        async for client in client_for(app):
            names = await answers(client, auth_for(app), 4)
            proxy: UpstreamProxy = app.state.proxy
            assert proxy.skipped_replicas("svc", asyncio.get_running_loop().time()) == {
                refusing_url
            }
            health = (await client.get("/health/services")).json()["services"]["svc"]
        assert names == ["a"] * 4
        # Tried once, then passed over: only the first request met the refusal.
        assert [r.refusals for r in proxy.groups["svc"].replicas] == [1, 0]
        assert [r["url"] for r in health["replicas"]] == [refusing_url, replicas[0].url]
        assert health["replicas"][0]["status"] == "unreachable"
        assert health["replicas"][0]["skipped_by_proxy"] is True
        assert health["replicas"][1]["skipped_by_proxy"] is False

    async def test_a_post_that_could_not_connect_goes_to_the_next_replica(
        self,
        replicas: list[Replica],
        refusing_url: str,
        tmp_path: Path,
        proxy_client: str,
        auth_for: AuthFor,
    ) -> None:
        # Nothing was sent to the refusing replica, so even a POST is safe to send elsewhere.
        app = gateway_for([refusing_url, replicas[0].url], tmp_path, proxy_client)
        async for client in client_for(app):
            response = await client.post(
                "/api/v1/svc/create",
                content=b"{}",
                headers=auth_for(app),
            )
        assert response.status_code == 200
        assert replicas[0].seen == ["POST /api/v1/svc/create"]

    async def test_every_replica_refusing_is_a_502_problem(
        self, tmp_path: Path, proxy_client: str, auth_for: AuthFor
    ) -> None:
        urls = [f"http://127.0.0.1:{free_port()}" for _ in range(2)]
        app = gateway_for(urls, tmp_path, proxy_client)
        async for client in client_for(app):
            response = await client.get("/api/v1/svc/x", headers=auth_for(app))
        assert response.status_code == 502
        assert response.json()["code"] == "upstream_unavailable"


class TestRequestsThatReachedAReplica:
    """The first replica reads the request and dies without answering."""

    @pytest.fixture
    def dying_first(self, replicas: list[Replica]) -> list[Replica]:
        replicas[0].drops_requests = True
        return replicas

    async def test_a_get_is_repeated_on_the_next_replica(
        self, dying_first: list[Replica], tmp_path: Path, proxy_client: str, auth_for: AuthFor
    ) -> None:
        app = gateway_for([r.url for r in dying_first], tmp_path, proxy_client)
        async for client in client_for(app):
            response = await client.get("/api/v1/svc/x", headers=auth_for(app))
        assert response.status_code == 200
        assert response.text == "b"
        assert dying_first[1].seen == ["GET /api/v1/svc/x"]
        # aiohttp itself sends a GET again once on a new connection before giving up; ours does not.
        assert len(dying_first[0].seen) == (1 if proxy_client == "native" else 2)

    async def test_a_post_is_never_sent_twice(
        self, dying_first: list[Replica], tmp_path: Path, proxy_client: str, auth_for: AuthFor
    ) -> None:
        app = gateway_for([r.url for r in dying_first], tmp_path, proxy_client)
        async for client in client_for(app):
            response = await client.post(
                "/api/v1/svc/create",
                content=b"{}",
                headers=auth_for(app),
            )
        assert response.status_code == 502
        assert dying_first[0].seen == ["POST /api/v1/svc/create"]
        assert dying_first[1].seen == []

    async def test_a_post_with_an_idempotency_key_is_repeated(
        self, dying_first: list[Replica], tmp_path: Path, proxy_client: str, auth_for: AuthFor
    ) -> None:
        app = gateway_for([r.url for r in dying_first], tmp_path, proxy_client)
        async for client in client_for(app):
            response = await client.post(
                "/api/v1/svc/create",
                content=b"{}",
                headers={**auth_for(app), "Idempotency-Key": "k-1"},
            )
        assert response.status_code == 200
        assert dying_first[1].seen == ["POST /api/v1/svc/create"]


async def test_a_closed_pooled_connection_takes_the_pools_other_idle_ones_with_it() -> None:
    """A replica killed with several idle keep-alive connections: after one is found closed, the
    next try opens a fresh connection instead of meeting the other dead ones one by one."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # keep the connection open until the pool closes it
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pool = UpstreamPool(f"http://127.0.0.1:{port}", limit=4, connect_timeout_s=1, read_timeout_s=1)
    try:
        opened = [await pool.acquire() for _ in range(3)]
        for conn in opened:
            conn.complete, conn.keep_alive = True, True
            pool.release(conn, reusable=True)
        assert len(pool._idle) == 3
        pool.drop_idle()
        assert pool._idle == []
        assert pool._open == 0
        fresh = await pool.acquire()
        assert fresh.reused is False
        assert pool.connections_opened == 4
        pool.release(fresh, reusable=False)
    finally:
        await pool.close()
        server.close()
        await server.wait_closed()
