"""Prefill a downstream form from upstream ones, with field-level provenance.

Routes (what flows where) follow the paper workflow: the booking feeds the S/I; the S/I feeds
the container receiving slip (UL090), the DG list and the packing list; the arrival notice feeds
the delivery order. Sources are tried in the order given, so the first form that has a value
wins (a booking confirmation outranks the booking request). Values are copied only where the
target schema has the field, then totals are computed from the copied lines.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, Literal

from forms.domain.catalogue import form_type
from forms.domain.paths import flatten_at, generalize, get_path, is_empty, schema_patterns, set_path
from forms.domain.totals import compute_totals, sum_weights


@dataclass(frozen=True, slots=True)
class Route:
    """Copy `fields` (source path -> target path) from any of `sources`, in priority order."""

    sources: tuple[str, ...]
    fields: tuple[tuple[str, str], ...]


def _same(*names: str) -> tuple[tuple[str, str], ...]:
    return tuple((name, name) for name in names)


_VOYAGE = _same(
    "vessel",
    "voyageNumber",
    "placeOfReceipt",
    "portOfLoading",
    "portOfDischarge",
    "placeOfDelivery",
    "finalDestination",
    "estimatedDepartureDate",
    "estimatedArrivalDate",
)
_PARTIES = _same("shipper", "consignee", "notifyParty")
_BOOKING_KEYS = _same("bookingNo", "scacCode")

ROUTES: Final[dict[str, tuple[Route, ...]]] = {
    # booking -> S/I
    "UL040": (
        Route(
            ("UL050", "MX010"),
            (
                *_PARTIES,
                *_BOOKING_KEYS,
                *_VOYAGE,
                *_same(
                    "forwarder",
                    "commodity",
                    "dangerousGoods",
                    "containerRequests",
                    "receiptServiceType",
                    "deliveryServiceType",
                    "cargoMovementType",
                    "incoterms",
                ),
                ("freightPaymentTerm", "billOfLading.freightPaymentTerm"),
            ),
        ),
    ),
    # S/I (and booking confirmation) -> container receiving slip
    "UL090": (
        Route(
            ("UL040",),
            (
                *_BOOKING_KEYS,
                *_same("shipper", "forwarder", "containers", "dangerousGoods"),
                *_VOYAGE,
            ),
        ),
        Route(("UL050",), (*_BOOKING_KEYS, *_VOYAGE, ("returnFacility", "terminal"))),
    ),
    # S/I -> dangerous goods list
    "MX060": (
        Route(
            ("UL040",),
            (
                *_PARTIES,
                *_BOOKING_KEYS,
                *_VOYAGE,
                *_same("billOfLading", "containers", "dangerousGoods"),
                ("shipper", "declarant"),
            ),
        ),
    ),
    # S/I (+ invoice) -> packing list
    "UL120": (
        Route(
            ("UL040",),
            (
                *_PARTIES,
                *_BOOKING_KEYS,
                *_VOYAGE,
                *_same("billOfLading", "commodity", "marksAndNumbers", "containers", "invoiceNo"),
            ),
        ),
        Route(("UL100",), _same("invoiceNo", "commodity", "marksAndNumbers")),
    ),
    # arrival notice -> delivery order / D/O-less request
    "MX200": (
        Route(
            ("UL290",),
            (
                *_PARTIES,
                *_BOOKING_KEYS,
                *_VOYAGE,
                *_same("billOfLading", "commodity", "marksAndNumbers", "containers"),
                *_same("storageFacility"),
                ("consignee", "releaseTo"),
            ),
        ),
    ),
    "MX210": (
        Route(
            ("UL290",),
            (
                *_PARTIES,
                *_BOOKING_KEYS,
                *_VOYAGE,
                *_same("billOfLading", "commodity", "marksAndNumbers", "containers"),
                *_same("storageFacility"),
                ("consignee", "releaseTo"),
            ),
        ),
    ),
}


@dataclass(frozen=True, slots=True)
class Provenance:
    source_form_code: str
    source_path: str
    rule: Literal["copied", "computed"] = "copied"


@dataclass(frozen=True, slots=True)
class DerivationNote:
    path: str
    message_en: str
    message_ja: str


@dataclass(frozen=True, slots=True)
class Prefill:
    form_code: str
    values: dict[str, Any]
    provenance: dict[str, Provenance]
    notes: tuple[DerivationNote, ...] = field(default=())


class NoDerivationRoute(LookupError):
    pass


def derivable_from(target_code: str) -> tuple[str, ...]:
    return tuple(
        dict.fromkeys(code for route in ROUTES.get(target_code, ()) for code in route.sources)
    )


def derive(target_code: str, sources: Mapping[str, Mapping[str, Any]]) -> Prefill:
    """Prefill `target_code` from `sources` (form code -> that form's values)."""
    if target_code not in ROUTES:
        raise NoDerivationRoute(f"no derivation route into {target_code}")
    allowed = schema_patterns(form_type(target_code).schema)
    values: dict[str, Any] = {}
    provenance: dict[str, Provenance] = {}
    for route in ROUTES[target_code]:
        for source_code in route.sources:
            source = sources.get(source_code)
            if source is None:
                continue
            for source_path, target_path in route.fields:
                _copy_field(
                    source, source_code, source_path, target_path, allowed, values, provenance
                )
    notes = _fill_totals(target_code, values, provenance, allowed)
    return Prefill(target_code, values, provenance, notes)


def _copy_field(
    source: Mapping[str, Any],
    source_code: str,
    source_path: str,
    target_path: str,
    allowed: set[str],
    values: dict[str, Any],
    provenance: dict[str, Provenance],
) -> None:
    value = get_path(source, source_path)
    if is_empty(value):
        return
    for leaf_path, leaf in flatten_at(copy.deepcopy(value), target_path).items():
        if is_empty(leaf) or generalize(leaf_path) not in allowed or leaf_path in provenance:
            continue
        set_path(values, leaf_path, leaf)
        provenance[leaf_path] = Provenance(
            source_code, source_path + leaf_path.removeprefix(target_path)
        )


def _json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _fill_totals(
    target_code: str, values: dict[str, Any], provenance: dict[str, Provenance], allowed: set[str]
) -> tuple[DerivationNote, ...]:
    for key, total in compute_totals(values).items():
        if key not in allowed or key in values:
            continue
        values[key] = _json_number(total) if isinstance(total, Decimal) else total
        source = "containers" if key == "containerCount" else "commodity"
        provenance[key] = Provenance(target_code, source, "computed")
    notes = []
    if "commodityTotalGrossWeight" in allowed and "commodityTotalGrossWeight" not in values:
        weight = sum_weights(values.get("commodity") or [], "grossWeight", "grossWeightUnitCode")
        if weight.reason_en and weight.reason_ja:
            notes.append(
                DerivationNote("commodityTotalGrossWeight", weight.reason_en, weight.reason_ja)
            )
    return tuple(notes)
