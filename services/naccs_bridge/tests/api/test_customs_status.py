"""Customs status from NACCS's answers, on its way back into the trade: the bridge's events carry it
(``customs_status`` of ``naccs.result`` and ``naccs.permit``), inquiries store their decoded answer
and apply a permit they reveal once. Real stand-in, real PostgreSQL, the real queue and poller."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from naccs_bridge.db.models import outbox_table
from naccs_bridge.sending.queue import SendQueue
from naccs_bridge.services.outputs import OutputPoller

from .conftest import FakeClock, Party
from .helpers import item, load_master, put_form, queue_send

EDA_ENTRIES = {"declaration_type": "E", "invoice_identification": "B", "price_class": "A"}


async def events(engine: AsyncEngine) -> list[tuple[str, dict[str, Any]]]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(outbox_table.c.topic, outbox_table.c.payload).order_by(
                    outbox_table.c.occurred_at, outbox_table.c.topic
                )
            )
        ).all()
    return [(r.topic, r.payload) for r in rows]


async def send(
    bridge: httpx.AsyncClient,
    party: Party,
    trade_id: uuid.UUID,
    queue: SendQueue,
    code: str,
    entries: dict[str, str] | None = None,
) -> dict[str, Any]:
    await put_form(bridge, party.headers, trade_id, code, entries=entries)
    queued = await queue_send(bridge, party.headers, trade_id, code)
    await queue.run_once()
    done: dict[str, Any] = (
        await bridge.get(f"/api/v1/naccs/sends/{queued['id']}", headers=party.headers)
    ).json()
    assert done["status"] == "result_stored", done
    return done


async def declared_export(
    bridge: httpx.AsyncClient, party: Party, trade_id: uuid.UUID, queue: SendQueue
) -> tuple[str, str]:
    """ECR, EDA and EDC accepted: the 輸出管理番号 and the 申告番号."""
    await load_master(bridge, party.headers)
    control_no = (await send(bridge, party, trade_id, queue, "ECR"))["result"]["reference_no"]
    eda = await send(bridge, party, trade_id, queue, "EDA", entries=EDA_ENTRIES)
    declaration_no = eda["result"]["reference_no"]
    await send(bridge, party, trade_id, queue, "EDC")
    return control_no, declaration_no


def statuses(payload: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(s["procedure"], s["number"], s["state"]) for s in payload["customs_status"]]


async def test_each_accepted_result_and_the_permit_carry_the_customs_status(
    bridge: httpx.AsyncClient,
    forwarder: Party,
    trade_id: uuid.UUID,
    queue: SendQueue,
    poller: OutputPoller,
    engine: AsyncEngine,
    clock: FakeClock,
) -> None:
    control_no, declaration_no = await declared_export(bridge, forwarder, trade_id, queue)
    clock.advance(3 * 60)
    assert await poller.poll_once() == 1

    published = await events(engine)
    assert [topic for topic, _ in published] == [
        "naccs.result",
        "naccs.result",
        "naccs.result",
        "naccs.permit",
    ]
    ecr, eda, edc, permit = (payload for _, payload in published)
    assert statuses(ecr) == [("export_cargo", control_no, "registered")]
    assert statuses(eda) == [("export_declaration", declaration_no, "registered")]
    assert statuses(edc) == [("export_declaration", declaration_no, "declared")]
    assert edc["customs_status"][0]["examination"] in ("1", "2", "3")
    assert edc["summary"].startswith(f"NACCS accepted EDC: export declaration {declaration_no}")
    assert statuses(permit) == [("export_declaration", declaration_no, "permitted")]
    [permitted] = permit["customs_status"]
    assert permitted["permit_no"] == declaration_no
    assert (
        permitted["permitted_on"]
        == f"{permit['permitted_on'][:4]}-{permit['permitted_on'][4:6]}-{permit['permitted_on'][6:]}"
    )
    assert permitted["source"] == {
        "telegram": "permit_notice",
        "business_code": "EDC",
        "output_info_code": "SAE0030",
    }
    assert declaration_no in permit["summary"]


async def test_an_inquiry_stores_its_answer_and_applies_a_permit_it_reveals_once(
    bridge: httpx.AsyncClient,
    forwarder: Party,
    trade_id: uuid.UUID,
    queue: SendQueue,
    poller: OutputPoller,
    engine: AsyncEngine,
    clock: FakeClock,
) -> None:
    _, declaration_no = await declared_export(bridge, forwarder, trade_id, queue)

    # While customs examines, the inquiry says "declared": stored, nothing else changes.
    iex = await put_form(bridge, forwarder.headers, trade_id, "IEX")
    assert item(iex, "declaration_no")["value"] == declaration_no
    early = await send(bridge, forwarder, trade_id, queue, "IEX")
    assert early["result"]["inquiry"]["lines"][0] == "DECLARED"
    assert [s["state"] for s in early["result"]["inquiry"]["customs_status"]] == ["declared"]

    # The permit is due, but the bridge has not fetched the notice yet: the inquiry shows it, and
    # the declaration's forms are permitted at once, with one naccs.permit for the trade's rules.
    clock.advance(3 * 60)
    answer = await send(bridge, forwarder, trade_id, queue, "IEX")
    inquiry = answer["result"]["inquiry"]
    assert inquiry["reference_no"] == declaration_no
    assert inquiry["lines"][0] == "PERMITTED"
    [status] = inquiry["customs_status"]
    assert (status["state"], status["permit_no"]) == ("permitted", declaration_no)
    assert status["source"]["telegram"] == "inquiry"
    forms = {
        f["code"]: f["status"]
        for f in (
            await bridge.get(f"/api/v1/naccs/trades/{trade_id}/forms", headers=forwarder.headers)
        ).json()
    }
    assert (forms["EDA"], forms["EDC"]) == ("permitted", "permitted")

    # The notice itself arrives later: stored and matched, but the permit is not applied again.
    assert await poller.poll_once() == 1
    published = await events(engine)
    permits = [payload for topic, payload in published if topic == "naccs.permit"]
    assert len(permits) == 1
    assert permits[0]["learned_from"] == "inquiry"
    inquiries = [p for topic, p in published if topic == "naccs.result" and p.get("kind")]
    assert [p["kind"] for p in inquiries] == ["inquiry", "inquiry"]
    assert inquiries[-1]["summary"] == (
        f"Inquiry IEX: export declaration {declaration_no} permitted on {status['permitted_on']}"
    )
    messages = (
        await bridge.get(
            f"/api/v1/naccs/trades/{trade_id}/output-messages", headers=forwarder.headers
        )
    ).json()
    assert [(m["subject"], m["applied"]) for m in messages] == [(declaration_no, "permit")]


async def test_an_inquiry_naccs_refuses_changes_no_status(
    bridge: httpx.AsyncClient,
    forwarder: Party,
    trade_id: uuid.UUID,
    queue: SendQueue,
    engine: AsyncEngine,
) -> None:
    await load_master(bridge, forwarder.headers)
    # No declaration of that number exists at NACCS.
    refused = await send(
        bridge, forwarder, trade_id, queue, "IEX", entries={"declaration_no": "99999999999"}
    )
    assert refused["result"]["accepted"] is False
    assert refused["result"]["inquiry"]["customs_status"] == []
    [(topic, payload)] = await events(engine)
    assert (topic, payload["kind"], payload["customs_status"]) == ("naccs.result", "inquiry", [])
    assert payload["summary"] == "Inquiry IEX refused"


async def test_a_cargo_inquiry_is_stored_decoded_without_guessing_a_status(
    bridge: httpx.AsyncClient,
    forwarder: Party,
    trade_id: uuid.UUID,
    queue: SendQueue,
    engine: AsyncEngine,
) -> None:
    await load_master(bridge, forwarder.headers)
    control_no = (await send(bridge, forwarder, trade_id, queue, "ECR"))["result"]["reference_no"]
    icg = await put_form(bridge, forwarder.headers, trade_id, "ICG")
    assert item(icg, "export_control_no")["value"] == control_no
    answer = await send(bridge, forwarder, trade_id, queue, "ICG")
    inquiry = answer["result"]["inquiry"]
    assert answer["result"]["accepted"] is True
    assert inquiry["message_kind"] in ("R", "M")
    assert inquiry["customs_status"] == []
    topic, payload = (await events(engine))[-1]
    assert (topic, payload["kind"], payload["customs_status"]) == ("naccs.result", "inquiry", [])
    assert payload["summary"].startswith("Inquiry ICG")
