"""Computed totals of a form: container count, packages, weights and measurement.

Rules (Cyber Port input helpers, reportGUI): line totals are summed; a unit is kept only when
all lines share it. Weights are summed only when the units agree, or when they are all KGM/TNE
(converted to KGM); anything else (e.g. KGM with LBR) is left for a person to decide, with the
reason, rather than silently mixing units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from forms.domain.paths import is_empty
from shared.codes import convert_mass

_METRIC_MASS = frozenset({"KGM", "TNE"})


@dataclass(frozen=True, slots=True)
class Total:
    value: Decimal | None
    unit: str | None
    reason_en: str | None = None
    reason_ja: str | None = None


def to_decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _amounts(
    lines: Sequence[Mapping[str, Any]], amount_key: str, unit_key: str
) -> list[tuple[Decimal, str | None]]:
    pairs = []
    for line in lines:
        amount = to_decimal(line.get(amount_key))
        if amount is not None:
            unit = line.get(unit_key)
            pairs.append((amount, unit if isinstance(unit, str) and unit else None))
    return pairs


def sum_with_common_unit(
    lines: Sequence[Mapping[str, Any]], amount_key: str, unit_key: str
) -> Total:
    """Sum always; keep the unit only when every line has the same one (packages, volume)."""
    pairs = _amounts(lines, amount_key, unit_key)
    if not pairs:
        return Total(None, None)
    units = {unit for _, unit in pairs}
    return Total(
        sum((amount for amount, _ in pairs), Decimal(0)), units.pop() if len(units) == 1 else None
    )


def sum_weights(lines: Sequence[Mapping[str, Any]], amount_key: str, unit_key: str) -> Total:
    pairs = _amounts(lines, amount_key, unit_key)
    if not pairs:
        return Total(None, None)
    units = {unit for _, unit in pairs}
    if None in units:
        return Total(
            None,
            None,
            "some lines have a weight without a unit",
            "重量単位が未入力の行があります",
        )
    if len(units) == 1:
        return Total(sum((amount for amount, _ in pairs), Decimal(0)), units.pop())
    if units <= _METRIC_MASS:
        total = sum(
            (convert_mass(amount, unit, "KGM") for amount, unit in pairs if unit), Decimal(0)
        )
        return Total(total, "KGM")
    listed = ", ".join(sorted(unit for unit in units if unit))
    return Total(
        None,
        None,
        f"lines use different weight units ({listed}); enter the total by hand",
        f"行ごとに重量単位が異なります({listed})。合計は手入力してください",
    )


def container_count(containers: Sequence[Mapping[str, Any]] | None) -> int:
    """Number of containers: distinct container numbers, plus entries not yet numbered."""
    if not containers:
        return 0
    numbered = {c.get("containerNo") for c in containers if not is_empty(c.get("containerNo"))}
    unnumbered = sum(1 for c in containers if is_empty(c.get("containerNo")) and not is_empty(c))
    return len(numbered) + unnumbered


def compute_totals(values: Mapping[str, Any]) -> dict[str, Any]:
    """The totals fields that can be computed from the form's goods lines.

    Returns only what could be computed; a total whose units do not agree is absent, so the
    caller keeps whatever a person typed.
    """
    lines = values.get("commodity") or []
    totals: dict[str, Any] = {}
    packages = sum_with_common_unit(lines, "packages", "packageUnitCode")
    if packages.value is not None:
        totals["totalPackages"] = packages.value
        if packages.unit:
            totals["totalPackagesUnitCode"] = packages.unit
    for amount_key, unit_key, total_key in (
        ("grossWeight", "grossWeightUnitCode", "commodityTotalGrossWeight"),
        ("netWeight", "netWeightUnitCode", "commodityTotalNetWeight"),
    ):
        weight = sum_weights(lines, amount_key, unit_key)
        if weight.value is not None:
            totals[total_key] = weight.value
            totals[f"{total_key}UnitCode"] = weight.unit
    measurement = sum_with_common_unit(lines, "measurement", "measurementUnitCode")
    if measurement.value is not None and measurement.unit is not None:
        totals["commodityTotalMeasurement"] = measurement.value
        totals["commodityTotalMeasurementUnitCode"] = measurement.unit
    count = container_count(values.get("containers"))
    if count:
        totals["containerCount"] = Decimal(count)
    return totals
