"""Traces in process: a request through one app that queries its database and calls a second app over
``ServiceClient`` is one trace, parented hop by hop; off, nothing is recorded and the caller's trace id
still reaches the logs. (``tests/e2e/test_tracing_e2e.py`` checks the same across real processes.)"""

from __future__ import annotations

import io
import json
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import APIRouter, FastAPI, Request
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from shared import tracing
from shared.db import SessionDep, to_async_url
from shared.http import ServiceClient
from shared.outbox import OutboxRelay, add_event, http_sink, make_outbox_table
from shared.service import create_service_app
from shared.settings import ServiceSettings

CALLER_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{CALLER_TRACE_ID}-{CALLER_SPAN_ID}-01"


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracing.configure_tracing(
        service="test", endpoint=None, processor=SimpleSpanProcessor(exporter)
    )
    yield exporter
    tracing.shutdown_tracing()


def downstream_app() -> FastAPI:
    router = APIRouter()

    @router.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    return create_service_app(
        ServiceSettings(service_name="downstream"),
        title="downstream",
        description="downstream",
        routers=[router],
        verify_tokens=False,
    )


def upstream_app(database_url: str, downstream: FastAPI) -> FastAPI:
    router = APIRouter()

    @router.get("/orders/{order_id}")
    async def order(order_id: str, request: Request, session: SessionDep) -> dict[str, object]:
        answer = await session.scalar(text("SELECT 41 + 1"))
        client: ServiceClient = request.app.state.downstream
        thing = await client.json("GET", f"/things/{order_id}")
        return {"answer": answer, "thing": thing}

    app = create_service_app(
        ServiceSettings(service_name="upstream", database_url=database_url),
        title="upstream",
        description="upstream",
        routers=[router],
        verify_tokens=False,
    )
    app.state.downstream = ServiceClient(
        "http://downstream.test", transport=httpx.ASGITransport(app=downstream)
    )
    return app


@pytest.fixture
def log_stream(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """Where the apps' JSON log lines go: their lifespan binds ``sys.stdout`` when it starts."""
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stdout", stream)
    return stream


@pytest.fixture
async def client(
    shared_database_url: str, log_stream: io.StringIO
) -> AsyncIterator[httpx.AsyncClient]:
    downstream = downstream_app()
    upstream = upstream_app(shared_database_url, downstream)
    async with LifespanManager(downstream), LifespanManager(upstream) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client
        await upstream.state.downstream.aclose()


def hex_trace(span: ReadableSpan) -> str:
    assert span.context is not None
    return f"{span.context.trace_id:032x}"


def request_lines(output: str) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == "request"]


async def test_one_trace_spans_the_request_its_queries_and_the_call_it_makes(
    exporter: InMemorySpanExporter,
    client: httpx.AsyncClient,
    log_stream: io.StringIO,
) -> None:
    response = await client.get("/orders/o-7", headers={"traceparent": TRACEPARENT})
    assert response.status_code == 200
    assert response.json() == {"answer": 42, "thing": {"id": "o-7"}}

    spans = exporter.get_finished_spans()
    by_name = {span.name: span for span in spans}
    server = by_name["GET /orders/{order_id}"]
    call = by_name["GET downstream.test"]
    callee = by_name["GET /things/{thing_id}"]
    sql = [span for span in spans if span.name.startswith("SELECT ")]
    assert {hex_trace(span) for span in spans} == {CALLER_TRACE_ID}

    assert server.kind is SpanKind.SERVER
    assert server.parent is not None
    assert f"{server.parent.span_id:016x}" == CALLER_SPAN_ID
    assert server.attributes is not None
    assert server.attributes["http.response.status_code"] == 200
    assert call.kind is SpanKind.CLIENT
    assert call.parent == server.context
    # The callee saw the call's span id in ``traceparent`` (a remote parent).
    assert call.context is not None
    assert callee.parent is not None
    assert callee.kind is SpanKind.SERVER
    assert callee.parent.span_id == call.context.span_id
    assert sql
    assert all(span.parent == server.context for span in sql)
    assert sql[0].attributes is not None
    assert sql[0].attributes["db.query.text"] == "SELECT 41 + 1"

    # Each app's access line carries the trace id and its own span (one process: one ``service``).
    lines = request_lines(log_stream.getvalue())
    assert server.context is not None
    assert callee.context is not None
    assert {(line["path"], line["trace_id"], line["span_id"]) for line in lines} == {
        ("/orders/o-7", CALLER_TRACE_ID, f"{server.context.span_id:016x}"),
        ("/things/o-7", CALLER_TRACE_ID, f"{callee.context.span_id:016x}"),
    }


