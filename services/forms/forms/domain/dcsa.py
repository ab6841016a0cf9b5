"""DCSA Booking 2.0 and eBL 3.0 Shipping Instructions <-> our booking request (MX010) and S/I
(UL040) form data, without losing an attribute.

Import maps what we understand into our canonical fields and keeps the partner's payload
verbatim in `dcsaOriginal`. Export builds a DCSA document from our fields; when the form came
from DCSA, the original is reproduced and only the fields a person changed since import are
patched into it (compare the export of the form with the export of its unedited import, leaf
by leaf). So an unedited round trip returns the original byte for byte, and attributes we do
not model (charges terms, ICS2 data, reefer settings, feedbacks, ...) survive edits.
"""

from __future__ import annotations

import copy
import textwrap
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, Final

from forms.domain.paths import flatten, get_path, set_path
from forms.domain.validation import normalized_values
from shared.codes import (
    MASS_UNITS_IN_KGM,
    PACKAGE_CODES,
    VOLUME_UNITS_IN_MTQ,
    check_packing_group,
    check_un_number,
    convert_mass,
)

JsonObject = dict[str, Any]
ORIGINAL_KEY: Final = "dcsaOriginal"
BOOKING_REQUEST_FORM: Final = "MX010"
SHIPPING_INSTRUCTIONS_FORM: Final = "UL040"

_LOCATION_TYPES: Final = {
    "PRE": "placeOfReceipt",
    "POL": "portOfLoading",
    "POD": "portOfDischarge",
    "PDE": "placeOfDelivery",
}
_ROMAN_TO_PACKING_GROUP: Final = {"I": 1, "II": 2, "III": 3}


# --- helpers ---------------------------------------------------------------------------------


def _prune(value: Any) -> Any:
    """Drop None and empty containers so built payloads carry only what we know."""
    if isinstance(value, dict):
        pruned = {key: _prune(item) for key, item in value.items()}
        return {key: item for key, item in pruned.items() if item not in (None, {}, [])}
    if isinstance(value, list):
        items = [_prune(item) for item in value]
        return [item for item in items if item not in (None, {}, [])]
    return value


def _pruned(value: JsonObject) -> JsonObject:
    result = _prune(value)
    assert isinstance(result, dict)
    return result


def _measure(value: Any, unit: Any) -> JsonObject | None:
    return {"value": value, "unit": unit} if value is not None else None


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _dcsa_weight(value: Any, unit: Any) -> JsonObject | None:
    """DCSA weights are KGM or LBR only: tonnes (and grams) are sent as kilograms."""
    if value is None:
        return None
    if unit in MASS_UNITS_IN_KGM and unit not in ("KGM", "LBR"):
        return {"value": _number(convert_mass(Decimal(str(value)), unit, "KGM")), "unit": "KGM"}
    return _measure(value, unit)


def _dcsa_volume(value: Any, unit: Any) -> JsonObject | None:
    """DCSA cargo volumes are MTQ or FTQ only: litres are sent as cubic metres."""
    if value is None:
        return None
    if unit in VOLUME_UNITS_IN_MTQ and unit not in ("MTQ", "FTQ"):
        cubic_metres = Decimal(str(value)) * VOLUME_UNITS_IN_MTQ[unit]
        return {"value": _number(cubic_metres), "unit": "MTQ"}
    return _measure(value, unit)


_DCSA_LINE_LENGTH: Final = 35  # descriptionOfGoods, shippingMarks, displayedAddress items


def _lines(text: Any) -> list[str] | None:
    """Free text as DCSA lines of at most 35 characters, keeping the user's line breaks."""
    if not isinstance(text, str) or not text.strip():
        return None
    lines: list[str] = []
    for line in text.splitlines():
        lines.extend(textwrap.wrap(line, _DCSA_LINE_LENGTH) or [])
    return lines or None


def _amount(measure: Any) -> tuple[Any, Any]:
    if isinstance(measure, dict):
        return measure.get("value"), measure.get("unit")
    return None, None


def _party_from_dcsa(party: Any) -> JsonObject | None:
    if not isinstance(party, dict):
        return None
    address = party.get("address") or {}
    street = " ".join(str(address[key]) for key in ("street", "streetNumber") if address.get(key))
    lines = (
        party.get("displayedAddress") or party.get("addressLines") or ([street] if street else None)
    )
    contact = (party.get("partyContactDetails") or [{}])[0]
    return (
        _prune(
            {
                "name": party.get("partyName"),
                "addressLines": list(lines) if lines else None,
                "city": address.get("city"),
                "postalCode": address.get("postCode"),
                "countryCode": address.get("countryCode"),
                "contactName": contact.get("name"),
                "phone": contact.get("phone"),
                "email": contact.get("email"),
            }
        )
        or None
    )


