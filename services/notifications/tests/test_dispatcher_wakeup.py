"""The dispatcher's loop is woken by new work (NOTIFY from the triggers of notifications0006) instead of
waiting out its poll interval, and polling still delivers everything when no notification arrives."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text

from notifications.domain.delivery import DISPATCH_CHANNEL, Dispatcher

from .test_webhooks import create_endpoint, publish


@asynccontextmanager
async def running(dispatcher: Dispatcher) -> AsyncIterator[asyncio.Task[None]]:
    """``Dispatcher.run`` as the app runs it, stopped (and awaited) at the end."""
    task = asyncio.create_task(dispatcher.run())
    try:
        yield task
    finally:
        dispatcher.stop()
        await asyncio.wait_for(task, timeout=10)


async def until(predicate: Callable[[], bool], timeout_s: float) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def published_and_signed(
    live: Any, tokens: Any, trades: Any, receiver: Any, make_envelope: Callable[..., Any]
) -> str:
    org = uuid.uuid4()
    trade = trades.add_trade(org)
    endpoint = await create_endpoint(live, tokens, org, receiver.url)
    receiver.secrets = [endpoint["secret"]]
    body = make_envelope("trade.updated", trade_id=trade)
    await publish(live, tokens, body)
    return str(body["id"])


class TestWokenByNewWork:
    # A poll interval far longer than any wait below: only a wake-up can deliver in time.
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"dispatcher_poll_interval_s": 600.0}

    async def test_an_idle_dispatcher_delivers_a_new_event_without_waiting_for_its_poll(
        self, live: Any, tokens: Any, trades: Any, receiver: Any, make_envelope: Any
    ) -> None:
        dispatcher = live.dispatcher
        async with running(dispatcher):
            # LISTENing before the first pass: a NOTIFY from here on is never slept through.
            assert await until(lambda: dispatcher.listen_pid is not None, 10)
            await asyncio.sleep(0.2)  # let the first (empty) pass end: the loop is now asleep
            event_id = await published_and_signed(live, tokens, trades, receiver, make_envelope)
            # Delivered while the 600 s poll interval is nowhere near over.
            assert await until(lambda: event_id in receiver.dedupe, 30)

    async def test_every_new_delivery_row_notifies_the_dispatch_channel(
        self, live: Any, tokens: Any, trades: Any, receiver: Any, make_envelope: Any
    ) -> None:
        """The trigger itself, seen by a listener on another connection (another replica)."""
        url = live.app.state.engine.url.set(drivername="postgresql")
        conn = await asyncpg.connect(url.render_as_string(hide_password=False))
        heard: list[str] = []

        def on_notify(*args: Any) -> None:
            heard.append(str(args[2]))

        try:
            await conn.add_listener(DISPATCH_CHANNEL, on_notify)
            await published_and_signed(live, tokens, trades, receiver, make_envelope)
            assert await until(lambda: bool(heard), 10)
        finally:
            await conn.close()
        assert heard[0] == DISPATCH_CHANNEL


class TestPollingFallback:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"dispatcher_poll_interval_s": 0.2}

    async def test_a_missed_notification_is_made_up_by_the_next_poll(
        self,
        live: Any,
        tokens: Any,
        trades: Any,
        receiver: Any,
        make_envelope: Any,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        dispatcher = live.dispatcher
        opened: list[int] = []

        async def no_listener() -> None:
            opened.append(1)  # LISTEN unavailable: every notification is missed

        monkeypatch.setattr(dispatcher, "_listen", no_listener)
        async with running(dispatcher):
            assert await until(lambda: bool(opened), 10)
            event_id = await published_and_signed(live, tokens, trades, receiver, make_envelope)
            assert await until(lambda: event_id in receiver.dedupe, 30)
        assert dispatcher.listen_pid is None

    async def test_a_delivery_written_without_a_notification_is_found_by_polling(
        self, live: Any, tokens: Any, trades: Any, receiver: Any, make_envelope: Any
    ) -> None:
        """A listening, idle dispatcher; the delivery row arrives with the trigger off (as if the
        NOTIFY were lost): the next poll delivers it."""
        dispatcher, engine = live.dispatcher, live.app.state.engine
        async with running(dispatcher):
            assert await until(lambda: dispatcher.listen_pid is not None, 10)
            await asyncio.sleep(0.3)
            async with engine.begin() as conn:
                await conn.execute(text("ALTER TABLE webhook_deliveries DISABLE TRIGGER USER"))
            try:
                event_id = await published_and_signed(live, tokens, trades, receiver, make_envelope)
            finally:
                async with engine.begin() as conn:
                    await conn.execute(text("ALTER TABLE webhook_deliveries ENABLE TRIGGER USER"))
            assert await until(lambda: event_id in receiver.dedupe, 30)
        async with engine.connect() as conn:
            status = await conn.scalar(
                text("SELECT status FROM webhook_deliveries WHERE event_id = :id"),
                {"id": uuid.UUID(event_id)},
            )
        assert status == "delivered"
