"""S/I + booking → ECR telegram (prefill from the bundle, validate, encode) on one core.

Target (issue 9): >= 10,000 telegrams/s on one core. The trade is the realistic export fixture the
bridge's own tests use (Tokyo → Los Angeles, FCL, with master data), so the number covers exactly what
a send does before the bytes leave: map, transforms, NACCS character checks, byte-width fitting, encode.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Any

from naccs_bridge.domain.charset import Charset
from naccs_bridge.domain.loading import load_field_map
from naccs_bridge.domain.prefill import prefill
from naccs_bridge.domain.telegram import ChannelSettings, InputHeader, build_input_telegram
from shared.devstack.stack import REPO_ROOT

FIXTURES = REPO_ROOT / "services" / "naccs_bridge" / "tests" / "unit" / "conftest.py"


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


def run(seconds: float = 5.0) -> dict[str, Any]:
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

    def one() -> bytes:
        form = prefill(field_map, bundle, config, charset=channel.charset)
        return build_input_telegram(header, field_map, form.values(), channel)

    size = len(one())
    for _ in range(200):  # warm-up
        one()
    count = 0
    started = time.process_time()  # CPU time of this process: one core, whatever else runs
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        one()
        count += 1
    cpu_s = time.process_time() - started
    per_s = count / cpu_s
    return {
        "scenario": "ecr_encode",
        "telegrams": count,
        "cpu_seconds": cpu_s,
        "telegrams_per_cpu_second": per_s,
        "microseconds_each": 1e6 / per_s,
        "telegram_bytes": size,
        "target": ">= 10,000 telegrams/s on one core",
        "met": per_s >= 10_000,
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
