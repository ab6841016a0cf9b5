"""PNG charts for the Markdown summary (matplotlib, Agg backend: no display needed).

* ``<stem>-targets.png``: each target's measured value over its target, oriented so that ≥ 1 means
  met (for "less than" targets: target / measured), on a log scale so 0.1 × and 10 × look alike.
* ``<stem>-latency.png``: latency distributions (percentile against milliseconds, log scale) of the
  form create open loop and of the trade-list pages (with the "before" walks when the run made them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def target_ratios(scenarios: dict[str, Any]) -> list[tuple[str, float]]:
    """(label, measured over target, ≥ 1 is met) for every target of a known scenario in the run."""
    rows: list[tuple[str, float]] = []
    hop = scenarios.get("gateway_hop")
    if hop:
        ratios = hop["ratios"]
        rows.append(("hop: gateway ≥ 0.6 × nginx", ratios["gateway_over_nginx_throughput"] / 0.6))
        added = max(ratios["gateway_added_p50_ms_c1"], 1e-3)
        rows.append(("hop: added p50 ≤ 0.3 ms", 0.3 / added))
    ecr = scenarios.get("ecr_encode")
    if ecr:
        rows.append(("ECR ≥ 10k telegrams/s", ecr["telegrams_per_cpu_second"] / 10_000))
    read = scenarios.get("form_read")
    if read:
        rows.append(
            ("form read: gateway ≥ 0.8 × direct", read["gateway_over_direct_throughput"] / 0.8)
        )
    create = scenarios.get("form_create")
    if create:
        rows.append(("form create ≥ 800/s closed", create["closed_loop"]["requests_per_s"] / 800))
        p99 = max(create["open_loop"]["p99_ms"], 1e-3)
        rows.append(("form create p99 < 50 ms @ 500/s", 50 / p99))
    listing = scenarios.get("trade_list")
    if listing:
        rows.append(("trade list p99 < 20 ms", 20 / max(listing["overall"]["p99_ms"], 1e-3)))
    return rows


def _targets_chart(scenarios: dict[str, Any], path: Path) -> bool:
    rows = target_ratios(scenarios)
    if not rows:
        return False
    labels = [label for label, _ in rows]
    values = [value for _, value in rows]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.2))
    colours = ["#2e7d32" if v >= 1 else "#c62828" for v in values]
    ax.barh(labels, values, color=colours)
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_xlabel("measured / target (≥ 1: met; log scale)")
    for y, v in enumerate(values):
        ax.text(v, y, f" {v:.2g}", va="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _cdf(ax: Any, sorted_ms: list[float], label: str) -> None:
    n = len(sorted_ms)
    if not n:
        return
    ax.plot(sorted_ms, [100 * (i + 1) / n for i in range(n)], label=f"{label} (n={n:,})")


def _latency_chart(scenarios: dict[str, Any], path: Path) -> bool:
    create = scenarios.get("form_create")
    listing = scenarios.get("trade_list")
    if not create and not listing:
        return False
    fig, ax = plt.subplots(figsize=(8, 4.5))
    if create and create["open_loop"].get("latency_histogram_ms"):
        points = create["open_loop"]["latency_histogram_ms"]
        ax.plot(
            [ms for _, ms in points],
            [pct for pct, _ in points],
            label=f"form create, open loop {create['open_loop']['offered_per_s']:.0f}/s",
        )
    if listing:
        _cdf(ax, listing["latencies_ms"], "trade list pages")
        before = listing.get("before_list_indexes") or {}
        if before.get("latencies_ms"):
            _cdf(ax, before["latencies_ms"], "trade list pages, before trades0006/0007")
    ax.axvline(20, color="grey", linestyle=":", linewidth=1)
    ax.axvline(50, color="grey", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlabel("latency ms (log; dotted 20 ms, dashed 50 ms)")
    ax.set_ylabel("percent of requests at or below")
    ax.set_ylim(0, 100.5)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def render(scenarios: dict[str, Any], results_dir: Path, stem: str) -> list[str]:
    """Write the charts; the Markdown lines that show them (links relative to ``results_dir``)."""
    lines = ["## Charts", ""]
    targets = results_dir / f"{stem}-targets.png"
    if _targets_chart(scenarios, targets):
        lines += [f"![measured over target, per target]({targets.name})", ""]
    latency = results_dir / f"{stem}-latency.png"
    if _latency_chart(scenarios, latency):
        lines += [f"![latency distributions]({latency.name})", ""]
    return lines if len(lines) > 2 else []
