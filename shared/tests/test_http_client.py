"""The service-to-service client against a real HTTP server that fails on purpose."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared.devstack.stack import free_port
from shared.errors import UpstreamTimeout, UpstreamUnavailable
from shared.http import ServiceClient, UpstreamProblem
from shared.observability import _request_id


@dataclass
class Upstream:
    url: str
    calls: list[dict[str, str]] = field(default_factory=list)
    fail_first: int = 0


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    port = free_port()
    state = Upstream(url=f"http://127.0.0.1:{port}")

    async def flaky(request: Request) -> Response:
        state.calls.append(
            {
                "method": request.method,
                "request_id": request.headers.get("x-request-id", ""),
                "authorization": request.headers.get("authorization", ""),
            }
        )
        if len(state.calls) <= state.fail_first:
            return JSONResponse({"title": "busy"}, status_code=503)
        return JSONResponse({"ok": True, "n": len(state.calls)})

    async def refuse(request: Request) -> Response:
        return JSONResponse(
            {"title": "Conflict", "status": 409, "code": "locked", "detail": "shared item locked"},
            status_code=409,
            media_type="application/problem+json",
        )

    async def slow(request: Request) -> Response:
        await asyncio.sleep(3)
        return JSONResponse({})

    app = Starlette(
        routes=[
            Route("/flaky", flaky, methods=["GET", "POST"]),
            Route("/refuse", refuse),
            Route("/slow", slow),
        ]
    )
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield state
    server.should_exit = True
    await task


class TestRetries:
    async def test_get_is_retried_until_it_succeeds(self, upstream: Upstream) -> None:
        upstream.fail_first = 2
        client = ServiceClient(upstream.url, attempts=3)
        try:
            assert await client.json("GET", "/flaky") == {"ok": True, "n": 3}
        finally:
            await client.aclose()
        assert len(upstream.calls) == 3

    async def test_post_is_not_retried(self, upstream: Upstream) -> None:
        upstream.fail_first = 1
        client = ServiceClient(upstream.url, attempts=3)
        try:
            response = await client.request("POST", "/flaky", json={})
        finally:
            await client.aclose()
        assert response.status_code == 503
        assert len(upstream.calls) == 1

    async def test_post_with_idempotency_key_is_retried(self, upstream: Upstream) -> None:
        upstream.fail_first = 1
        client = ServiceClient(upstream.url, attempts=3)
        try:
            response = await client.request(
                "POST", "/flaky", json={}, headers={"Idempotency-Key": "k1"}
            )
        finally:
            await client.aclose()
        assert response.status_code == 200
        assert len(upstream.calls) == 2


class TestPropagation:
    async def test_request_id_and_token_travel(self, upstream: Upstream) -> None:
        client = ServiceClient(upstream.url)
        token = _request_id.set("rid-7")
        try:
            await client.json("GET", "/flaky", token="tok-1")
        finally:
            _request_id.reset(token)
            await client.aclose()
        assert upstream.calls[0]["request_id"] == "rid-7"
        assert upstream.calls[0]["authorization"] == "Bearer tok-1"


class TestFailures:
    async def test_upstream_problem_keeps_status_and_body(self, upstream: Upstream) -> None:
        client = ServiceClient(upstream.url)
        try:
            with pytest.raises(UpstreamProblem) as caught:
                await client.json("GET", "/refuse")
        finally:
            await client.aclose()
        assert caught.value.upstream_status == 409
        assert caught.value.upstream_body["code"] == "locked"

    async def test_unreachable_is_upstream_unavailable(self) -> None:
        client = ServiceClient(f"http://127.0.0.1:{free_port()}", attempts=2)
        try:
            with pytest.raises(UpstreamUnavailable):
                await client.json("GET", "/x")
        finally:
            await client.aclose()

    async def test_timeout_is_upstream_timeout(self, upstream: Upstream) -> None:
        import httpx

        client = ServiceClient(upstream.url, timeout=httpx.Timeout(0.3), attempts=1)
        try:
            with pytest.raises(UpstreamTimeout):
                await client.json("GET", "/slow")
        finally:
            await client.aclose()
