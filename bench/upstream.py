"""The trivial upstream every proxy in the benchmark forwards to: one small JSON answer."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY = b'{"status":"ok","service":"bench-upstream"}'


async def ok(request: Request) -> Response:
    return Response(BODY, media_type="application/json")


app = Starlette(routes=[Route("/api/v1/bench/ok", ok)])


async def floor(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """uvicorn with nothing behind it: the least any Python HTTP hop on this server can cost.

    Pure ASGI, the same answer as ``app``, no routing: its CPU per request is the server's own share
    (parse, task, two writes), which the gateway pays before doing any proxying.
    """
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": FLOOR_HEADERS})
    await send({"type": "http.response.body", "body": BODY})


FLOOR_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(BODY)).encode()),
]
