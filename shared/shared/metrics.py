"""Prometheus metrics every process exposes at ``/metrics``: HTTP traffic per route, DB pool use.

Metrics are module-level (one registry per process); the ``service`` label tells processes apart when
several apps share a process in tests. Route labels are route *templates* (``/api/v1/trades/{id}``),
never raw paths, so cardinality stays bounded; unmatched paths are counted as ``unmatched``.

Gauges that live in the database (outbox backlog, NACCS queue depth) are read at scrape time by the
app's *probes* (``app.state.metrics_probes``): one cheap indexed query each, run before the registry is
rendered. Every replica reads the same shared rows, so any replica's answer is the truth; a probe that
fails or is slow leaves its gauges as they were and says so in ``minato_metrics_probe_up``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI, Request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The key a pure-ASGI component (e.g. the gateway proxy) sets to name the route it handled.
ROUTE_LABEL_KEY = "minato.route"

HTTP_REQUESTS = Counter(
    "minato_http_requests_total",
    "HTTP requests handled, by route template and status",
    ["service", "method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "minato_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template",
    ["service", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def route_label(scope: Scope) -> str:
    explicit = scope.get(ROUTE_LABEL_KEY)
    if explicit:
        return str(explicit)
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


# Label children are looked up once per (method, route, status) and kept: ``labels()`` costs more than
# the increment itself. Bounded, since a client picks the method.
_CHILDREN_CACHE_SIZE = 4096


class HttpMetrics:
    """Counts one service's requests; also used by the gateway's proxy fast path."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def record(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = (
                HTTP_REQUESTS.labels(self.service, method, route, str(status)),
                HTTP_DURATION.labels(self.service, method, route),
            )
            if len(self._children) < _CHILDREN_CACHE_SIZE:
                self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service
        self.metrics = HttpMetrics(service)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def send_and_record(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            self.metrics.record(
                scope["method"], route_label(scope), status[0], time.perf_counter() - started
            )


class PoolCollector(Collector):
    """Reads the SQLAlchemy pools of the registered apps at scrape time."""

    def __init__(self) -> None:
        self.pools: dict[str, Any] = {}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        checked_out = GaugeMetricFamily(
            "minato_db_pool_checked_out", "Connections in use", labels=["service"]
        )
        size = GaugeMetricFamily(
            "minato_db_pool_size", "Connections held by the pool", labels=["service"]
        )
        overflow = GaugeMetricFamily(
            "minato_db_pool_overflow", "Connections beyond the pool size", labels=["service"]
        )
        for service, pool in self.pools.items():
            checked_out.add_metric([service], pool.checkedout())
            size.add_metric([service], pool.size())
            overflow.add_metric([service], max(0, pool.overflow()))
        yield checked_out
        yield size
        yield overflow


POOLS = PoolCollector()
REGISTRY.register(POOLS)


log = structlog.get_logger("shared.metrics")

# Reads the database and sets its gauges; named for ``minato_metrics_probe_up``.
MetricsProbe = Callable[[FastAPI], Awaitable[None]]
PROBE_TIMEOUT_S = 2.0
PROBE_UP = Gauge(
    "minato_metrics_probe_up",
    "1 if the probe reading this gauge group from the database answered at the last scrape, else 0",
    ["service", "probe"],
)


def probe_name(probe: MetricsProbe) -> str:
    return str(getattr(probe, "probe_name", getattr(probe, "__name__", "probe")))


async def run_probes(app: FastAPI) -> None:
    """Run the app's probes concurrently, each bounded by ``PROBE_TIMEOUT_S``."""
    probes: list[MetricsProbe] = list(getattr(app.state, "metrics_probes", ()))
    if not probes or getattr(app.state, "engine", None) is None:
        return
    service = app.state.settings.service_name

    async def run(probe: MetricsProbe) -> None:
        name = probe_name(probe)
        try:
            await asyncio.wait_for(probe(app), PROBE_TIMEOUT_S)
        except Exception as exc:
            PROBE_UP.labels(service, name).set(0)
            log.warning("metrics_probe_failed", probe=name, error=repr(exc))
        else:
            PROBE_UP.labels(service, name).set(1)

    await asyncio.gather(*(run(probe) for probe in probes))


def metrics_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        await run_probes(request.app)
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return router
