"""A realistic export trade for the bridge's API tests: 株式会社ミナト電機 ships servo motors Tokyo → Los Angeles."""

from __future__ import annotations

import copy
from typing import Any

COMPANIES_CSV = """company_id,name,name_en,corporate_number,branch_no,postal_code,address1,address2,address3,phone
minato-denki,株式会社ミナト電機,"MINATO DENKI CO., LTD.",4010401034567,0000,1080023,TOKYO TO,MINATO KU,3-4-1 SHIBAURA,03-5555-0101
"""
PRODUCTS_CSV = """product_code,hs_code,quantity_unit1,quantity_unit2,export_control_code
SRV-750,8501.52-000,NO,KG,99999
SRV-1K5,850152000,NO,KG,99999
"""
VESSELS_CSV = """name,call_sign,nationality
ONE HARMONY,9V7654,SG
"""
BONDED_AREAS_CSV = """code,name,customs_office,customs_department,port
1AW61,OHI CONTAINER TERMINAL,1A,61,JPTYO
"""

EXPORT_BUNDLE: dict[str, Any] = {
    "SI": {
        "shipper": {"companyId": "minato-denki", "name": "株式会社ミナト電機"},
        "consignee": {
            "name": "Pacific Motion Supply Inc.",
            "address": "1200 Harbor Blvd, Long Beach, CA, United States",
            "postalCode": "90802",
            "countryCode": "US",
        },
        "bookingNo": "ONEYTYOE12345600",
        "scacCode": "ONEY",
        "vessel": {"name": "ONE HARMONY"},
        "voyageNumber": "025E",
        "portOfLoading": {"name": "Tokyo, Japan"},
        "portOfDischarge": {"name": "Los Angeles, CA"},
        "finalDestination": {"code": "USLAX", "name": "Los Angeles"},
        "commodity": [{"description": "Industrial AC servo motors"}],
        "marksAndNumbers": "PMS\nLOS ANGELES\nC/NO. 1-120",
        "totalPackages": 120,
        "totalPackagesUnitCode": "CARTONS",
        "commodityTotalGrossWeight": "8450.5",
        "commodityTotalGrossWeightUnitCode": "KGS",
        "commodityTotalMeasurement": "48.2",
        "commodityTotalMeasurementUnitCode": "CBM",
        "incoterms": "FOB",
        "invoiceNo": "MD-2026-1122",
        "carryInDate": "2026-11-27",
    },
    "BK": {
        "bookingNo": "ONEYTYOE12345600",
        "scacCode": "ONEY",
        "vessel": {"name": "ONE HARMONY"},
        "voyageNumber": "025E",
        "portOfLoading": {"code": "JPTYO"},
        "portOfDischarge": {"code": "USLAX"},
        "estimatedDepartureDate": "2026-12-01",
        "returnFacility": {"bondedAreaCode": "1AW61", "name": "Ohi container terminal"},
        "cargoMovementType": "FCL",
        "containerRequests": [{"sizeTypeCode": "45G1", "quantity": 2}],
    },
    "IV": {
        "invoiceNo": "MD-2026-1122",
        "incoterms": "FOB",
        "currencyCode": "JPY",
        "totalAmount": "27800000",
        "commodity": [
            {
                "productCode": "SRV-750",
                "description": "AC servo motor 750W",
                "quantity": 80,
                "quantityUnitCode": "PCS",
                "netWeight": "3360",
                "amount": "18500000",
            },
            {
                "productCode": "SRV-1K5",
                "description": "AC servo motor 1.5kW",
                "quantity": 40,
                "quantityUnitCode": "PCS",
                "netWeight": "2720",
                "amount": "9300000",
            },
        ],
    },
    "shared": {
        "tradeNo": "EXP-2026-000123",
        "scacCode": "ONEY",
        "containers": [
            {"containerNo": "ONEU1234565", "sealNumbers": ["JP778812"], "sizeTypeCode": "45G1"},
            {"containerNo": "ONEU7654320", "sealNumbers": ["JP778813"], "sizeTypeCode": "45G1"},
        ],
    },
}


def export_bundle(**changes: Any) -> dict[str, Any]:
    """The bundle with dotted-path changes, e.g. ``export_bundle(**{"BK.portOfLoading.code": "USLAX"})``."""
    bundle = copy.deepcopy(EXPORT_BUNDLE)
    for path, value in changes.items():
        *parents, last = path.split(".")
        node = bundle
        for part in parents:
            node = node[part]
        node[last] = value
    return bundle