def _party_to_dcsa(party: Any) -> JsonObject | None:
    if not isinstance(party, dict) or not party.get("name"):
        return None
    contact = _pruned(
        {"name": party.get("contactName"), "phone": party.get("phone"), "email": party.get("email")}
    )
    lines = [line for line in party.get("addressLines") or [] if line]
    address = None
    # DCSA's PartyAddress requires street, city and country; our first address line is the street.
    if lines and party.get("city") and party.get("countryCode"):
        address = {
            "street": lines[0][:70],
            "city": party["city"],
            "postCode": party.get("postalCode"),
            "countryCode": party["countryCode"],
        }
    fits_display = len(lines) <= 6 and all(len(line) <= _DCSA_LINE_LENGTH for line in lines)
    return _pruned(
        {
            "partyName": party["name"],
            "displayedAddress": lines if fits_display else None,
            "addressLines": None if fits_display else lines[:5],
            "address": address,
            "partyContactDetails": [contact] if contact.get("name") else None,
        }
    )


def _dangerous_goods_from_dcsa(
    items: Iterable[Any], container_no: Any, package_code: Any, packages: Any
) -> list[JsonObject]:
    result = []
    for item in items:
        un_raw = item.get("UNNumber")
        un_number = check_un_number(un_raw).normalized if un_raw else item.get("NANumber")
        group = item.get("packingGroup")
        gross, gross_unit = _amount(item.get("grossWeight"))
        net, net_unit = _amount(item.get("netWeight"))
        contact = item.get("emergencyContactDetails") or {}
        result.append(
            _prune(
                {
                    "unNumber": un_number,
                    "properShippingName": item.get("properShippingName"),
                    "technicalName": item.get("technicalName"),
                    "imdgClass": item.get("imoClass"),
                    "subsidiaryRisks": [
                        risk
                        for risk in (item.get("subsidiaryRisk1"), item.get("subsidiaryRisk2"))
                        if risk
                    ],
                    "packingGroup": check_packing_group(str(group)).normalized if group else None,
                    "emsNumber": item.get("EMSNumber"),
                    "isMarinePollutant": item.get("isMarinePollutant"),
                    "isLimitedQuantity": item.get("isLimitedQuantity"),
                    "packages": packages,
                    "packageUnitCode": package_code,
                    "grossWeight": gross,
                    "grossWeightUnitCode": gross_unit,
                    "netWeight": net,
                    "netWeightUnitCode": net_unit,
                    "containerNo": container_no,
                    "emergencyContactName": contact.get("contact"),
                    "emergencyContactPhone": contact.get("phone"),
                }
            )
        )
    return result


def _dangerous_goods_to_dcsa(item: Mapping[str, Any]) -> JsonObject:
    un_number = item.get("unNumber")
    group = item.get("packingGroup")
    risks = item.get("subsidiaryRisks") or []
    return _pruned(
        {
            "UNNumber": un_number.removeprefix("UN") if isinstance(un_number, str) else None,
            "properShippingName": item.get("properShippingName"),
            "technicalName": item.get("technicalName"),
            "imoClass": item.get("imdgClass"),
            "subsidiaryRisk1": risks[0] if risks else None,
            "subsidiaryRisk2": risks[1] if len(risks) > 1 else None,
            "packingGroup": _ROMAN_TO_PACKING_GROUP.get(str(group)) if group else None,
            "EMSNumber": item.get("emsNumber"),
            "isMarinePollutant": item.get("isMarinePollutant"),
            "isLimitedQuantity": item.get("isLimitedQuantity"),
            "grossWeight": _measure(item.get("grossWeight"), item.get("grossWeightUnitCode")),
            "netWeight": _measure(item.get("netWeight"), item.get("netWeightUnitCode")),
            "emergencyContactDetails": _prune(
                {
                    "contact": item.get("emergencyContactName"),
                    "phone": item.get("emergencyContactPhone"),
                }
            ),
        }
    )


