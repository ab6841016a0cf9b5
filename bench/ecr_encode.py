"""S/I + booking → ECR telegram (prefill from the bundle, validate, encode) on one core.

Target (issue 9): >= 10,000 telegrams/s on one core. The trade is the realistic export fixture the
bridge's own tests use (Tokyo → Los Angeles, FCL, with master data), so the number covers exactly what
a send does before the bytes leave: map, transforms, NACCS character checks, byte-width fitting, encode.

Three paths are measured in the same run, in alternating rounds (the box is shared, so only ratios measured
together mean much):

* ``now``: ``prefill`` + ``build_input_telegram``, what the bridge uses: each map's prefill and body
  encoder generated as Python once per map (falling back to the compiled plan, interpreted, for a value
  NACCS refuses);
* ``interpreted``: ``interpreted_prefill`` + ``interpreted_encode_body``: the compiled plans interpreted
  item by item, without the generated functions (the same transforms and bundle reads as ``now``);
* ``reference``: ``reference_prefill`` + ``reference_encode_body``, the map read item by item with today's
  transforms and character checks (what the plans are tested against);
* ``baseline``: the code of ``BENCH_ECR_BASELINE`` (default: the commit that added this bench, before any
  of this work), from ``git archive`` in a subprocess, which also prints its telegram: ``same_bytes``
  says whether today's telegram is byte for byte the baseline's. ``BENCH_ECR_BASELINE=`` (empty) skips it.

CPU time of this process (or the subprocess) is what counts, not wall time: other sessions' work on the same
cores shows in wall time only (it still slows a core shared by hyper-threads; hence the same-run ratios).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from naccs_bridge.domain.charset import Charset
from naccs_bridge.domain.loading import load_field_map
from naccs_bridge.domain.prefill import interpreted_prefill, prefill, reference_prefill
from naccs_bridge.domain.telegram import (
    HEADER_LINE,
    ChannelSettings,
    InputHeader,
    build_input_telegram,
    encode_input_header,
    interpreted_encode_body,
    reference_encode_body,
)
from shared.devstack.stack import REPO_ROOT

FIXTURES = REPO_ROOT / "services" / "naccs_bridge" / "tests" / "unit" / "conftest.py"
BASELINE_REV = "5945de3"  # "make bench: S/I + booking -> ECR telegram scenario", 2.4k/s
TARGET_PER_S = 10_000


def _fixture(module: Any, name: str) -> Any:
    # The fixtures are plain functions under pytest's decorator; __wrapped__ is the function itself.
    return getattr(module, name).__wrapped__()


def load_trade() -> tuple[Any, Any]:
    spec = importlib.util.spec_from_file_location("naccs_unit_fixtures", Path(FIXTURES))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return _fixture(module, "export_fcl"), _fixture(module, "config")


def telegram_paths() -> dict[str, Callable[[], bytes]]:
    """One ECR telegram from the fixture trade, by today's path and by the reference path."""
    bundle, config = load_trade()
    field_map = load_field_map("ECR")
    channel = ChannelSettings(charset=Charset.SHIFT_JIS)
    header = InputHeader(
        business_code="ECR",
        user_code="3AB12",
        identification_no="001",
        password="S3cret!x",  # noqa: S106 - a fixture's NACCS password, never sent anywhere
        handover_info="TRD-EXP-2026-000123",
        input_id_no="0000004711",
    )

    def now() -> bytes:
        form = prefill(field_map, bundle, config, charset=channel.charset)
        return build_input_telegram(header, field_map, form.values(), channel)

    def interpreted() -> bytes:
        form = interpreted_prefill(field_map, bundle, config, charset=channel.charset)
        body = interpreted_encode_body(field_map, form.values(), channel)
        return encode_input_header(header, HEADER_LINE + len(body)) + body

    def reference() -> bytes:
        form = reference_prefill(field_map, bundle, config, charset=channel.charset)
        body = reference_encode_body(field_map, form.values(), channel)
        return encode_input_header(header, HEADER_LINE + len(body)) + body

    return {"now": now, "interpreted": interpreted, "reference": reference}


def measure(one: Callable[[], bytes], seconds: float) -> tuple[int, float]:
    """(telegrams, CPU seconds) of running ``one`` for ``seconds`` of wall time, after a warm-up."""
    for _ in range(200):
        one()
    count = 0
    started = time.process_time()  # CPU time of this process: one core, whatever else runs
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        one()
        count += 1
    return count, time.process_time() - started


