"""``make bench``: run the scenarios, write ``bench/results/<date>.json`` and a Markdown summary.

Every target is a ratio against a reference measured in the same run (or a floor with the machine
noted), because absolute numbers on a shared two-core machine drift.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from bench import (
    api_system,
    charts,
    ecr_encode,
    export_journey,
    form_create,
    form_read,
    gateway_hop,
    trade_list,
    webhook_fanout,
)

RESULTS = Path(__file__).parent / "results"


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_avg_at_start": os.getloadavg(),
        "wrk": subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()[
            :1
        ],
        "nginx": subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip(),
    }


def markdown(report: dict[str, Any]) -> str:
    hop = report["scenarios"]["gateway_hop"]
    r, ratios = hop["results"], hop["ratios"]
    lines = [
        f"# Benchmarks {report['date']}",
        "",
        f"Machine: {report['machine']['cpus']} CPUs, {report['machine']['platform']}, "
        f"Python {report['machine']['python']}; load generator (wrk) on the same cores.",
        "",
        "## Gateway hop (trivial upstream; wrk -t2 -c64, and -c1 for latency; median of "
        f"{hop['repeats']} runs of {hop['seconds_per_run']} s)",
        "",
        "`gateway` is the default configuration; `gateway-X` are the variants run alongside it. "
        "`uvicorn-floor` is uvicorn answering by itself (no app, no upstream): the server's own share. "
        "CPU µs/req: CPU time of the proxy (for direct and the floor: the answering) process per "
        "request at c=64, from /proc.",
        "",
        "| path | req/s (c=64) | p99 ms (c=64) | p50 ms (c=1) | proxy CPU µs/req | upstream CPU µs/req |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in r.items():
        proxy_cpu = row.get("proxy_cpu_us_per_req")
        upstream_cpu = row.get("upstream_cpu_us_per_req")
        lines.append(
            f"| {name} | {row['requests_per_s_c64']:,.0f} | {row['p99_ms_c64']:.2f} | "
            f"{row['p50_ms_c1']:.3f} | {'' if proxy_cpu is None else f'{proxy_cpu:.0f}'} | "
            f"{'' if upstream_cpu is None else f'{upstream_cpu:.0f}'} |"
        )
    lines += [
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
        f"| gateway throughput ≥ 0.6 × nginx | {ratios['gateway_over_nginx_throughput']:.2f} × | "
        f"{'met' if ratios['gateway_over_nginx_throughput'] >= 0.6 else 'missed'} |",
        f"| added p50 latency at c=1 ≤ 0.3 ms | {ratios['gateway_added_p50_ms_c1']:.3f} ms | "
        f"{'met' if ratios['gateway_added_p50_ms_c1'] <= 0.3 else 'missed'} |",
        "",
    ]
    for key, value in ratios.items():
        if key.startswith("gateway-"):
            lines.append(f"- {key.replace('_', ' ')}: {value:.2f} ×")
    lines.append("")
    ecr = report["scenarios"].get("ecr_encode")
    if ecr:
        lines += [
            "## S/I + booking → ECR telegram (prefill, validate, encode), one core",
            "",
            "| target | measured | verdict |",
            "|---|---|---|",
            f"| ≥ 10,000 telegrams/s | {ecr['telegrams_per_cpu_second']:,.0f} /s "
            f"({ecr['microseconds_each']:.0f} µs each, {ecr['telegram_bytes']} bytes) | "
            f"{'met' if ecr['met'] else 'missed'} |",
            "",
        ]
        if "baseline" in ecr:
            before = ecr["baseline"]
            lines += [
                f"Same run, before ({before['rev']}): {before['telegrams_per_cpu_second']:,.0f} /s "
                f"({before['microseconds_each']:.0f} µs each); now / before "
                f"**{ecr['now_over_baseline']:.2f} ×**; same telegram bytes: "
                f"{'yes' if ecr['same_bytes_as_baseline'] else 'NO'}. The in-tree reference path "
                f"(map read item by item): now / reference {ecr['now_over_reference']:.2f} ×.",
                "",
            ]
    for module in (form_read, form_create, trade_list, webhook_fanout, export_journey):
        result = report["scenarios"].get(module.__name__.rpartition(".")[2])
        if result:
            lines += module.markdown(result)
    lines += report.get("charts", [])
    return "\n".join(lines)


def main() -> None:
    seconds = int(os.environ.get("BENCH_SECONDS", "10"))
    repeats = int(os.environ.get("BENCH_REPEATS", "3"))
    now = dt.datetime.now(dt.UTC)
    report: dict[str, Any] = {
        "date": now.isoformat(timespec="seconds"),
        "machine": machine(),
        "scenarios": {
            "gateway_hop": gateway_hop.run(
                seconds=seconds,
                repeats=repeats,
                gateways=[g for g in os.environ.get("BENCH_GATEWAYS", "").split(",") if g],
            ),
            "ecr_encode": ecr_encode.run(seconds=float(seconds)),
        },
    }
    with api_system.booted() as stack:  # every service as a real process, stopped afterwards
        report["scenarios"]["form_read"] = form_read.run(stack, seconds=seconds, repeats=repeats)
        report["scenarios"]["trade_list"] = trade_list.run(stack)
        # Last: its open loop leaves an outbox backlog the relays work through for a while.
        report["scenarios"]["form_create"] = form_create.run(
            stack, seconds=seconds, repeats=repeats
        )
    # Each boots the whole system again with the settings it needs, and stops it.
    report["scenarios"]["webhook_fanout"] = webhook_fanout.run()
    report["scenarios"]["export_journey"] = export_journey.run()
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = now.strftime("%Y-%m-%dT%H%M%SZ")
    report["charts"] = charts.render(report["scenarios"], RESULTS, stem)
    (RESULTS / f"{stem}.json").write_text(json.dumps(report, indent=2))
    (RESULTS / f"{stem}.md").write_text(markdown(report))
    (RESULTS / "latest.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
