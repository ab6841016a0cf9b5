"""Fixtures shared by the forms unit tests."""

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def dcsa_fixtures() -> Path:
    """DCSA example payloads; CI clones the repository with `shared/` beside it."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent.parent / "shared" / "interop" / "dcsa"
        if candidate.is_dir():
            return candidate
    raise RuntimeError("DCSA fixtures not found: expected <repo>/../shared/interop/dcsa")


@pytest.fixture
def hand_built_si() -> dict[str, Any]:
    return {
        "shipper": {
            "name": "Minato Trading Co., Ltd.",
            "addressLines": ["1-1 Kaigan", "Minato-ku, Tokyo"],
            "city": "Tokyo",
            "postalCode": "105-0022",
            "countryCode": "JP",
            "contactName": "Sato Hanako",
            "email": "export@minato-trading.example.jp",
        },
        "consignee": {
            "name": "ACME GmbH",
            "addressLines": ["Grosse Elbstrasse 1"],
            "city": "Hamburg",
            "countryCode": "DE",
        },
        "bookingNo": "TYOA12345600",
        "billOfLading": {"documentType": "BOL", "freightPaymentTerm": "PRE", "isToOrder": False},
        "commodity": [
            {
                "description": "Shoes - black",
                "hsCode": "640510",
                "packages": 400,
                "packageUnitCode": "CT",
                "grossWeight": 12000,
                "grossWeightUnitCode": "KGM",
                "containerNo": "CSQU3054383",
            }
        ],
        "marksAndNumbers": "ACME\nHAMBURG\nC/NO. 1-400",
        "containers": [{"containerNo": "CSQU3054383", "sealNumbers": ["JP-0001"]}],
    }
