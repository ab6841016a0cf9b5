"""Request ids, JSON logs and health endpoints.

The request-id middleware is pure ASGI (no ``BaseHTTPMiddleware``): it costs a few microseconds, keeps
streaming responses streaming, and binds the id to a context variable that logs and problem bodies read.
"""

from __future__ import annotations

import logging
import os
import random
import re
import sys
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar, Token
from typing import Any

import orjson
import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import tracing
from shared.metrics import route_label

REQUEST_ID_HEADER = "x-request-id"
_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
# W3C trace context: the trace id travels in ``traceparent`` from the gateway through every service, and
# every log line carries it, so one user action can be followed across processes.
_trace_id: ContextVar[str | None] = ContextVar("trace_id", default=None)
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
# A caller-supplied id is echoed only if it is short and plain, so logs cannot be forged through it.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Request, trace and span ids need to be unique, not secret: a per-process generator seeded from the OS
# costs a third of ``os.urandom(16).hex()`` (a syscall), and these are made on every request.
# Reseeded in a forked child, so two workers never share a sequence.
_ids = random.Random(os.urandom(32))  # noqa: S311
os.register_at_fork(after_in_child=lambda: _ids.seed(os.urandom(32)))


def new_id(bits: int = 128) -> str:
    """A random lowercase-hex id of ``bits`` bits, never all zeros (W3C trace context forbids it)."""
    value = _ids.getrandbits(bits) or 1
    return f"{value:0{bits // 4}x}"


def current_request_id() -> str | None:
    return _request_id.get()


def current_trace_id() -> str | None:
    return _trace_id.get()


def outgoing_traceparent() -> str | None:
    """The ``traceparent`` for a call made while handling the current request.

    With tracing on, the current span (e.g. the CLIENT span of the call) is the parent; off, the
    trace id goes on with a new span id.
    """
    if tracing.tracer is not None:
        return tracing.current_traceparent()
    trace_id = _trace_id.get()
    if trace_id is None:
        return None
    return f"00-{trace_id}-{new_id(64)}-01"


def _trace_id_from(header: bytes | None) -> str:
    if header:
        match = _TRACEPARENT.match(header.decode("latin-1").strip().lower())
        if match and match.group(1) != "0" * 32:
            return match.group(1)
    return new_id()


def configure_logging(*, service: str, level: str = "INFO", json_logs: bool = True) -> None:
    """structlog to stdout: JSON lines in deployments, readable lines for a person at a terminal."""
    shared_processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_service(service),
    ]
    renderer: structlog.types.Processor
    if json_logs:
        renderer = structlog.processors.JSONRenderer(serializer=_orjson_dumps)
        shared_processors.append(structlog.processors.format_exc_info)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[*shared_processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=level.upper(), stream=sys.stdout, format="%(message)s")
    # httpx logs every request at INFO: pollers would drown the useful lines. Our own access log and
    # the callers' errors say what matters.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level.upper())))


def _orjson_dumps(obj: Any, **_: Any) -> str:
    return orjson.dumps(obj, default=str).decode()


def _add_service(service: str) -> structlog.types.Processor:
    def processor(
        _logger: Any, _name: str, event_dict: structlog.types.EventDict
    ) -> structlog.types.EventDict:
        event_dict.setdefault("service", service)
        request_id = _request_id.get()
        if request_id:
            event_dict.setdefault("request_id", request_id)
        trace_id = _trace_id.get()
        if trace_id:
            event_dict.setdefault("trace_id", trace_id)
            if tracing.tracer is not None:
                span_id = tracing.current_span_id()
                if span_id:
                    event_dict.setdefault("span_id", span_id)
        return event_dict

    return processor


RequestContext = tuple[str, "Token[str | None]", "Token[str | None]", "tracing.ServerSpan | None"]


def bind_request(scope: Scope) -> RequestContext:
    """Bind the request id (the caller's if plain, else new) and trace id to this request's context.

    With tracing on, a SERVER span is started (child of the caller's ``traceparent``) and its trace id
    is the one bound. Returns the id and what ``unbind_request`` needs. Also used by the gateway's proxy
    fast path, which answers proxied requests in front of the middleware stack
    (``gateway.proxy.EdgeProxy``).
    """
    request_id = None
    traceparent = tracestate = None
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if _SAFE_REQUEST_ID.match(candidate):
                request_id = candidate
        elif name == b"traceparent":
            traceparent = value
        elif name == b"tracestate":
            tracestate = value
    if request_id is None:
        request_id = new_id()
    scope.setdefault("state", {})["request_id"] = request_id
    if tracing.tracer is None:
        server_span = None
        trace_id = _trace_id_from(traceparent)
    else:
        server_span = tracing.start_server_span(
            scope["method"], scope["path"], traceparent, tracestate
        )
        server_span[0].set_attribute("minato.request_id", request_id)
        trace_id = tracing.trace_id_of(server_span)
    return request_id, _request_id.set(request_id), _trace_id.set(trace_id), server_span


def unbind_request(context: RequestContext, scope: Scope | None = None, status: int = 0) -> None:
    """Undo ``bind_request``; ends the request's span (if traced) with the answer's ``status``."""
    if context[3] is not None:
        tracing.end_server_span(
            context[3],
            method=scope["method"] if scope else "HTTP",
            route=route_label(scope) if scope else "unmatched",
            status=status,
        )
    _request_id.reset(context[1])
    _trace_id.reset(context[2])


class RequestIdMiddleware:
    """Takes ``X-Request-ID`` from the caller (or makes one), echoes it, and writes an access log line."""

    def __init__(self, app: ASGIApp, *, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log
        self.log = structlog.get_logger("access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        context = bind_request(scope)
        request_id = context[0]
        started = time.perf_counter()
        status_holder = [0]
        header_value = request_id.encode("latin-1")

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                # A new list (the app may reuse its own), without any id the app set.
                headers = [
                    (k, v) for (k, v) in message.get("headers", ()) if k.lower() != b"x-request-id"
                ]
                headers.append((b"x-request-id", header_value))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Last line of defence, inside the request's context so the answer carries its id. The
            # error handlers normally answer first; this catches errors raised after them, such as
            # a failed commit in the unit of work.
            self.log.exception("unhandled_error", path=scope["path"])
            if status_holder[0] == 0:
                await send_internal_error(send_with_id, scope["path"], request_id)
        finally:
            if self.access_log:
                self.log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status_holder[0],
                    duration_ms=round((time.perf_counter() - started) * 1000, 3),
                )
            unbind_request(context, scope, status_holder[0])


ReadinessCheck = Callable[[], Awaitable[None]]


async def send_internal_error(send: Send, path: str, request_id: str) -> None:
    body = orjson.dumps(
        {
            "type": "https://minato.dev/problems/internal_error",
            "title": "Internal server error",
            "status": 500,
            "code": "internal_error",
            "instance": path,
            "request_id": request_id,
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
