"""OpenTelemetry traces: off unless an OTLP endpoint is configured.

On when the service's ``<PREFIX>OTLP_ENDPOINT`` setting or the standard ``OTEL_EXPORTER_OTLP_ENDPOINT`` /
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set; ``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none``
keep it off. Spans leave over OTLP/HTTP (protobuf) from a background thread (``BatchSpanProcessor``,
tuned by ``OTEL_BSP_*``); sampling follows ``OTEL_TRACES_SAMPLER`` (default: parent-based, always on);
``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` add to the resource.

The spans: one SERVER span per incoming request (``shared.observability.bind_request``, which the
gateway's edge uses too), a CLIENT span for the gateway's proxied hop and for each ``ServiceClient``
attempt, and a CLIENT span per SQL statement run inside a traced request. Context travels as W3C
``traceparent``, so gateway → service → service is one trace, and the ``trace_id`` of every log line is
the OpenTelemetry trace id.

Off, each hook is one check of the module-global ``tracer`` (``None``): the gateway's hot path pays
nothing else, and the trace id in logs still comes from the caller's ``traceparent``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

log = structlog.get_logger("shared.tracing")

# ``None`` while tracing is off: the one thing every hook checks.
tracer: Tracer | None = None
_provider: TracerProvider | None = None
_configured_for: tuple[str, str | None] | None = None
_propagator = TraceContextTextMapPropagator()

OTLP_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
# A statement's text goes on its span up to this length (parameters are never included).
_MAX_STATEMENT_CHARS = 2000


def otlp_endpoint_from_env(setting: str | None) -> str | None:
    """Where spans go: the service's setting, else the standard variables; None when tracing is off."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    if os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return None
    if setting:
        return setting
    for name in OTLP_ENDPOINT_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def configure_tracing(
    *, service: str, endpoint: str | None, processor: SpanProcessor | None = None
) -> bool:
    """Turn tracing on for this process when ``endpoint`` (or ``processor``, in tests) is given.

    ``endpoint`` is a base URL as in ``OTEL_EXPORTER_OTLP_ENDPOINT`` (``/v1/traces`` is added) unless
    it came from ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, which the exporter reads as is. Idempotent per
    (service, endpoint): several app instances of one process share the provider.
    """
    global tracer, _provider, _configured_for
    if processor is None and endpoint is None:
        return tracer is not None  # off, or already set up by the process (a test's processor)
    key = (service, endpoint)
    if processor is None and _configured_for == key:
        return True
    shutdown_tracing()
    if processor is None:
        processor = BatchSpanProcessor(_otlp_exporter(endpoint))
    attributes: dict[str, Any] = {"service.name": os.environ.get("OTEL_SERVICE_NAME") or service}
    # Not made the global provider: FastAPI's own telemetry would then add a second server span per
    # request (and the gateway's proxied requests never reach it); our hooks use ``tracer``.
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(processor)
    _provider = provider
    _configured_for = key
    tracer = provider.get_tracer("minato")
    if endpoint:
        log.info("tracing_enabled", endpoint=endpoint)
    return True


def _otlp_exporter(endpoint: str | None) -> Any:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    protocol = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get(
        "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"
    )
    if protocol.strip() != "http/protobuf":
        log.warning("otlp_protocol_unsupported", protocol=protocol, using="http/protobuf")
    if endpoint and endpoint != os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        endpoint = endpoint.rstrip("/") + "/v1/traces"
    return OTLPSpanExporter(endpoint=endpoint)


def shutdown_tracing() -> None:
    """Flush what is pending and turn tracing off (process exit, tests)."""
    global tracer, _provider, _configured_for
    provider, _provider = _provider, None
    tracer = None
    _configured_for = None
    if provider is not None:
        provider.shutdown()


def force_flush(timeout_ms: int = 5000) -> None:
    if _provider is not None:
        _provider.force_flush(timeout_ms)


# -- incoming requests ------------------------------------------------------------------------------

ServerSpan = tuple[Span, object]


def start_server_span(
    method: str, path: str, traceparent: bytes | None, tracestate: bytes | None
) -> ServerSpan:
    """A SERVER span for an incoming request, child of the caller's ``traceparent``, made current."""
    assert tracer is not None
    parent = None
    if traceparent:
        carrier = {"traceparent": traceparent.decode("latin-1")}
        if tracestate:
            carrier["tracestate"] = tracestate.decode("latin-1")
        parent = _propagator.extract(carrier)
    span = tracer.start_span(
        method,
        context=parent,
        kind=SpanKind.SERVER,
        attributes={"http.request.method": method, "url.path": path},
    )
    return span, otel_context.attach(trace.set_span_in_context(span))


def end_server_span(server_span: ServerSpan, *, method: str, route: str, status: int) -> None:
    """Name the span after the route template (known only once routed), set the status, end it."""
    span, token = server_span
    if span.is_recording():
        span.update_name(f"{method} {route}")
        span.set_attribute("http.route", route)
        if status:
            span.set_attribute("http.response.status_code", status)
        if status >= 500 or status == 0:
            span.set_status(Status(StatusCode.ERROR))
    span.end()
    otel_context.detach(token)  # type: ignore[arg-type]


def trace_id_of(server_span: ServerSpan) -> str:
    return f"{server_span[0].get_span_context().trace_id:032x}"


# -- outgoing calls ---------------------------------------------------------------------------------


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` naming the current span as the parent of a call we make."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def current_span_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return f"{context.span_id:016x}" if context.is_valid else None


@contextmanager
def client_span(name: str, attributes: dict[str, Any]) -> Iterator[Span | None]:
    """A CLIENT span around one outgoing call, current while it runs; ``None`` with tracing off.

    An exception escaping it marks the span as an error and is recorded on it.
    """
    if tracer is None:
        yield None
        return
    with tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=attributes) as span:
        yield span


def record_status(span: Span | None, status: int) -> None:
    if span is None or not span.is_recording():
        return
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))


# -- SQL statements ---------------------------------------------------------------------------------

_SPAN_KEY = "_minato_span"


def trace_statements(engine: AsyncEngine, *, database: str | None) -> None:
    """A CLIENT span per SQL statement, only inside a traced request (pollers make no root traces)."""
    attributes: dict[str, Any] = {"db.system.name": "postgresql"}
    if database:
        attributes["db.namespace"] = database

    def before(
        _conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        if tracer is None or context is None:
            return
        if not trace.get_current_span().is_recording():
            return
        operation = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "SQL"
        span = tracer.start_span(
            f"{operation} {database}" if database else operation,
            kind=SpanKind.CLIENT,
            attributes={
                **attributes,
                "db.operation.name": operation,
                "db.query.text": statement[:_MAX_STATEMENT_CHARS],
            },
        )
        setattr(context, _SPAN_KEY, span)

    def after(
        _conn: Any, _cursor: Any, _statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        span = getattr(context, _SPAN_KEY, None)
        if span is not None:
            setattr(context, _SPAN_KEY, None)
            span.end()

    def failed(exception_context: Any) -> None:
        context = exception_context.execution_context
        span = getattr(context, _SPAN_KEY, None) if context is not None else None
        if span is not None:
            setattr(context, _SPAN_KEY, None)
            span.record_exception(exception_context.original_exception)
            span.set_status(Status(StatusCode.ERROR))
            span.end()

    sync_engine = engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", before)
    event.listen(sync_engine, "after_cursor_execute", after)
    event.listen(sync_engine, "handle_error", failed)
