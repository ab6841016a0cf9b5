"""Base model and scalar types every form schema uses."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer
from pydantic.alias_generators import to_camel


def _decimal_as_json_number(value: Decimal) -> int | float:
    # Form documents are JSON; partners (and DCSA) expect numbers, not decimal strings.
    return int(value) if value == value.to_integral_value() else float(value)


# Non-negative amount (weight, volume, count of packages, money) kept as Decimal for exact sums.
Amount = Annotated[
    Decimal,
    Field(ge=0),
    PlainSerializer(_decimal_as_json_number, return_type=int | float, when_used="json"),
]

FreightPaymentTerm = Literal["PRE", "COL"]  # prepaid / collect, as in DCSA and UN/EDIFACT 4237
TransportDocumentType = Literal["BOL", "SWB"]  # bill of lading / sea waybill
ServiceType = Literal["CY", "CFS", "SD"]  # container yard / freight station / store door
CargoMovementType = Literal["FCL", "LCL"]
EmptyFullIndicator = Literal["EMPTY", "LADEN"]
# Incoterms 2020 rules.
Incoterms = Literal["EXW", "FCA", "CPT", "CIP", "DAP", "DPU", "DDP", "FAS", "FOB", "CFR", "CIF"]


class FormModel(BaseModel):
    """Canonical camelCase names on the wire (Cyber Port / fieldmap), snake_case in Python.

    Unknown keys are refused so that a typo in a field name is reported, not silently dropped.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
        str_strip_whitespace=True,
    )
