"""The send worker is woken when a send is queued (after the commit, so it finds the row) instead of
waiting out its poll interval; sends of different 利用者IDs go side by side in one worker, one
telegram in flight per 利用者ID still; a send queued where no worker hears it is found by polling."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy.ext.asyncio import AsyncEngine

from naccs_bridge.app import create_app
from naccs_bridge.clients.identity import StaticCredentials
from naccs_bridge.clients.naccs import HttpNaccsChannel
from naccs_bridge.clients.trades import StaticTradeAccess
from naccs_bridge.config import Settings
from shared.testing.tokens import TestIssuer

from .conftest import NACCS_PASSWORD, OTHER_NACCS_USER_ID, FakeClock, Party, make_queue
from .helpers import load_master, put_form, queue_send
from .test_sending import SlowChannel


@asynccontextmanager
async def bridge_with_worker(
    database_url: str,
    issuer: TestIssuer,
    channel: object,
    credentials: StaticCredentials,
    trades: StaticTradeAccess,
    clock: FakeClock,
    poll_interval_s: float,
) -> AsyncIterator[httpx.AsyncClient]:
    """The bridge as it runs in production: its send queue worker runs in the app's process."""
    settings = Settings(
        database_url=database_url,
        run_workers=True,
        worker_poll_interval_s=poll_interval_s,
        log_json=False,
        access_log=False,
    )
    app = create_app(
        settings,
        token_verifier=issuer.verifier(),
        channel=channel,  # type: ignore[arg-type]
        credentials=credentials,
        trades=trades,
        clock=clock,
    )
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bridge") as client:
            yield client


async def until(check: Callable[[], Any], timeout_s: float) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def stored(client: httpx.AsyncClient, party: Party, send_id: str) -> bool:
    response = await client.get(f"/api/v1/naccs/sends/{send_id}", headers=party.headers)
    return bool(response.json()["status"] == "result_stored")


async def test_a_queued_send_wakes_the_worker_instead_of_waiting_for_its_poll(
    database_url: str,
    token_issuer: TestIssuer,
    channel: HttpNaccsChannel,
    credentials: StaticCredentials,
    trades: StaticTradeAccess,
    clock: FakeClock,
    forwarder: Party,
    trade_id: uuid.UUID,
) -> None:
    async with bridge_with_worker(
        database_url, token_issuer, channel, credentials, trades, clock, poll_interval_s=600
    ) as bridge:
        await load_master(bridge, forwarder.headers)
        await put_form(bridge, forwarder.headers, trade_id, "ECR")
        await asyncio.sleep(0.2)  # the worker's first pass is over: it sleeps for 600 s
        send = await queue_send(bridge, forwarder.headers, trade_id, "ECR")
        # Sent and applied while the 600 s poll interval is nowhere near over.
        assert await until(lambda: stored(bridge, forwarder, send["id"]), 30)


async def test_a_send_queued_by_another_replica_is_found_by_polling(
    bridge: httpx.AsyncClient,
    database_url: str,
    token_issuer: TestIssuer,
    channel: HttpNaccsChannel,
    credentials: StaticCredentials,
    trades: StaticTradeAccess,
    clock: FakeClock,
    forwarder: Party,
    trade_id: uuid.UUID,
) -> None:
    """``bridge`` runs no worker, so nobody is woken: the other process's poll still sends it."""
    async with bridge_with_worker(
        database_url, token_issuer, channel, credentials, trades, clock, poll_interval_s=0.2
    ) as worker_replica:
        await load_master(bridge, forwarder.headers)
        await put_form(bridge, forwarder.headers, trade_id, "ECR")
        send = await queue_send(bridge, forwarder.headers, trade_id, "ECR")
        assert await until(lambda: stored(worker_replica, forwarder, send["id"]), 30)


async def test_one_worker_sends_for_different_naccs_users_side_by_side(
    bridge: httpx.AsyncClient,
    forwarder: Party,
    token_issuer: TestIssuer,
    trades: StaticTradeAccess,
    engine: AsyncEngine,
    channel: HttpNaccsChannel,
    credentials: StaticCredentials,
    clock: FakeClock,
) -> None:
    colleague = Party(token_issuer, org_id=forwarder.org_id)
    credentials.link(colleague.subject, OTHER_NACCS_USER_ID, NACCS_PASSWORD)
    await load_master(bridge, forwarder.headers)
    sends = []
    for sender in (forwarder, forwarder, forwarder, colleague, colleague, colleague):
        trade = uuid.uuid4()
        trades.add(trade, forwarder.org_id)
        await put_form(bridge, sender.headers, trade, "ECR")
        sends.append((sender, await queue_send(bridge, sender.headers, trade, "ECR")))

    slow = SlowChannel(channel)
    assert await make_queue(engine, slow, credentials, clock).run_once() == 6

    assert slow.max_in_flight == {"MNT01001": 1, "MNT02001": 1}  # NACCS's rule holds
    assert slow.max_total == 2  # but one worker did not serialise the two 利用者IDs
    for sender, send in sends:
        assert await stored(bridge, sender, send["id"])