async def test_a_request_without_traceparent_starts_a_trace(
    exporter: InMemorySpanExporter, client: httpx.AsyncClient
) -> None:
    response = await client.get("/orders/o-8")
    assert response.status_code == 200
    spans = exporter.get_finished_spans()
    server = next(span for span in spans if span.name == "GET /orders/{order_id}")
    assert server.parent is None
    assert len({hex_trace(span) for span in spans}) == 1


async def test_a_failing_call_marks_its_spans_as_errors(
    exporter: InMemorySpanExporter, client: httpx.AsyncClient
) -> None:
    response = await client.get("/missing")
    assert response.status_code == 404
    (server,) = exporter.get_finished_spans()
    assert server.name == "GET unmatched"
    assert server.attributes is not None
    assert server.attributes["http.response.status_code"] == 404


async def test_off_by_default_records_nothing_and_logs_the_callers_trace_id(
    client: httpx.AsyncClient, log_stream: io.StringIO
) -> None:
    assert tracing.tracer is None
    response = await client.get("/orders/o-9", headers={"traceparent": TRACEPARENT})
    assert response.status_code == 200
    lines = request_lines(log_stream.getvalue())
    assert {line["trace_id"] for line in lines} == {CALLER_TRACE_ID}
    assert all("span_id" not in line for line in lines)


def test_an_otlp_endpoint_turns_tracing_on_and_the_sdk_switches_turn_it_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", *tracing.OTLP_ENDPOINT_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    assert tracing.otlp_endpoint_from_env(None) is None
    assert tracing.otlp_endpoint_from_env("http://collector:4318") == "http://collector:4318"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env-collector:4318")
    assert tracing.otlp_endpoint_from_env(None) == "http://env-collector:4318"
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert tracing.otlp_endpoint_from_env("http://collector:4318") is None
    monkeypatch.delenv("OTEL_TRACES_EXPORTER")
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert tracing.otlp_endpoint_from_env(None) is None


async def test_an_outbox_delivery_is_a_trace_the_receiver_joins(
    exporter: InMemorySpanExporter, shared_database_url: str
) -> None:
    receiver = downstream_app()
    received: list[str] = []

    @receiver.post("/internal/events")
    async def intake(request: Request) -> dict[str, bool]:
        received.append((await request.json())["type"])
        return {"ok": True}

    engine = create_async_engine(to_async_url(shared_database_url))
    metadata = MetaData()
    table = make_outbox_table(metadata, f"outbox_traced_{uuid.uuid4().hex[:8]}")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        async with AsyncSession(engine) as session, session.begin():
            await add_event(
                session,
                table=table,
                topic="trade.created",
                version=1,
                payload={},
                trade_id=None,
                event_id=uuid.uuid4(),
                occurred_at=datetime.now(UTC),
            )
        async with (
            LifespanManager(receiver),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=receiver), base_url="http://receiver.test"
            ) as http,
        ):
            relay = OutboxRelay(
                engine,
                table=table,
                sink=http_sink(http, "http://receiver.test/internal/events"),
                source="upstream",
            )
            assert await relay.run_once() == 1
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)
        await engine.dispose()

    assert received == ["trade.created"]
    spans = {span.name: span for span in exporter.get_finished_spans()}
    delivery = spans["deliver trade.created"]
    intake_span = spans["POST /internal/events"]
    assert delivery.kind is SpanKind.CLIENT
    assert delivery.parent is None
    assert delivery.context is not None
    assert intake_span.parent is not None
    assert intake_span.parent.span_id == delivery.context.span_id
