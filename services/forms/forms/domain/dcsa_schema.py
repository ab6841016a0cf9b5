"""Validation of DCSA payloads we emit against the vendored DCSA JSON Schema.

The schema is a transcription of DCSA eBL 3.0.3 `CreateShippingInstructions` (source and
commit in `forms/catalogue/README.md`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

CREATE_SHIPPING_INSTRUCTIONS_SCHEMA = "dcsa_ebl_3.0.3_create_shipping_instructions.schema.json"


@dataclass(frozen=True, slots=True)
class SchemaViolation:
    json_path: str
    message: str


@cache
def _validator(name: str) -> Any:
    text = files("forms").joinpath("catalogue", name).read_text(encoding="utf-8")
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def shipping_instructions_violations(payload: Mapping[str, Any]) -> list[SchemaViolation]:
    """Why `payload` is not a valid DCSA eBL 3.0.3 CreateShippingInstructions (empty if it is)."""
    errors = _validator(CREATE_SHIPPING_INSTRUCTIONS_SCHEMA).iter_errors(dict(payload))
    return sorted(
        (SchemaViolation(error.json_path, error.message) for error in errors),
        key=lambda violation: violation.json_path,
    )