def _patch(original: Any, baseline: Mapping[str, Any], fresh: Mapping[str, Any]) -> JsonObject:
    """Apply to `original` the leaf changes between two builds of our own payload.

    Lists are matched by position: a removed element drops the tail of the original list.
    """
    result: JsonObject = copy.deepcopy(original)
    before, after = flatten(baseline), flatten(fresh)
    for path, length in _list_lengths(fresh).items():
        target = get_path(result, path)
        if isinstance(target, list) and length < _list_lengths(baseline).get(path, length):
            del target[length:]
    for path, value in after.items():
        if before.get(path) != value or path not in before:
            set_path(result, path, copy.deepcopy(value))
    for path in before.keys() - after.keys():
        _delete_path(result, path)
    return result


def _list_lengths(document: Any, prefix: str = "") -> dict[str, int]:
    """Length of every list of objects in `document`, by path (`consignmentItems[0].cargoItems`)."""
    lengths: dict[str, int] = {}
    if isinstance(document, dict):
        for key, value in document.items():
            lengths.update(_list_lengths(value, f"{prefix}.{key}" if prefix else key))
    elif isinstance(document, list) and any(isinstance(item, dict) for item in document):
        lengths[prefix] = len(document)
        for index, item in enumerate(document):
            lengths.update(_list_lengths(item, f"{prefix}[{index}]"))
    return lengths


def _delete_path(document: JsonObject, path: str) -> None:
    parent_path, _, key = path.rpartition(".")
    parent = get_path(document, parent_path) if parent_path else document
    if isinstance(parent, dict) and "[" not in key:
        parent.pop(key, None)


def _export(
    form_code: str,
    values: Mapping[str, Any],
    build: Callable[[Mapping[str, Any]], JsonObject],
    parse: Callable[[Mapping[str, Any]], JsonObject],
) -> JsonObject:
    # Both sides are compared in the schema's canonical spelling, so a form that was stored
    # normalised (text stripped, `UN3082`, packing group `III`) does not look edited.
    fresh = build(normalized_values(form_code, values))
    original = values.get(ORIGINAL_KEY)
    if not isinstance(original, dict):
        return fresh
    baseline = build(normalized_values(form_code, parse(original)))
    return _patch(original, baseline, fresh)


# --- eBL 3.0 Shipping Instructions <-> UL040 ---------------------------------------------------


def import_shipping_instructions(payload: Mapping[str, Any]) -> JsonObject:
    """DCSA eBL 3.0 `ShippingInstructions` (create, update or GET body) -> UL040 form values."""
    parties = payload.get("documentParties") or {}
    commodity: list[JsonObject] = []
    dangerous_goods: list[JsonObject] = []
    marks: list[str] = []
    booking_numbers: list[str] = []
    for item in payload.get("consignmentItems") or []:
        if item.get("carrierBookingReference"):
            booking_numbers.append(item["carrierBookingReference"])
        marks.extend(line for line in item.get("shippingMarks") or [] if line not in marks)
        description = "\n".join(item.get("descriptionOfGoods") or []) or None
        hs_codes = item.get("HSCodes") or []
        for cargo in item.get("cargoItems") or [{}]:
            packaging = cargo.get("outerPackaging") or {}
            gross, gross_unit = _amount(cargo.get("cargoGrossWeight"))
            net, net_unit = _amount(cargo.get("cargoNetWeight"))
            volume, volume_unit = _amount(cargo.get("cargoGrossVolume"))
            commodity.append(
                _prune(
                    {
                        "lineNo": len(commodity) + 1,
                        "description": description,
                        "hsCode": hs_codes[0] if hs_codes else None,
                        "packages": packaging.get("numberOfPackages"),
                        "packageUnitCode": packaging.get("packageCode"),
                        "grossWeight": gross,
                        "grossWeightUnitCode": gross_unit,
                        "netWeight": net,
                        "netWeightUnitCode": net_unit,
                        "measurement": volume,
                        "measurementUnitCode": volume_unit,
                        "containerNo": cargo.get("equipmentReference"),
                    }
                )
            )
            dangerous_goods += _dangerous_goods_from_dcsa(
                packaging.get("dangerousGoods") or [],
                cargo.get("equipmentReference"),
                packaging.get("packageCode"),
                packaging.get("numberOfPackages"),
            )
    containers = []
    for equipment_use in payload.get("utilizedTransportEquipments") or []:
        equipment = equipment_use.get("equipment") or {}
        tare, tare_unit = _amount(equipment.get("tareWeight"))
        containers.append(
            _prune(
                {
                    "containerNo": equipment_use.get("equipmentReference")
                    or equipment.get("equipmentReference"),
                    "sizeTypeCode": equipment.get("ISOEquipmentCode"),
                    "isShipperOwned": equipment_use.get("isShipperOwned"),
                    "sealNumbers": [
                        seal.get("number") for seal in equipment_use.get("seals") or []
                    ],
                    "tareWeight": tare,
                    "tareWeightUnitCode": tare_unit,
                }
            )
        )
    notify = parties.get("notifyParties") or []
    values = _pruned(
        {
            "shippingInstructionsReference": payload.get("shippingInstructionsReference"),
            "shipper": _party_from_dcsa(parties.get("shipper")),
            "consignee": _party_from_dcsa(parties.get("consignee")),
            "notifyParty": _party_from_dcsa(notify[0]) if notify else None,
            "bookingNo": booking_numbers[0] if booking_numbers else None,
            "billOfLading": {
                "documentType": payload.get("transportDocumentTypeCode"),
                "freightPaymentTerm": payload.get("freightPaymentTermCode"),
                "isToOrder": payload.get("isToOrder"),
                "freightPayableAt": {
                    "code": (payload.get("invoicePayableAt") or {}).get("UNLocationCode")
                },
            },
            "commodity": commodity,
            "marksAndNumbers": "\n".join(marks) or None,
            "containers": containers,
            "dangerousGoods": dangerous_goods,
        }
    )
    values[ORIGINAL_KEY] = copy.deepcopy(dict(payload))
    return values


