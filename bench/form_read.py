"""Read a form by id through the gateway, against the same read made directly to the forms service.

Target (issue 9): through the gateway ≥ 0.8 × the direct read's throughput. Both are wrk with the
same real bearer token of a participant (the forms service verifies it itself, and asks the trades
service on every read whether the organisation takes part in the trade), on the whole system booted
as real processes (``bench.api_system``). The trade and the form are created through the API first.

Alternating gateway and direct runs, median of ``repeats``; CPU per request of the gateway, forms
and trades processes from /proc (PostgreSQL's share is not counted: it is not our process group).
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from bench.api_system import new_org, participant_token, seed_trades
from bench.gateway_hop import wrk
from shared.devstack.stack import Stack

TARGET_RATIO = 0.8
CONNECTIONS = 32
FORM_VALUES = {
    "invoice_no": "INV-2026-0042",
    "incoterms": "FOB",
    "bl_remarks": "FREIGHT PREPAID",
    "shipping_instructions_reference": "SI-BENCH-1",
}


def seed_form(stack: Stack) -> tuple[str, str]:
    """A participant's token and the id of a UL040 in its trade (beside a few other forms)."""
    org = new_org()
    token = participant_token(stack, org, forms={"UL040": "readwrite"})
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=stack.gateway_url, timeout=15) as client:
        (trade_id,) = seed_trades(client, headers, 1)
        form_ids = []
        for n in range(3):
            response = client.post(
                f"/api/v1/forms/trades/{trade_id}/documents",
                json={"form_type": "UL040", "custom_id": f"si-{n}", "values": FORM_VALUES},
                headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
            )
            response.raise_for_status()
            form_ids.append(response.json()["id"])
    return token, form_ids[0]


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def run(stack: Stack, *, seconds: int = 10, repeats: int = 3) -> dict[str, Any]:
    token, form_id = seed_form(stack)
    path = f"/api/v1/forms/documents/{form_id}"
    pids = {name: running.process.pid for name, running in stack.processes.items()}
    targets = {
        "gateway": (
            stack.gateway_url + path,
            {"gateway": pids["gateway"], "forms": pids["forms"], "trades": pids["trades"]},
        ),
        "direct": (
            stack.processes["forms"].url + path,
            {"forms": pids["forms"], "trades": pids["trades"]},
        ),
    }
    for url, _ in targets.values():  # warm-up: connections, token cache, PostgreSQL caches
        wrk(url, connections=8, threads=2, seconds=2, token=token)
    samples: dict[str, dict[str, list[dict[str, float]]]] = {
        n: {"c32": [], "c1": []} for n in targets
    }
    for _ in range(repeats):
        for name, (url, groups) in targets.items():
            samples[name]["c32"].append(
                wrk(
                    url,
                    connections=CONNECTIONS,
                    threads=2,
                    seconds=seconds,
                    token=token,
                    cpu_of=groups,
                )
            )
            samples[name]["c1"].append(
                wrk(url, connections=1, threads=1, seconds=max(3, seconds // 2), token=token)
            )
    results: dict[str, dict[str, Any]] = {}
    for name, runs in samples.items():
        c32 = runs["c32"]
        results[name] = {
            "requests_per_s": median([s["requests_per_s"] for s in c32]),
            "p50_ms": median([s.get("p50_ms", 0.0) for s in c32]),
            "p99_ms": median([s.get("p99_ms", 0.0) for s in c32]),
            "p50_ms_c1": median([s.get("p50_ms", 0.0) for s in runs["c1"]]),
            "non_2xx": sum(s["non_2xx"] for s in c32 + runs["c1"]),
            **{
                key: median([s.get(key, 0.0) for s in c32])
                for key in c32[0]
                if key.endswith("_cpu_us_per_req")
            },
            "runs": runs,
        }
    ratio = results["gateway"]["requests_per_s"] / results["direct"]["requests_per_s"]
    return {
        "scenario": "form_read",
        "seconds_per_run": seconds,
        "repeats": repeats,
        "connections": CONNECTIONS,
        "results": results,
        "gateway_over_direct_throughput": ratio,
        "gateway_added_p50_ms_c1": results["gateway"]["p50_ms_c1"] - results["direct"]["p50_ms_c1"],
        "target": f">= {TARGET_RATIO} x direct",
        "met": ratio >= TARGET_RATIO and not any(r["non_2xx"] for r in results.values()),
    }


def markdown(result: dict[str, Any]) -> list[str]:
    r = result["results"]
    lines = [
        f"## Read a form by id: gateway vs direct to forms (wrk -c{result['connections']}, "
        f"median of {result['repeats']} × {result['seconds_per_run']} s)",
        "",
        "Same participant token both ways; every read also asks trades for access. CPU µs/req from "
        "/proc (PostgreSQL not counted).",
        "",
        "| path | req/s | p50 ms | p99 ms | p50 ms (c=1) | gateway CPU µs/req | forms CPU µs/req "
        "| trades CPU µs/req | non-2xx |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in r.items():
        cpu = [row.get(f"{p}_cpu_us_per_req") for p in ("gateway", "forms", "trades")]
        lines.append(
            f"| {name} | {row['requests_per_s']:,.0f} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | "
            f"{row['p50_ms_c1']:.2f} | "
            + " | ".join("" if c is None else f"{c:.0f}" for c in cpu)
            + f" | {row['non_2xx']:.0f} |"
        )
    ratio = result["gateway_over_direct_throughput"]
    lines += [
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
        f"| through the gateway ≥ {TARGET_RATIO} × direct | {ratio:.2f} × "
        f"(+{result['gateway_added_p50_ms_c1']:.2f} ms p50 at c=1) | "
        f"{'met' if result['met'] else 'missed'} |",
        "",
    ]
    return lines
