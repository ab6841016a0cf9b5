"""Realistic trade fixtures for the NACCS bridge's domain tests (no I/O).

* ``export_fcl``: 株式会社ミナト電機 (Tokyo) ships servo motors FOB Tokyo → Los Angeles, 2×40' HC on ONE HARMONY.
  The company and both products are in the master; the trade has been through ECR already.
* ``export_lcl``: 浪速化成株式会社 (Osaka) ships resin CIF Kobe → Hamburg, LCL through a CFS. One product is new
  (not yet classified) and the S/I gives no carry-in date.
* ``import_fcl``: ホクト家具株式会社 (Yokohama) imports wooden chairs CIF from Ho Chi Minh City, 1×40' on WAN HAI 316,
  freight prepaid (the A/N shows no freight amount).

Form and shared-item names follow the forms service's schemas (services/forms/forms/domain).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from naccs_bridge.domain.bundle import TradeBundle
from naccs_bridge.domain.transforms import PrefillConfig

MASTER: dict[str, Any] = {
    "companies": [
        {
            "companyId": "minato-denki",
            "name": "株式会社ミナト電機",
            "nameEn": "MINATO DENKI CO., LTD.",
            "corporateNumber": "4010401034567",
            "branchNo": "0000",
            "postalCode": "108-0023",
            "address1": "TOKYO TO",
            "address2": "MINATO KU",
            "address3": "3-4-1 SHIBAURA",
            "address4": "GRAND PARK TOWER 12F",
            "phone": "03-5555-0101",
        },
        {
            "companyId": "naniwa-kasei",
            "name": "浪速化成株式会社",
            "nameEn": "NANIWA KASEI CO., LTD.",
            "corporateNumber": "2120001077123",
            "branchNo": "0002",
            "postalCode": "550-0002",
            "address1": "OSAKA FU",
            "address2": "OSAKA SHI NISHI KU",
            "address3": "1-8-15 EDOBORI",
            "phone": "06-6443-0200",
        },
        {
            "companyId": "hokuto-kagu",
            "name": "ホクト家具株式会社",
            "nameEn": "HOKUTO KAGU CO., LTD.",
            "corporateNumber": "8180001031234",
            "branchNo": "0000",
            "postalCode": "231-0023",
            "address1": "KANAGAWA KEN",
            "address2": "YOKOHAMA SHI NAKA KU",
            "address3": "2-6 YAMASHITA CHO",
            "phone": "045-210-7788",
            "paymentMethod": "R",
            "bankAccountNo": "00123456789",
        },
    ],
    "products": [
        {
            "productCode": "SRV-750",
            "hsCode": "8501.52-000",
            "quantityUnit1": "NO",
            "quantityUnit2": "KG",
            "exportControlCode": "99999",
        },
        {
            "productCode": "SRV-1K5",
            "hsCode": "850152000",
            "quantityUnit1": "NO",
            "quantityUnit2": "KG",
            "exportControlCode": "99999",
        },
        {
            "productCode": "PP-H700",
            "hsCode": "390210000",
            "quantityUnit1": "KG",
            "exportControlCode": "99999",
        },
        {
            "productCode": "CH-OAK-01",
            "importHsCode": "940161000",
            "quantityUnit1": "NO",
            "quantityUnit2": "KG",
            "placeOfOriginCode": "VN",
        },
        {
            "productCode": "TB-OAK-12",
            "importHsCode": "940360000",
            "quantityUnit1": "NO",
            "quantityUnit2": "KG",
            "placeOfOriginCode": "VN",
        },
    ],
    "vessels": [
        {"name": "ONE HARMONY", "callSign": "9V7654", "nationality": "SG"},
        {"name": "NYK DELPHINUS", "callSign": "3FXY8", "nationality": "PA"},
        {"name": "WAN HAI 316", "callSign": "9V2135", "nationality": "SG"},
    ],
    "bondedAreas": [
        {
            "code": "1AW61",
            "name": "OHI CONTAINER TERMINAL",
            "customsOffice": "1A",
            "customsDepartment": "61",
        },
        {
            "code": "3DK05",
            "name": "KOBE PORT ISLAND CFS",
            "customsOffice": "3D",
            "customsDepartment": "05",
        },
        {
            "code": "2DW11",
            "name": "HONMOKU BC TERMINAL",
            "customsOffice": "2D",
            "customsDepartment": "11",
        },
    ],
}


@pytest.fixture
def config() -> PrefillConfig:
    return PrefillConfig(
        today=date(2026, 11, 22),
        declarant_user_code="3AB12",
        exchange_rates_to_jpy={"USD": Decimal("152.35"), "EUR": Decimal("163.10")},
        invoice_identification="B",
        price_class_code="A",
    )


@pytest.fixture
def export_fcl() -> TradeBundle:
    marks = "PMS\nLOS ANGELES\nC/NO. 1-120\nMADE IN JAPAN"
    vessel = {"name": "ONE HARMONY"}
    return TradeBundle.model_validate(
        {
            "SI": {
                "shipper": {
                    "companyId": "minato-denki",
                    "name": "株式会社ミナト電機",
                    "address": "東京都港区芝浦3-4-1 グランパークタワー12階",
                },
                "consignee": {
                    "name": "Pacific Motion Supply Inc.",
                    "address": "1200 Harbor Blvd, Suite 300, Long Beach, CA, United States",
                    "postalCode": "90802",
                    "countryCode": "US",
                },
                "notifyParty": {"name": "SAME AS CONSIGNEE"},
                "bookingNo": "ONEYTYOE12345600",
                "scacCode": "ONEY",
                "vessel": vessel,
                "voyageNumber": "025E",
                "portOfLoading": {"name": "Tokyo, Japan"},
                "portOfDischarge": {"name": "Los Angeles, CA"},
                "placeOfDelivery": {"name": "Los Angeles"},
                "finalDestination": {"code": "USLAX", "name": "Los Angeles"},
                "commodity": [{"description": "Industrial AC servo motors"}],
                "marksAndNumbers": marks,
                "totalPackages": 120,
                "totalPackagesUnitCode": "CARTONS",
                "commodityTotalGrossWeight": "8450.5",
                "commodityTotalGrossWeightUnitCode": "KGS",
                "commodityTotalMeasurement": "48.2",
                "commodityTotalMeasurementUnitCode": "CBM",
                "incoterms": "FOB",
                "invoiceNo": "MD-2026-1122",
                "shipperReference": "PO-88213",
                "remarks": "取扱注意 精密機器につき横積み厳禁",
                "carryInDate": "2026-11-27",
                "billOfLading": {"numberOfOriginals": 3},
            },
            "BK": {
                "bookingNo": "ONEYTYOE12345600",
                "bookingDate": "2026-11-10",
                "scacCode": "ONEY",
                "vessel": vessel,
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
                "currencyCode": "USD",
                "totalAmount": "182400.00",
                "commodity": [
                    {
                        "productCode": "SRV-750",
                        "description": "AC servo motor 750W",
                        "quantity": 80,
                        "quantityUnitCode": "PCS",
                        "netWeight": "3360",
                        "amount": "121600.00",
                    },
                    {
                        "productCode": "SRV-1K5",
                        "description": "AC servo motor 1.5kW",
                        "quantity": 40,
                        "quantityUnitCode": "PCS",
                        "netWeight": "2720",
                        "amount": "60800.00",
                    },
                ],
            },
            "PL": {
                "totalPackages": 120,
                "totalPackagesUnitCode": "CTNS",
                "commodityTotalGrossWeight": "8450.5",
                "commodityTotalGrossWeightUnitCode": "KG",
                "commodityTotalMeasurement": "48.2",
                "commodityTotalMeasurementUnitCode": "M3",
                "marksAndNumbers": marks,
            },
            "shared": {
                "tradeNo": "EXP-2026-000123",
                "scacCode": "ONEY",
                "containers": [
                    {
                        "containerNo": "ONEU1234566",
                        "sealNumbers": ["JP778812"],
                        "sizeTypeCode": "45G1",
                        "tareWeight": "3900",
                    },
                    {
                        "containerNo": "ONEU7654329",
                        "sealNumbers": ["JP778813"],
                        "sizeTypeCode": "45G1",
                        "tareWeight": "3900",
                    },
                ],
            },
            "master": MASTER,
            "previous": {"exportControlNo": "1ECR2611220001"},
        }
    )


@pytest.fixture
def export_lcl() -> TradeBundle:
    return TradeBundle.model_validate(
        {
            "SI": {
                "shipper": {
                    "name": "NANIWA KASEI CO., LTD.",
                    "address": "大阪府大阪市西区江戸堀1-8-15",
                },
                "consignee": {
                    "name": "Hanse Kunststoffe GmbH",
                    "addressLines": ["Billstrasse 120"],
                    "city": "Hamburg",
                    "postalCode": "20539",
                    "countryCode": "DE",
                },
                "bookingNo": "KBE0098812",
                "scacCode": "NYKS",
                "portOfLoading": "Kobe",
                "portOfDischarge": "Hamburg",
                "finalDestination": "Hamburg, Germany",
                "commodity": [
                    {"description": "Polypropylene resin pellets"},
                    {"description": "Polypropylene resin pellets"},
                ],
                "marksAndNumbers": "HKS HAMBURG NO.1-40",
                "totalPackages": 40,
                "totalPackagesUnitCode": "BAGS",
                "commodityTotalGrossWeight": "1020",
                "commodityTotalGrossWeightUnitCode": "KGM",
                "commodityTotalMeasurement": "2.1",
                "invoiceNo": "NK-4471",
            },
            "BK": {
                "bookingNo": "KBE0098812",
                "scacCode": "NYKS",
                "vessel": {"name": "NYK Delphinus"},
                "voyageNumber": "112W",
                "portOfLoading": {"name": "Kobe"},
                "portOfDischarge": {"name": "Hamburg"},
                "estimatedDepartureDate": "2026-12-04",
                "returnFacility": {"bondedAreaCode": "3DK05"},
                "cargoMovementType": "LCL",
                "containerRequests": [{"sizeTypeCode": "22G1", "quantity": 1}],
            },
            "IV": {
                "invoiceNo": "NK-4471",
                "incoterms": "CIF",
                "currencyCode": "EUR",
                "totalAmount": "9360.00",
                "freightAmount": "640.00",
                "insuranceAmount": "20.00",
                "commodity": [
                    {
                        "productCode": "PP-H700",
                        "description": "Polypropylene homopolymer H700",
                        "netWeight": "800",
                        "amount": "7200.00",
                    },
                    {
                        "productCode": "PP-CLR9",
                        "description": "Polypropylene clarified grade",
                        "netWeight": "200",
                        "amount": "2160.00",
                    },
                ],
            },
            "PL": {
                "totalPackages": 40,
                "totalPackagesUnitCode": "BAG",
                "commodityTotalGrossWeight": "1020",
                "commodityTotalGrossWeightUnitCode": "KG",
            },
            "shared": {"tradeNo": "EXP-2026-000124"},
            "master": MASTER,
            "previous": {"exportControlNo": "3ECR2611220017"},
        }
    )


@pytest.fixture
def import_fcl() -> TradeBundle:
    return TradeBundle.model_validate(
        {
            "AN": {
                "billOfLading": {"blNo": "WHLC035E812345"},
                "shipper": {
                    "name": "Saigon Oak Furniture JSC",
                    "address": "Lot C5, Street 12, Tan Thuan EPZ, District 7, Ho Chi Minh City, Vietnam",
                    "postalCode": "700000",
                },
                "consignee": {"companyId": "hokuto-kagu", "name": "HOKUTO KAGU CO., LTD."},
                "notifyParty": {"name": "HOKUTO KAGU CO., LTD."},
                "vessel": {"name": "WAN HAI 316"},
                "voyageNumber": "N035",
                "estimatedArrivalDate": "2026-11-25",
                "portOfLoading": {"name": "Ho Chi Minh City, Vietnam"},
                "portOfDischarge": {"code": "JPYOK", "name": "Yokohama"},
                "storageFacility": {"bondedAreaCode": "2DW11", "name": "Honmoku BC terminal"},
                "commodity": [{"description": "Wooden chairs and tables"}],
                "marksAndNumbers": "HOKUTO YOKOHAMA C/NO.1-210",
                "totalPackages": 210,
                "totalPackagesUnitCode": "CARTONS",
                "commodityTotalGrossWeight": "6240",
                "commodityTotalGrossWeightUnitCode": "KGS",
                "commodityTotalMeasurement": "64.8",
                "charges": [{"description": "Ocean freight", "paymentTerm": "PRE"}],
            },
            "IV": {
                "invoiceNo": "SOF-24-0917",
                "incoterms": "CIF",
                "currencyCode": "USD",
                "totalAmount": "41580.00",
                "insuranceAmount": "46.00",
                "commodity": [
                    {
                        "productCode": "CH-OAK-01",
                        "description": "Oak dining chair",
                        "quantity": 360,
                        "netWeight": "2880",
                        "amount": "25200.00",
                        "countryOfOriginCode": "VN",
                    },
                    {
                        "productCode": "TB-OAK-12",
                        "description": "Oak dining table 1200",
                        "quantity": 90,
                        "netWeight": "2700",
                        "amount": "16380.00",
                    },
                ],
            },
            "shared": {
                "tradeNo": "IMP-2026-000045",
                "containers": [
                    {
                        "containerNo": "WHSU5123452",
                        "sealNumbers": ["WHL0091234"],
                        "sizeTypeCode": "45G1",
                    }
                ],
            },
            "master": MASTER,
        }
    )