def _consignment_items(values: Mapping[str, Any]) -> list[JsonObject]:
    """Our goods lines regrouped as DCSA consignment items (same description and HS code).

    Dangerous goods are not sent: the SI's `OuterPackagingShipper` has no DG (DCSA takes them
    from the booking); ours stay on the DG list form.
    """
    marks = _lines(values.get("marksAndNumbers"))
    items: dict[tuple[Any, Any], JsonObject] = {}
    for line in values.get("commodity") or []:
        key = (line.get("description"), line.get("hsCode"))
        package_code = line.get("packageUnitCode")
        packages = line.get("packages")
        cargo_item = _pruned(
            {
                "equipmentReference": line.get("containerNo"),
                "cargoGrossWeight": _dcsa_weight(
                    line.get("grossWeight"), line.get("grossWeightUnitCode")
                ),
                "cargoNetWeight": _dcsa_weight(
                    line.get("netWeight"), line.get("netWeightUnitCode")
                ),
                "cargoGrossVolume": _dcsa_volume(
                    line.get("measurement"), line.get("measurementUnitCode")
                ),
                "outerPackaging": {
                    "numberOfPackages": _number(Decimal(str(packages)))
                    if packages is not None
                    else None,
                    "packageCode": package_code,
                    "description": PACKAGE_CODES[package_code][0].capitalize()
                    if package_code in PACKAGE_CODES
                    else "Package",
                }
                if packages is not None or package_code
                else None,
            }
        )
        if key not in items:
            items[key] = {
                "carrierBookingReference": values.get("bookingNo"),
                "descriptionOfGoods": _lines(line.get("description")),
                "HSCodes": [line["hsCode"]] if line.get("hsCode") else None,
                "shippingMarks": marks,
                "cargoItems": [],
            }
        items[key]["cargoItems"].append(cargo_item)
    return [_pruned(item) for item in items.values()]


def build_shipping_instructions(values: Mapping[str, Any]) -> JsonObject:
    """UL040 form values -> DCSA eBL 3.0 `CreateShippingInstructions` from our fields only.

    Defaults where our form has no field: a shipped-on-board, paper (`isElectronic=false`),
    not-to-order B/L, cargo not delivered in the EU ICS2 zone. The shipper's contact is the
    SI's contact (DCSA requires one).
    """
    bl = values.get("billOfLading") or {}
    shipper = values.get("shipper") or {}
    contact = _prune(
        {
            "name": shipper.get("contactName"),
            "phone": shipper.get("phone"),
            "email": shipper.get("email"),
        }
    )
    notify = _party_to_dcsa(values.get("notifyParty"))
    equipments = []
    for container in values.get("containers") or []:
        seals = [{"number": number} for number in container.get("sealNumbers") or []]
        if container.get("isShipperOwned"):
            equipments.append(
                _prune(
                    {
                        "isShipperOwned": True,
                        "equipment": {
                            "equipmentReference": container.get("containerNo"),
                            "ISOEquipmentCode": container.get("sizeTypeCode"),
                            "tareWeight": _measure(
                                container.get("tareWeight"), container.get("tareWeightUnitCode")
                            ),
                        },
                        "seals": seals,
                    }
                )
            )
        else:
            equipments.append(
                _prune(
                    {
                        "isShipperOwned": False,
                        "equipmentReference": container.get("containerNo"),
                        "seals": seals,
                    }
                )
            )
    payable_at = (bl.get("freightPayableAt") or {}).get("code")
    return _pruned(
        {
            "transportDocumentTypeCode": bl.get("documentType"),
            "isShippedOnBoardType": True,
            "freightPaymentTermCode": bl.get("freightPaymentTerm"),
            "isElectronic": False,
            "isToOrder": bool(bl.get("isToOrder")),
            "invoicePayableAt": {"UNLocationCode": payable_at} if payable_at else None,
            "isCargoDeliveredInICS2Zone": False,
            "partyContactDetails": [contact] if contact.get("name") else None,
            "documentParties": {
                "shipper": _party_to_dcsa(shipper),
                "consignee": _party_to_dcsa(values.get("consignee")),
                "notifyParties": [notify] if notify else None,
            },
            "consignmentItems": _consignment_items(values),
            "utilizedTransportEquipments": equipments,
        }
    )


