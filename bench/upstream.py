"""The trivial upstream every proxy in the benchmark forwards to: one small JSON answer."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY = b'{"status":"ok","service":"bench-upstream"}'


async def ok(request: Request) -> Response:
    return Response(BODY, media_type="application/json")


app = Starlette(routes=[Route("/api/v1/bench/ok", ok)])
