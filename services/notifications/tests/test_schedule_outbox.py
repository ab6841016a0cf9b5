"""A Colins-style schedule push writes vessel_schedule.updated to the outbox in its own transaction;
the relay delivers it to trades' /internal/events (here: a real HTTP receiver)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from notifications.db.models import outbox_table
from notifications.domain import partners
from shared.devstack.stack import free_port
from shared.outbox import OutboxRelay, http_sink

Live = Any


@asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """A real HTTP server on 127.0.0.1 (bounded start-up)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


URL = "/api/v1/notifications/partners/colins/vessel-schedules"


def schedule(message_id: str) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "vessel_name": "MINATO MARU",
        "vessel_call_sign": "7JXX",
        "voyage": "025E",
        "port": "JPTYO",
        "etd": "2026-12-03T17:00:00+09:00",
    }


async def count(live: Live, sql: str) -> int:
    async with live.app.state.engine.connect() as conn:
        return int((await conn.execute(text(sql))).scalar_one())


class TestScheduleOutbox:
    async def test_the_push_and_its_outbox_row_commit_together(
        self, live: Live, tokens: Any
    ) -> None:
        headers = tokens.partner(uuid.uuid4(), "schedules:push")
        first = await live.client.post(URL, json=schedule("COL-A"), headers=headers)
        assert first.status_code == 202, first.text
        async with live.app.state.engine.connect() as conn:
            rows = (
                await conn.execute(text("SELECT topic, version, payload FROM outbox_message"))
            ).all()
        assert [(r.topic, r.version) for r in rows] == [("vessel_schedule.updated", 1)]
        payload = rows[0].payload
        assert payload["vessel_call_sign"] == "7JXX"
        assert payload["voyage"] == "025E"
        assert payload["port"] == "JPTYO"
        assert payload["etd"] == "2026-12-03T17:00:00+09:00"
        assert payload["partner"] == "colins"
        assert payload["received_at"]
        # A repeat is not a new event; the same id with other content is refused and adds nothing.
        assert (
            await live.client.post(URL, json=schedule("COL-A"), headers=headers)
        ).status_code == 200
        changed = {**schedule("COL-A"), "voyage": "026E"}
        assert (await live.client.post(URL, json=changed, headers=headers)).status_code == 422
        assert await count(live, "SELECT count(*) FROM outbox_message") == 1

    async def test_a_failure_after_recording_rolls_both_back(
        self, live: Live, tokens: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        async def broken(*_: Any, **__: Any) -> None:
            raise RuntimeError("outbox unavailable")

        monkeypatch.setattr(partners.outbox, "add_event", broken)
        headers = tokens.partner(uuid.uuid4(), "schedules:push")
        try:
            response = await live.client.post(URL, json=schedule("COL-B"), headers=headers)
            assert response.status_code == 500
        except RuntimeError:
            pass
        assert await count(live, "SELECT count(*) FROM outbox_message") == 0
        assert (
            await count(
                live, "SELECT count(*) FROM inbound_messages WHERE partner_message_id = 'COL-B'"
            )
            == 0
        )

    async def test_the_relay_delivers_to_a_real_http_receiver(
        self, live: Live, tokens: Any
    ) -> None:
        received: list[dict[str, Any]] = []
        authorizations: list[str | None] = []

        async def events(request: Request) -> JSONResponse:
            received.append(await request.json())
            authorizations.append(request.headers.get("authorization"))
            return JSONResponse({"recorded": True}, status_code=201)

        receiver = Starlette(routes=[Route("/internal/events", events, methods=["POST"])])
        headers = tokens.partner(uuid.uuid4(), "schedules:push")
        assert (
            await live.client.post(URL, json=schedule("COL-C"), headers=headers)
        ).status_code == 202
        async with serve(receiver) as base:
            async with httpx.AsyncClient(timeout=5) as client:

                async def token() -> str:
                    return "svc-token"

                relay = OutboxRelay(
                    live.app.state.engine,
                    table=outbox_table,
                    sink=http_sink(client, base + "/internal/events", token_provider=token),
                    source="notifications",
                )
                assert await relay.drain_once() == 1
                assert await relay.drain_once() == 0
        assert len(received) == 1
        event = received[0]
        assert event["type"] == "vessel_schedule.updated"
        assert event["source"] == "notifications"
        assert event["trade_id"] is None
        assert event["data"]["voyage"] == "025E"
        assert authorizations == ["Bearer svc-token"]
        assert (
            await count(live, "SELECT count(*) FROM outbox_message WHERE delivered_at IS NULL") == 0
        )