def export_shipping_instructions(values: Mapping[str, Any]) -> JsonObject:
    return _export(
        SHIPPING_INSTRUCTIONS_FORM,
        values,
        build_shipping_instructions,
        import_shipping_instructions,
    )


# --- Booking 2.0 <-> booking request MX010 ----------------------------------------------------


def import_booking(payload: Mapping[str, Any]) -> JsonObject:
    """DCSA Booking 2.0 booking (create, update or GET body) -> MX010 form values."""
    parties = payload.get("documentParties") or {}
    commodity: list[JsonObject] = []
    dangerous_goods: list[JsonObject] = []
    requests = []
    for equipment in payload.get("requestedEquipments") or []:
        line_numbers = []
        for item in equipment.get("commodities") or []:
            packaging = item.get("outerPackaging") or {}
            gross, gross_unit = _amount(item.get("cargoGrossWeight"))
            volume, volume_unit = _amount(item.get("cargoGrossVolume"))
            hs_codes = item.get("HSCodes") or []
            line_no = len(commodity) + 1
            line_numbers.append(line_no)
            commodity.append(
                _prune(
                    {
                        "lineNo": line_no,
                        "description": item.get("commodityType"),
                        "hsCode": hs_codes[0] if hs_codes else None,
                        "packages": packaging.get("numberOfPackages"),
                        "packageUnitCode": packaging.get("packageCode"),
                        "grossWeight": gross,
                        "grossWeightUnitCode": gross_unit,
                        "measurement": volume,
                        "measurementUnitCode": volume_unit,
                    }
                )
            )
            dangerous_goods += _dangerous_goods_from_dcsa(
                packaging.get("dangerousGoods") or [],
                None,
                packaging.get("packageCode"),
                packaging.get("numberOfPackages"),
            )
        requests.append(
            _prune(
                {
                    "sizeTypeCode": equipment.get("ISOEquipmentCode"),
                    "quantity": equipment.get("units"),
                    "isShipperOwned": equipment.get("isShipperOwned"),
                    "commodityLineNumbers": line_numbers,
                }
            )
        )
    locations: JsonObject = {}
    for shipment_location in payload.get("shipmentLocations") or []:
        key = _LOCATION_TYPES.get(shipment_location.get("locationTypeCode"))
        location = shipment_location.get("location") or {}
        if key and key not in locations:
            locations[key] = {
                "code": location.get("UNLocationCode"),
                "name": location.get("locationName"),
            }
    vessel = payload.get("vessel") or {}
    declared = payload.get("declaredValue")
    values = _pruned(
        {
            "bookingRequestReference": payload.get("carrierBookingRequestReference"),
            "bookingNo": payload.get("carrierBookingReference"),
            "shipper": _party_from_dcsa(parties.get("shipper")),
            "consignee": _party_from_dcsa(parties.get("consignee")),
            "bookingParty": _party_from_dcsa(parties.get("bookingAgent")),
            "receiptServiceType": payload.get("receiptTypeAtOrigin"),
            "deliveryServiceType": payload.get("deliveryTypeAtDestination"),
            "cargoMovementType": payload.get("cargoMovementTypeAtOrigin"),
            "freightPaymentTerm": payload.get("freightPaymentTermCode"),
            "incoterms": payload.get("incoTerms"),
            "serviceContractNo": payload.get("serviceContractReference"),
            "declaredValue": declared.get("value") if isinstance(declared, dict) else None,
            "declaredValueCurrencyCode": declared.get("currency")
            if isinstance(declared, dict)
            else None,
            "vessel": {"name": vessel.get("name"), "imoNumber": vessel.get("vesselIMONumber")},
            "voyageNumber": payload.get("carrierExportVoyageNumber"),
            "estimatedDepartureDate": payload.get("expectedDepartureDate"),
            **locations,
            "containerRequests": requests,
            "commodity": commodity,
            "dangerousGoods": dangerous_goods,
        }
    )
    values[ORIGINAL_KEY] = copy.deepcopy(dict(payload))
    return values


