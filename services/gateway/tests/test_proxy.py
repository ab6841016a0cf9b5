"""The gateway's proxy against a real upstream HTTP server (uvicorn on a free port)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from gateway.app import create_app
from gateway.config import Settings
from gateway.proxy import UpstreamProxy
from shared.devstack.stack import free_port
from shared.testing.plugin import asgi_client
from shared.testing.tokens import TestIssuer


async def echo(request: Request) -> Response:
    body = await request.body()
    return JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "raw_path": request.scope["raw_path"].decode(),
            "query": request.url.query,
            "headers": dict(request.headers.items()),
            "body": body.decode("utf-8", "replace"),
        },
        status_code=int(request.query_params.get("status", "200")),
        headers={"X-Upstream": "echo", "Set-Cookie": "a=1"},
    )


async def slow(request: Request) -> Response:
    await asyncio.sleep(5)
    return JSONResponse({"late": True})


async def stream(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        for i in range(5):
            yield f"chunk-{i};".encode()
            await asyncio.sleep(0.01)

    return StreamingResponse(chunks(), media_type="text/plain")


async def problem(request: Request) -> Response:
    return JSONResponse(
        {"type": "x", "title": "Nope", "status": 409, "code": "trade_locked"},
        status_code=409,
        media_type="application/problem+json",
    )


upstream_app = Starlette(
    routes=[
        Route("/api/v1/echo/slow", slow),
        Route("/api/v1/echo/stream", stream),
        Route("/api/v1/echo/problem", problem),
        Route("/api/v1/echo/{rest:path}", echo, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
        Route("/api/v1/echo", echo, methods=["GET", "POST"]),
    ]
)


@pytest.fixture
async def upstream_url() -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(upstream_app, host="127.0.0.1", port=port, log_level="error", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture(params=["native", "aiohttp"])
def proxy_client(request: pytest.FixtureRequest) -> str:
    """Every proxy test runs against both clients that can carry the hop."""
    client: str = request.param
    return client


@pytest.fixture
def gateway(upstream_url: str, tmp_path: Path, proxy_client: str) -> FastAPI:
    settings = Settings(
        environment="test",
        proxy_client=proxy_client,
        keys_dir=tmp_path / "keys",
        upstreams={"echo": upstream_url, "dead": f"http://127.0.0.1:{free_port()}"},
        routes={"/api/v1/echo": "echo", "/api/v1/dead": "dead"},
        upstream_read_timeout_s=0.5,
        max_request_body_bytes=64 * 1024,
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


class TestForwarding:
    async def test_method_path_query_body_pass_through(
        self, client: httpx.AsyncClient, auth: dict[str, str]
    ) -> None:
        response = await client.post(
            "/api/v1/echo/a%2Fb/c?x=1&y=%E6%B8%AF",
            content="港 payload".encode(),
            headers={**auth, "Content-Type": "text/plain; charset=utf-8", "X-Custom": "v"},
        )
        assert response.status_code == 200
        seen = response.json()
        assert seen["method"] == "POST"
        assert seen["raw_path"] == "/api/v1/echo/a%2Fb/c"
        assert seen["query"] == "x=1&y=%E6%B8%AF"
        assert seen["body"] == "港 payload"
        assert seen["headers"]["x-custom"] == "v"
        assert seen["headers"]["authorization"] == auth["Authorization"]
        assert response.headers["x-upstream"] == "echo"
        assert response.headers["set-cookie"] == "a=1"

    async def test_bodyless_requests_reach_upstream_without_a_body(
        self, client: httpx.AsyncClient, auth: dict[str, str]
    ) -> None:
        got = (await client.get("/api/v1/echo/x", headers=auth)).json()
        assert got["body"] == ""
        assert "content-length" not in got["headers"]
        posted = (await client.post("/api/v1/echo/x", headers=auth)).json()
        assert posted["body"] == ""
        assert posted["headers"]["content-length"] == "0"

    async def test_request_id_reaches_upstream_and_comes_back(
        self, client: httpx.AsyncClient, auth: dict[str, str]
    ) -> None:
        response = await client.get("/api/v1/echo/x", headers={**auth, "X-Request-ID": "rid-42"})
        assert response.json()["headers"]["x-request-id"] == "rid-42"
        assert response.headers["x-request-id"] == "rid-42"

    async def test_forwarded_headers_are_ours_not_the_callers(
        self, client: httpx.AsyncClient, auth: dict[str, str]
    ) -> None:
        response = await client.get(
            "/api/v1/echo/x", headers={**auth, "X-Forwarded-For": "6.6.6.6"}
        )
        headers = response.json()["headers"]
        assert headers["x-forwarded-for"] != "6.6.6.6"
        assert headers["x-forwarded-proto"] == "http"

    async def test_upstream_status_and_problem_pass_through(
        self, client: httpx.AsyncClient, auth: dict[str, str]
    ) -> None:
        response = await client.get("/api/v1/echo/problem", headers=auth)
        assert response.status_code == 409
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "trade_locked"

    async def test_streams_chunked_response(
        self, client: httpx.AsyncClient, auth: dict[str, str]
    ) -> None:
        response = await client.get("/api/v1/echo/stream", headers=auth)
        assert response.text == "".join(f"chunk-{i};" for i in range(5))

    async def test_unrouted_path_is_the_gateways_404(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/echoes")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


class TestEdgeAuthentication:
    async def test_missing_token_never_reaches_upstream(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/echo/x")
        assert response.status_code == 401
        assert response.json()["code"] == "unauthenticated"
        assert "x-upstream" not in response.headers

    async def test_token_from_another_issuer_key_is_refused(
        self, client: httpx.AsyncClient, token_issuer: TestIssuer
    ) -> None:
        response = await client.get("/api/v1/echo/x", headers=token_issuer.auth())
        assert response.status_code == 401

    async def test_expired_token_is_refused(
        self, client: httpx.AsyncClient, gateway: FastAPI, token_issuer: TestIssuer
    ) -> None:
        claims: dict[str, Any] = token_issuer.claims()
        claims["exp"] = int(time.time()) - 30
        token = gateway.state.keyring.sign(claims)
        response = await client.get("/api/v1/echo/x", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401


class TestUpstreamFailures:
    async def test_dead_upstream_is_502_problem_quickly(
        self, client: httpx.AsyncClient, auth: dict[str, str]
    ) -> None:
        started = time.monotonic()
        response = await client.get("/api/v1/dead/x", headers=auth)
        assert response.status_code == 502
        assert response.json()["code"] == "upstream_unavailable"
        assert time.monotonic() - started < 3

    async def test_slow_upstream_is_504_within_the_read_timeout(
        self, client: httpx.AsyncClient, auth: dict[str, str]
    ) -> None:
        started = time.monotonic()
        response = await client.get("/api/v1/echo/slow", headers=auth)
        elapsed = time.monotonic() - started
        assert response.status_code == 504
        assert response.json()["code"] == "upstream_timeout"
        assert response.json()["request_id"] == response.headers["x-request-id"]
        assert elapsed < 2

    async def test_oversized_body_is_413(
        self, client: httpx.AsyncClient, auth: dict[str, str]
    ) -> None:
        response = await client.post("/api/v1/echo/x", content=b"x" * 70_000, headers=auth)
        assert response.status_code == 413
        assert response.json()["code"] == "payload_too_large"


class TestSystemEndpoints:
    async def test_jwks_publishes_the_signing_key(
        self, client: httpx.AsyncClient, gateway: FastAPI
    ) -> None:
        keys = (await client.get("/.well-known/jwks.json")).json()["keys"]
        assert [k["kid"] for k in keys] == [gateway.state.keyring.current.kid]
        assert all("d" not in k for k in keys)  # never the private part

    async def test_services_health_reports_each_upstream(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/health/services")
        assert response.status_code == 503
        services = response.json()["services"]
        assert services["dead"]["status"] == "unreachable"
        assert services["echo"]["status"] == "not_ready"  # echo has no /readyz


class TestStreamedUpload:
    async def test_chunked_oversized_body_is_413(
        self, client: httpx.AsyncClient, auth: dict[str, str]
    ) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(10):
                yield b"y" * 10_000

        response = await client.post("/api/v1/echo/x", content=chunks(), headers=auth)
        assert response.status_code == 413

    async def test_chunked_body_within_limit_arrives_whole(
        self, client: httpx.AsyncClient, auth: dict[str, str]
    ) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            for i in range(4):
                yield f"part{i}-".encode() * 100

        response = await client.post("/api/v1/echo/x", content=chunks(), headers=auth)
        assert response.status_code == 200
        assert response.json()["body"] == "".join(f"part{i}-" * 100 for i in range(4))


class TestTraceContext:
    async def test_callers_trace_id_continues_upstream_with_a_new_span(
        self, client: httpx.AsyncClient, auth: dict[str, str]
    ) -> None:
        incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        response = await client.get("/api/v1/echo/x", headers={**auth, "traceparent": incoming})
        forwarded = response.json()["headers"]["traceparent"]
        version, trace_id, span_id, flags = forwarded.split("-")
        assert trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
        assert span_id != "00f067aa0ba902b7"
        assert (version, flags) == ("00", "01")

    async def test_a_trace_is_started_when_the_caller_sends_none(
        self, client: httpx.AsyncClient, auth: dict[str, str]
    ) -> None:
        forwarded = (await client.get("/api/v1/echo/x", headers=auth)).json()["headers"]
        assert len(forwarded["traceparent"].split("-")[1]) == 32


class TestEdgePath:
    """Proxied requests are answered in front of the middleware stack, with the same bookkeeping."""

    async def test_proxied_requests_are_counted_by_route_prefix(
        self, client: httpx.AsyncClient, auth: dict[str, str]
    ) -> None:
        await client.get("/api/v1/echo/x", headers=auth)
        await client.get("/api/v1/echo/x")
        text = (await client.get("/metrics")).text
        label = 'route="proxy /api/v1/echo",service="gateway"'
        assert f'minato_http_requests_total{{method="GET",{label},status="200"}}' in text
        assert f'minato_http_requests_total{{method="GET",{label},status="401"}}' in text

    async def test_unexpected_error_is_a_500_problem_with_the_request_id(
        self, client: httpx.AsyncClient, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        async def boom(self: object, scope: object) -> None:
            raise RuntimeError("bug")

        monkeypatch.setattr(UpstreamProxy, "_authenticate", boom)
        response = await client.get("/api/v1/echo/x", headers={**auth, "X-Request-ID": "rid-9"})
        assert response.status_code == 500
        assert response.json()["code"] == "internal_error"
        assert response.json()["request_id"] == "rid-9"
        assert response.headers["x-request-id"] == "rid-9"
        assert "bug" not in response.text
