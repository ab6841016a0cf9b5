"""A Colins-style schedule push moves the ETD of the trades on that vessel and voyage: partner →
gateway → notifications (recorded + outbox, one transaction) → relay → trades' intake (ETD, timeline,
trade.updated) → trades' relay → notifications' event log."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from shared.devstack.stack import Stack

EVENTS = "/api/v1/notifications/events"


def wait_for(predicate: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_a_schedule_push_moves_the_trades_etd(
    gateway: httpx.Client, stack: Stack, sign: Callable[..., str]
) -> None:
    org = str(uuid.uuid4())
    user = {"Authorization": f"Bearer {sign(org=org, roles=['org_admin'])}"}
    call_sign = "7J" + uuid.uuid4().hex[:5].upper()
    created = gateway.post(
        "/api/v1/trades",
        json={
            "direction": "export",
            "owner_role": "shipper",
            "owner_display_name": "港商事",
            "vessel": {"call_sign": call_sign, "name": f"MINATO {call_sign}"},
            "voyage_no": "025E",
            "port_of_loading": "JPTYO",
            "port_of_discharge": "USLAX",
            "etd": "2026-12-01",
            "eta": "2026-12-14",
        },
        headers=user,
    )
    assert created.status_code == 201, created.text
    trade_id = created.json()["id"]

    partner = {
        "Authorization": "Bearer "
        + sign(kind="client", org=org, scope="schedules:push", sub="colins-client")
    }
    pushed = gateway.post(
        "/api/v1/notifications/partners/colins/vessel-schedules",
        json={
            "message_id": f"COL-{uuid.uuid4()}",
            "vessel_name": f"MINATO {call_sign}",
            "vessel_call_sign": call_sign,
            "voyage": "025E",
            "port": "JPTYO",
            "etd": "2026-12-03T17:00:00+09:00",
        },
        headers=partner,
    )
    assert pushed.status_code == 202, pushed.text

    def moved() -> dict[str, Any] | None:
        trade: dict[str, Any] = gateway.get(f"/api/v1/trades/{trade_id}", headers=user).json()
        return trade if trade.get("etd") == "2026-12-03" else None

    try:
        trade = wait_for(moved, 30, "the new ETD on the trade")
    except AssertionError as exc:
        logs = {name: stack.processes[name].log_tail(30) for name in ("trades", "notifications")}
        raise AssertionError(f"{exc}\n{logs}") from None
    assert trade["eta"] == "2026-12-14"

    timeline = gateway.get(f"/api/v1/trades/{trade_id}/timeline", headers=user)
    assert timeline.status_code == 200, timeline.text
    [entry] = [e for e in timeline.json()["items"] if e["kind"] == "vessel_schedule.updated"]
    assert entry["before"] == {"etd": "2026-12-01"}
    assert entry["after"] == {"etd": "2026-12-03"}
    assert entry["source"] == "notifications"

    def logged() -> list[Any]:
        response = gateway.get(EVENTS, params={"trade_id": trade_id}, headers=user)
        return [
            e
            for e in response.json().get("items", [])
            if e["type"] == "trade.updated" and "etd" in e["data"].get("changed", {})
        ]

    [event] = wait_for(logged, 30, "trade.updated in notifications' event log")
    assert event["data"]["changed"]["etd"] == {"before": "2026-12-01", "after": "2026-12-03"}