def build_booking(values: Mapping[str, Any]) -> JsonObject:
    """MX010 form values -> DCSA Booking 2.0 `CreateBooking` from our fields only."""
    lines = values.get("commodity") or []
    requests = values.get("containerRequests") or []
    dangerous_goods = values.get("dangerousGoods") or []
    equipments = []
    for index, request in enumerate(requests):
        numbers = request.get("commodityLineNumbers")
        chosen = [
            line
            for line in lines
            if (line.get("lineNo") in numbers if numbers is not None else len(requests) == 1)
        ]
        commodities = []
        for line in chosen:
            is_first_dg_line = index == 0 and line is (chosen[0] if chosen else None)
            commodities.append(
                _prune(
                    {
                        "commodityType": line.get("description"),
                        "HSCodes": [line["hsCode"]] if line.get("hsCode") else None,
                        "cargoGrossWeight": _measure(
                            line.get("grossWeight"), line.get("grossWeightUnitCode")
                        ),
                        "cargoGrossVolume": _measure(
                            line.get("measurement"), line.get("measurementUnitCode")
                        ),
                        "outerPackaging": {
                            "numberOfPackages": line.get("packages"),
                            "packageCode": line.get("packageUnitCode"),
                            "dangerousGoods": [
                                _dangerous_goods_to_dcsa(dg) for dg in dangerous_goods
                            ]
                            if is_first_dg_line
                            else None,
                        },
                    }
                )
            )
        equipments.append(
            _prune(
                {
                    "ISOEquipmentCode": request.get("sizeTypeCode"),
                    "units": request.get("quantity"),
                    "isShipperOwned": bool(request.get("isShipperOwned")),
                    "commodities": commodities,
                }
            )
        )
    locations = [
        {
            "location": _prune(
                {"UNLocationCode": (values.get(key) or {}).get("code"),
                 "locationName": (values.get(key) or {}).get("name")}
            ),
            "locationTypeCode": type_code,
        }
        for type_code, key in _LOCATION_TYPES.items()
        if (values.get(key) or {}).get("code")
    ]  # fmt: skip
    vessel = values.get("vessel") or {}
    movement = values.get("cargoMovementType")
    declared = values.get("declaredValue")
    return _pruned(
        {
            "carrierBookingRequestReference": values.get("bookingRequestReference"),
            "carrierBookingReference": values.get("bookingNo"),
            "receiptTypeAtOrigin": values.get("receiptServiceType"),
            "deliveryTypeAtDestination": values.get("deliveryServiceType"),
            "cargoMovementTypeAtOrigin": movement,
            "cargoMovementTypeAtDestination": movement,
            "serviceContractReference": values.get("serviceContractNo"),
            "freightPaymentTermCode": values.get("freightPaymentTerm"),
            "incoTerms": values.get("incoterms"),
            "declaredValue": {
                "value": declared,
                "currency": values.get("declaredValueCurrencyCode"),
            }
            if declared is not None
            else None,
            "vessel": {"name": vessel.get("name"), "vesselIMONumber": vessel.get("imoNumber")},
            "carrierExportVoyageNumber": values.get("voyageNumber"),
            "expectedDepartureDate": values.get("estimatedDepartureDate"),
            "isEquipmentSubstitutionAllowed": False,
            "documentParties": {
                "shipper": _party_to_dcsa(values.get("shipper")),
                "consignee": _party_to_dcsa(values.get("consignee")),
                "bookingAgent": _party_to_dcsa(values.get("bookingParty")),
            },
            "shipmentLocations": locations,
            "requestedEquipments": equipments,
        }
    )


def export_booking(values: Mapping[str, Any]) -> JsonObject:
    return _export(BOOKING_REQUEST_FORM, values, build_booking, import_booking)
