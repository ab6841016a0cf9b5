"""One action, one trace: a call through the gateway that the NACCS bridge answers after asking trades
is a single OpenTelemetry trace across the three processes, parented hop by hop, exported over OTLP;
and every process's log line for the request carries that trace id."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest

from shared.devstack.stack import Stack
from shared.testing.otlp import OtlpReceiver, ReceivedSpan

pytestmark = pytest.mark.e2e


def request_lines(stack: Stack, process: str, request_id: str) -> list[dict[str, object]]:
    log_path = stack.processes[process].log_path
    assert log_path is not None
    lines = []
    for raw in log_path.read_text(errors="replace").splitlines():
        if raw.startswith("{") and request_id in raw:
            line = json.loads(raw)
            if line.get("event") == "request" and line.get("request_id") == request_id:
                lines.append(line)
    return lines


def wait_for_lines(stack: Stack, process: str, request_id: str) -> list[dict[str, object]]:
    deadline = time.monotonic() + 5
    while not (lines := request_lines(stack, process, request_id)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return lines


def one(spans: list[ReceivedSpan], service: str, kind: str, name_start: str) -> ReceivedSpan:
    found = [
        s
        for s in spans
        if s.service == service and s.kind == kind and s.name.startswith(name_start)
    ]
    assert len(found) == 1, f"{service} {kind} {name_start}: {[s.name for s in spans]}"
    return found[0]


def test_gateway_bridge_and_trades_share_one_trace_and_the_logs_name_it(
    gateway: httpx.Client,
    stack: Stack,
    otlp_receiver: OtlpReceiver,
    auth_headers: dict[str, str],
) -> None:
    request_id = f"trace-e2e-{uuid.uuid4().hex[:12]}"
    # Not a participant of this trade: the bridge asks trades, which says no, so the answer is 404.
    response = gateway.get(
        f"/api/v1/naccs/trades/{uuid.uuid4()}/forms",
        headers={**auth_headers, "X-Request-ID": request_id},
    )
    assert response.status_code == 404

    [gateway_line] = wait_for_lines(stack, "gateway", request_id)
    trace_id = str(gateway_line["trace_id"])
    spans = otlp_receiver.wait_for(
        trace_id, lambda spans: {"gateway", "naccs_bridge", "trades"} <= {s.service for s in spans}
    )
    edge = one(spans, "gateway", "server", "GET proxy /api/v1/naccs")
    hop = one(spans, "gateway", "client", "GET naccs_bridge")
    bridge = one(spans, "naccs_bridge", "server", "GET /api/v1/naccs/trades/{trade_id}/forms")
    ask = one(spans, "naccs_bridge", "client", "GET 127.0.0.1")
    trades = one(spans, "trades", "server", "GET /internal/trades/{trade_id}/access")

    assert edge.parent_span_id == ""  # the caller sent no traceparent: the gateway started it
    assert hop.parent_span_id == edge.span_id
    assert bridge.parent_span_id == hop.span_id
    assert ask.parent_span_id == bridge.span_id
    assert trades.parent_span_id == ask.span_id
    assert edge.attributes["http.response.status_code"] == 404
    assert trades.attributes["http.response.status_code"] == 404
    # The queries run for the request are in the trace too, under the span of their service.
    assert any(
        s.service == "trades" and s.kind == "client" and s.parent_span_id == trades.span_id
        for s in spans
    )

    # grep <trace_id> over the logs follows the request through every process.
    for process, span in (("naccs_bridge", bridge), ("trades", trades)):
        [line] = wait_for_lines(stack, process, request_id)
        assert line["trace_id"] == trace_id
        assert line["span_id"] == span.span_id
    assert gateway_line["span_id"] == edge.span_id


def test_a_callers_traceparent_is_continued(
    gateway: httpx.Client, otlp_receiver: OtlpReceiver, auth_headers: dict[str, str]
) -> None:
    trace_id = uuid.uuid4().hex
    parent = uuid.uuid4().hex[:16]
    response = gateway.get(
        "/api/v1/trades", headers={**auth_headers, "traceparent": f"00-{trace_id}-{parent}-01"}
    )
    assert response.status_code == 200
    spans = otlp_receiver.wait_for(
        trace_id, lambda spans: {"gateway", "trades"} <= {s.service for s in spans}
    )
    edge = one(spans, "gateway", "server", "GET proxy /api/v1/trades")
    assert edge.parent_span_id == parent
    assert one(spans, "trades", "server", "GET /api/v1/trades").trace_id == trace_id
