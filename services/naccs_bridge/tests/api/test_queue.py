"""The send queue across organisations: platform operators see every organisation's sends, counted per
state with the oldest; nobody else does."""

from __future__ import annotations

import uuid

import httpx

from naccs_bridge.clients.trades import StaticTradeAccess
from naccs_bridge.sending.queue import SendQueue
from shared.testing.tokens import TestIssuer

from .conftest import FakeClock, Party
from .helpers import load_master, put_form, queue_send


def operator(issuer: TestIssuer) -> dict[str, str]:
    return issuer.auth(subject=str(uuid.uuid4()), roles=["platform_operator"])


async def test_an_operator_sees_every_organisations_sends_per_state_with_the_oldest(
    bridge: httpx.AsyncClient,
    forwarder: Party,
    trade_id: uuid.UUID,
    trades: StaticTradeAccess,
    queue: SendQueue,
    clock: FakeClock,
    token_issuer: TestIssuer,
) -> None:
    await load_master(bridge, forwarder.headers)
    await put_form(bridge, forwarder.headers, trade_id, "ECR")
    first = await queue_send(bridge, forwarder.headers, trade_id, "ECR")
    assert await queue.run_once() == 1  # the ECR is answered: result_stored
    clock.advance(90)
    second_trade = uuid.uuid4()
    trades.add(second_trade, forwarder.org_id)
    await put_form(bridge, forwarder.headers, second_trade, "ECR")
    waiting = await queue_send(bridge, forwarder.headers, second_trade, "ECR")
    clock.advance(30)

    response = await bridge.get("/api/v1/naccs/queue", headers=operator(token_issuer))
    assert response.status_code == 200, response.text
    overview = response.json()
    assert overview["depth"] == 1
    assert [(s["status"], s["count"], s["oldest_age_s"]) for s in overview["states"]] == [
        ("queued", 1, 30.0),
        ("result_stored", 1, 120.0),
    ]
    assert [(i["id"], i["org_id"]) for i in overview["items"]] == [
        (first["id"], forwarder.org_id),
        (waiting["id"], forwarder.org_id),
    ]

    only_queued = await bridge.get(
        "/api/v1/naccs/queue", params={"status": "queued"}, headers=operator(token_issuer)
    )
    assert [i["id"] for i in only_queued.json()["items"]] == [waiting["id"]]
    other_org = await bridge.get(
        "/api/v1/naccs/queue", params={"org_id": str(uuid.uuid4())}, headers=operator(token_issuer)
    )
    assert other_org.json() == {"depth": 0, "states": [], "items": []}


async def test_organisations_are_refused_the_queue_and_a_bad_state_names_the_field(
    bridge: httpx.AsyncClient, forwarder: Party, token_issuer: TestIssuer
) -> None:
    refused = await bridge.get("/api/v1/naccs/queue", headers=forwarder.headers)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    bad = await bridge.get(
        "/api/v1/naccs/queue", params={"status": "stuck"}, headers=operator(token_issuer)
    )
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["query.status.0"]
