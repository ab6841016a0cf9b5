"""What an operator sees of the outbox at ``/metrics``: the backlog and its age (read from the table at
scrape time), and the relay's delivered / failed / dead counts and delivery lag."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import MetaData, Table
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from shared.db import to_async_url
from shared.outbox import (
    DeliveryRefused,
    EventEnvelope,
    OutboxRelay,
    add_event,
    make_outbox_table,
    outbox_backlog_probe,
)
from shared.service import create_service_app
from shared.settings import ServiceSettings
from shared.testing.plugin import asgi_client


@pytest.fixture
async def engine(shared_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(to_async_url(shared_database_url))
    yield engine
    await engine.dispose()


@pytest.fixture
async def table(engine: AsyncEngine) -> AsyncIterator[Table]:
    metadata = MetaData()
    table = make_outbox_table(metadata, f"outbox_{uuid.uuid4().hex[:10]}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield table
    async with engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)


@pytest.fixture
def service() -> str:
    # Its own label per test: counters are process-wide.
    return f"svc_{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def client(
    shared_database_url: str, table: Table, service: str
) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_service_app(
        ServiceSettings(service_name=service, database_url=shared_database_url),
        title="t",
        description="t",
        verify_tokens=False,
        metrics_probes=[outbox_backlog_probe(table)],
    )
    async for client in asgi_client(app):
        yield client


async def scrape(client: httpx.AsyncClient, service: str) -> dict[tuple[str, str], float]:
    """(sample name, outcome label or "") -> value, for this service's samples."""
    response = await client.get("/metrics")
    assert response.status_code == 200
    samples: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.labels.get("service") == service:
                key = sample.labels.get("outcome") or sample.labels.get("probe", "")
                samples[(sample.name, key)] = sample.value
    return samples


async def write_event(engine: AsyncEngine, table: Table, occurred_at: datetime) -> None:
    async with AsyncSession(engine) as session, session.begin():
        await add_event(
            session,
            table=table,
            topic="trade.created",
            version=1,
            payload={},
            trade_id=None,
            event_id=uuid.uuid4(),
            occurred_at=occurred_at,
        )


async def test_backlog_and_relay_outcomes_show_and_move(
    client: httpx.AsyncClient, engine: AsyncEngine, table: Table, service: str
) -> None:
    before = await scrape(client, service)
    assert before[("minato_outbox_pending_events", "")] == 0
    assert before[("minato_outbox_oldest_pending_age_seconds", "")] == 0
    assert before[("minato_metrics_probe_up", "outbox_backlog")] == 1

    now = datetime.now(UTC)
    await write_event(engine, table, now - timedelta(minutes=10))
    await write_event(engine, table, now - timedelta(seconds=5))
    backlog = await scrape(client, service)
    assert backlog[("minato_outbox_pending_events", "")] == 2
    assert 595 < backlog[("minato_outbox_oldest_pending_age_seconds", "")] < 900

    # The receiver takes the newer event and refuses the older one, which is then given up on.
    async def sink(event: EventEnvelope) -> None:
        if event.occurred_at < now - timedelta(minutes=1):
            raise DeliveryRefused("receiver answered 500")

    relay = OutboxRelay(engine, table=table, sink=sink, source=service, max_attempts=1)
    assert await relay.run_once() == 1

    after = await scrape(client, service)
    assert after[("minato_outbox_pending_events", "")] == 0  # one delivered, one dead
    assert after[("minato_outbox_events_total", "delivered")] == 1
    assert after[("minato_outbox_events_total", "dead")] == 1
    assert after[("minato_outbox_delivery_lag_seconds_count", "")] == 1
    assert 5 <= after[("minato_outbox_delivery_lag_seconds_sum", "")] < 300


async def test_a_failing_probe_says_so_and_the_scrape_still_answers(
    client: httpx.AsyncClient, engine: AsyncEngine, table: Table, service: str
) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(table.metadata.drop_all)
    samples = await scrape(client, service)
    assert samples[("minato_metrics_probe_up", "outbox_backlog")] == 0
