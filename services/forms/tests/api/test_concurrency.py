"""Real commits (each request its own transaction, its own connection): concurrent requests, where the
trade's root-document lock and the ETag precondition leave exactly one winner, and the outbox relay
delivering the committed events."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import NamedTuple

import httpx
import pytest
from asgi_lifespan import LifespanManager

from forms.app import create_app
from forms.clients.service_token import StaticToken
from shared.outbox import EventEnvelope, fan_out, http_sink
from shared.testing.plugin import asgi_client
from shared.testing.tokens import TestIssuer
from trades.app import create_app as create_trades_app
from trades.runtime import Runtime as TradesRuntime

from .conftest import (
    TRADE_BODY,
    FakeClock,
    Org,
    Trade,
    complete_si,
    forms_settings,
    join_trade,
    trades_settings,
    unique_ids,
)


class Live(NamedTuple):
    client: httpx.AsyncClient  # the forms app
    trade: Trade
    trades: httpx.AsyncClient  # the trades app


@pytest.fixture
def delivered() -> list[EventEnvelope]:
    return []


@pytest.fixture
async def committing(
    database_url: str,
    trades_database_url: str,
    token_issuer: TestIssuer,
    service_token: StaticToken,
    delivered: list[EventEnvelope],
) -> AsyncIterator[Live]:
    """Both apps with their own connection pools and real commits (no test transaction)."""
    trades_app = create_trades_app(
        trades_settings(trades_database_url),
        token_verifier=token_issuer.verifier(),
        runtime=TradesRuntime(clock=FakeClock(), new_id=unique_ids()),
    )
    async with LifespanManager(trades_app) as trades_manager:
        transport = httpx.ASGITransport(app=trades_manager.app)

        async def collect(event: EventEnvelope) -> None:
            delivered.append(event)

        # What the app builds from its settings: each event to every target, here the real trades
        # service (its timeline) over HTTP in process, and a list standing in for notifications.
        events_http = httpx.AsyncClient(transport=transport, base_url="http://trades.internal")
        sink = fan_out(
            collect,
            http_sink(
                events_http,
                "http://trades.internal/internal/events",
                token_provider=service_token,
            ),
        )
        app = create_app(
            forms_settings(database_url).model_copy(update={"outbox_poll_interval_s": 0.1}),
            token_verifier=token_issuer.verifier(),
            trades_transport=transport,
            service_token=service_token,
            event_sink=sink,
            id_factory=unique_ids(),
        )
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as trades:
            shipper = Org(token_issuer, "shipper", "shipper")
            forwarder = Org(token_issuer, "forwarder", "forwarder")
            created = await trades.post("/api/v1/trades", json=TRADE_BODY, headers=shipper.headers)
            assert created.status_code == 201, created.text
            trade_id = created.json()["id"]
            await join_trade(trades, trade_id, shipper, forwarder)
        trade = Trade(trade_id, shipper, forwarder, forwarder, Org(token_issuer, "x", "shipper"))
        async for client in asgi_client(app):
            yield Live(client, trade, events_http)
        await events_http.aclose()


async def test_concurrent_edits_from_one_read_one_wins_the_rest_get_412(
    committing: Live,
) -> None:
    client, trade, _trades = committing
    created = await client.post(
        trade.documents,
        json={"form_type": "UL040", "values": complete_si()},
        headers=trade.shipper.headers,
    )
    assert created.status_code == 201, created.text
    form = created.json()

    async def edit(n: int) -> int:
        response = await client.put(
            f"/api/v1/forms/documents/{form['id']}",
            json={"values": complete_si() | {"bookingNo": f"BKG-{n}"}},
            headers={**trade.shipper.headers, "If-Match": form["etag"]},
        )
        return response.status_code

    statuses = Counter(await asyncio.gather(*(edit(n) for n in range(8))))
    assert statuses == {200: 1, 412: 7}
    versions = await client.get(
        f"/api/v1/forms/documents/{form['id']}/versions", headers=trade.shipper.headers
    )
    assert [v["version"] for v in versions.json()] == [1, 2]


async def test_concurrent_creates_of_one_form_make_one_form(
    committing: Live,
) -> None:
    client, trade, _trades = committing

    async def create(org: Org) -> httpx.Response:
        return await client.post(
            trade.documents, json={"form_type": "UL090", "custom_id": "C1"}, headers=org.headers
        )

    responses = await asyncio.gather(
        *(create(trade.shipper if n % 2 else trade.forwarder) for n in range(6))
    )
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 200, 201]
    assert len({r.json()["id"] for r in responses}) == 1


async def test_the_relay_delivers_committed_events_to_every_target(
    committing: Live,
    delivered: list[EventEnvelope],
) -> None:
    client, trade, trades = committing
    created = await client.post(
        trade.documents,
        json={"form_type": "UL040", "values": complete_si()},
        headers=trade.shipper.headers,
    )
    sent = await client.post(
        f"/api/v1/forms/documents/{created.json()['id']}/send",
        headers={**trade.shipper.headers, "If-Match": created.headers["etag"]},
    )
    assert sent.status_code == 200, sent.text

    def ours() -> list[EventEnvelope]:
        return [e for e in delivered if str(e.trade_id) == trade.id]

    for _ in range(100):
        if len(ours()) >= 4:
            break
        await asyncio.sleep(0.05)
    topics = [e.type for e in ours()]
    assert topics[0] == "form.created"
    assert set(topics) == {
        "form.created",
        "shared_items.updated",
        "form.sent",
        "shared_items.locked",
    }
    assert all(e.source == "forms" and e.version == 1 for e in ours())

    timeline = await trades.get(
        f"/api/v1/trades/{trade.id}/timeline", headers=trade.shipper.headers
    )
    assert timeline.status_code == 200, timeline.text
    summaries = [entry["summary"] for entry in timeline.json()["items"]]
    assert "Form UL040 created" in summaries
    assert "Form UL040 sent" in summaries
    sent = next(e for e in timeline.json()["items"] if e["kind"] == "form.sent")
    assert sent["source"] == "forms"
    assert sent["actor_org_id"] == trade.shipper.id


async def test_concurrent_edits_of_one_shared_item_through_two_forms_lose_nothing(
    committing: Live,
) -> None:
    """The S/I and the B/L both show the consignee: edited at once through each, one wins and the
    other is told to re-read (412), never silently overwritten."""
    client, trade, _trades = committing
    si = await client.post(
        trade.documents,
        json={"form_type": "UL040", "values": complete_si()},
        headers=trade.shipper.headers,
    )
    bl = await client.post(
        trade.documents, json={"form_type": "UL150"}, headers=trade.shipper.headers
    )
    si_read = await client.get(
        f"/api/v1/forms/documents/{si.json()['id']}", headers=trade.shipper.headers
    )
    bl_read = await client.get(
        f"/api/v1/forms/documents/{bl.json()['id']}", headers=trade.shipper.headers
    )

    async def rename(read: httpx.Response, name: str) -> int:
        values = read.json()["values"] | {"consignee": {"name": name}}
        response = await client.put(
            f"/api/v1/forms/documents/{read.json()['id']}",
            json={"values": values},
            headers={**trade.shipper.headers, "If-Match": read.headers["etag"]},
        )
        return response.status_code

    statuses = await asyncio.gather(rename(si_read, "From S/I"), rename(bl_read, "From B/L"))
    assert sorted(statuses) == [200, 412]
    winner = "From S/I" if statuses[0] == 200 else "From B/L"
    for form in (si, bl):
        shown = await client.get(
            f"/api/v1/forms/documents/{form.json()['id']}", headers=trade.shipper.headers
        )
        assert shown.json()["values"]["consignee"] == {"name": winner}
