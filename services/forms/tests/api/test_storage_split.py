"""The storage split the API relies on: a form keeps only its own fields, the trade's root document
the shared ones, and merging the two gives back exactly what was saved (no database needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from forms.domain.dcsa import import_booking, import_shipping_instructions
from forms.domain.projection import apply_shared, merge_into_shared
from forms.services.diff import diff_values
from forms.services.documents import overlay, own_values, validated_values

from .conftest import complete_si

DCSA = Path(__file__).resolve().parents[5] / "shared" / "interop" / "dcsa"


def invoice() -> dict[str, Any]:
    return {
        "invoiceNo": "INV-1",
        "shipper": {"name": "Minato Trading Co., Ltd.", "phone": ""},
        "commodity": [
            {"description": "Shoes", "hsCode": "640510", "unitPrice": 12, "quantity": 100},
            {"description": "Boots", "unitPrice": 30, "quantity": 10},
        ],
        "currencyCode": "EUR",
    }


CASES = [
    ("UL040", complete_si),
    ("UL100", invoice),
    ("UL090", lambda: {"bookingNo": "B1", "containers": [{"containerNo": "MSCU6634879"}]}),
    ("UL040", lambda: import_shipping_instructions(
        json.loads((DCSA / "si/ebl303_create-si_regular.json").read_text()))),
    ("MX010", lambda: import_booking(
        json.loads((DCSA / "booking/bkg204_create-booking_dry.json").read_text()))),
]  # fmt: skip


@pytest.mark.parametrize(("form_code", "make"), CASES)
def test_own_fields_and_shared_items_merge_back_to_the_saved_values(
    form_code: str, make: Any
) -> None:
    saved = validated_values(form_code, make())
    shared = merge_into_shared({}, form_code, saved)
    stored = own_values(form_code, saved)
    assert diff_values(saved, apply_shared(form_code, stored, shared)) == []


def test_form_only_fields_stay_out_of_the_root_document() -> None:
    saved = validated_values("UL100", invoice())
    stored = own_values("UL100", saved)
    assert stored["commodity"] == [
        {"unitPrice": 12, "quantity": 100},
        {"unitPrice": 30, "quantity": 10},
    ]
    assert "shipper" not in stored
    shared = merge_into_shared({}, "UL100", saved)
    assert "unitPrice" not in json.dumps(shared)


def test_overlay_merges_objects_and_object_lists_line_by_line() -> None:
    base = {"a": {"x": 1, "y": 2}, "lines": [{"d": "one", "w": 1}, {"d": "two"}], "s": ["p"]}
    patch = {"a": {"y": 3}, "lines": [{"w": 5}], "s": ["q", "r"]}
    assert overlay(base, patch) == {
        "a": {"x": 1, "y": 3},
        "lines": [{"d": "one", "w": 5}],
        "s": ["q", "r"],
    }
    assert base["lines"] == [{"d": "one", "w": 1}, {"d": "two"}]  # the base is not touched