# Run inside the baseline checkout (its own modules on sys.path): its telegram and its throughput.
_BASELINE_SCRIPT = """
import hashlib, json, sys, time
from bench import ecr_encode
from naccs_bridge.domain.charset import Charset
from naccs_bridge.domain.loading import load_field_map
from naccs_bridge.domain.prefill import prefill
from naccs_bridge.domain.telegram import ChannelSettings, InputHeader, build_input_telegram
bundle, config = ecr_encode.load_trade()
field_map = load_field_map("ECR")
channel = ChannelSettings(charset=Charset.SHIFT_JIS)
header = InputHeader(business_code="ECR", user_code="3AB12", identification_no="001",
    password="S3cret!x", handover_info="TRD-EXP-2026-000123", input_id_no="0000004711")
def one():
    form = prefill(field_map, bundle, config, charset=channel.charset)
    return build_input_telegram(header, field_map, form.values(), channel)
telegram = one()
for _ in range(200):
    one()
count = 0
started = time.process_time()
deadline = time.perf_counter() + float(sys.argv[1])
while time.perf_counter() < deadline:
    one()
    count += 1
cpu = time.process_time() - started
print(json.dumps({"telegrams": count, "cpu_seconds": cpu,
                  "sha256": hashlib.sha256(telegram).hexdigest()}))
"""


def _baseline_tree(rev: str, into: Path) -> bool:
    """The baseline's sources (shared, the bridge, bench) under ``into``; False without git or the rev."""
    try:
        archive = subprocess.run(
            [
                "git",
                "-C",
                str(REPO_ROOT),
                "archive",
                rev,
                "shared",
                "services/naccs_bridge",
                "bench",
            ],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    except (OSError, subprocess.CalledProcessError):
        return False
    return True


def _run_baseline(tree: Path, seconds: float) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        str(tree / part) for part in ("", "services/naccs_bridge", "shared")
    )
    done = subprocess.run(
        [sys.executable, "-c", _BASELINE_SCRIPT, str(seconds)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _rate(telegrams: int, cpu_seconds: float) -> dict[str, float]:
    per_s = telegrams / cpu_seconds if cpu_seconds else 0.0
    return {
        "telegrams": telegrams,
        "cpu_seconds": cpu_seconds,
        "telegrams_per_cpu_second": per_s,
        "microseconds_each": 1e6 / per_s if per_s else 0.0,
    }


def run(seconds: float = 5.0, rounds: int = 3) -> dict[str, Any]:
    """``seconds`` per path, split over ``rounds`` alternating rounds."""
    paths = telegram_paths()
    telegram = paths["now"]()
    for name in ("interpreted", "reference"):
        if paths[name]() != telegram:
            raise AssertionError(f"the {name} path and the generated one give different telegrams")
    baseline_rev = os.environ.get("BENCH_ECR_BASELINE", BASELINE_REV)
    totals: dict[str, list[float]] = {name: [0, 0.0] for name in (*paths, "baseline")}
    baseline_sha: str | None = None
    with tempfile.TemporaryDirectory(prefix="ecr-baseline-") as scratch:
        tree = Path(scratch)
        with_baseline = bool(baseline_rev) and _baseline_tree(baseline_rev, tree)
        for _ in range(rounds):
            for name, one in paths.items():
                count, cpu = measure(one, seconds / rounds)
                totals[name][0] += count
                totals[name][1] += cpu
            if with_baseline:
                result = _run_baseline(tree, seconds / rounds)
                totals["baseline"][0] += result["telegrams"]
                totals["baseline"][1] += result["cpu_seconds"]
                baseline_sha = result["sha256"]
    now = _rate(int(totals["now"][0]), totals["now"][1])
    interpreted = _rate(int(totals["interpreted"][0]), totals["interpreted"][1])
    reference = _rate(int(totals["reference"][0]), totals["reference"][1])
    report: dict[str, Any] = {
        "scenario": "ecr_encode",
        **now,
        "telegram_bytes": len(telegram),
        "target": ">= 10,000 telegrams/s on one core",
        "met": now["telegrams_per_cpu_second"] >= TARGET_PER_S,
        "interpreted": interpreted,
        "reference": reference,
        "now_over_interpreted": now["telegrams_per_cpu_second"]
        / interpreted["telegrams_per_cpu_second"],
        "now_over_reference": now["telegrams_per_cpu_second"]
        / reference["telegrams_per_cpu_second"],
    }
    if baseline_sha is not None:
        baseline = _rate(int(totals["baseline"][0]), totals["baseline"][1])
        report["baseline"] = {"rev": baseline_rev, **baseline}
        report["now_over_baseline"] = (
            now["telegrams_per_cpu_second"] / baseline["telegrams_per_cpu_second"]
        )
        report["same_bytes_as_baseline"] = baseline_sha == hashlib.sha256(telegram).hexdigest()
    return report


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
