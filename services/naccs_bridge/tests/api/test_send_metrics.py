"""What an operator sees of the send queue at ``/metrics``: depth per state from the database, and
NACCS's answers counted by business code, outcome and result code once applied."""

from __future__ import annotations

import uuid

import httpx
from prometheus_client.parser import text_string_to_metric_families

from naccs_bridge.sending.queue import SendQueue

from .conftest import Party
from .helpers import load_master, put_form, queue_send
from .trade_data import export_bundle


async def scrape(bridge: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await bridge.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name.startswith("minato_naccs_")
    }


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_queue_depth_and_result_codes_show_and_move(
    bridge: httpx.AsyncClient, forwarder: Party, trade_id: uuid.UUID, queue: SendQueue
) -> None:
    await load_master(bridge, forwarder.headers)
    # A loading port outside Japan: NACCS answers R0003 on 積出港コード.
    bundle = export_bundle(**{"BK.portOfLoading.code": "USLAX"})
    await put_form(bridge, forwarder.headers, trade_id, "ECR", bundle=bundle)
    await queue_send(bridge, forwarder.headers, trade_id, "ECR")

    before = await scrape(bridge)
    assert value(before, "minato_naccs_send_queue_depth", state="queued") == 1
    assert value(before, "minato_naccs_send_queue_depth", state="sending") == 0
    assert value(before, "minato_naccs_send_queue_oldest_age_seconds", state="queued") >= 0

    await queue.run_once()

    after = await scrape(bridge)
    assert value(after, "minato_naccs_send_queue_depth", state="queued") == 0
    assert value(after, "minato_naccs_send_queue_oldest_age_seconds", state="queued") == 0

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("minato_naccs_send_attempts_total", outcome="result_stored") == 1
    assert moved("minato_naccs_results_total", code="ECR", outcome="rejected") == 1
    assert moved("minato_naccs_result_codes_total", code="ECR", result="R0003") == 1
    assert moved("minato_naccs_results_total", code="ECR", outcome="accepted") == 0
