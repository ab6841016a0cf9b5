"""Building blocks shared by many forms: parties, locations, vessel, goods lines, containers."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from forms.domain.base import Amount, FormModel, FreightPaymentTerm, TransportDocumentType
from shared.codes import (
    ContainerNumber,
    ContainerSizeType,
    CorporateNumber,
    CountryCode,
    CurrencyCode,
    HsOrNationalCode,
    ImdgClass,
    ImoNumber,
    LocodeFormat,
    MassUnitCode,
    NaccsTraderCode,
    PackageCode,
    PackingGroup,
    TradeDate,
    UnitCode,
    UnNumber,
    VolumeUnitCode,
)


class Party(FormModel):
    name: str | None = None
    address_lines: list[str] | None = None
    city: str | None = None
    postal_code: str | None = None
    country_code: CountryCode | None = None
    corporate_number: CorporateNumber | None = None
    naccs_trader_code: NaccsTraderCode | None = None
    contact_name: str | None = None
    phone: str | None = None
    email: str | None = None


class Location(FormModel):
    code: LocodeFormat | None = None
    name: str | None = None


class Facility(FormModel):
    """A terminal, CY, CFS, depot or bonded area (NACCS 保税地域コード is 5 characters)."""

    code: str | None = None
    name: str | None = None
    bonded_area_code: str | None = None
    location: Location | None = None


class Vessel(FormModel):
    name: str | None = None
    call_sign: str | None = None
    imo_number: ImoNumber | None = None
    flag_country_code: CountryCode | None = None


class BillOfLadingInfo(FormModel):
    bl_no: str | None = None
    document_type: TransportDocumentType | None = None
    number_of_originals: int | None = None
    place_of_issue: Location | None = None
    date_of_issue: TradeDate | None = None
    shipped_on_board_date: TradeDate | None = None
    freight_payment_term: FreightPaymentTerm | None = None
    freight_payable_at: Location | None = None
    is_to_order: bool | None = None


class SeaWaybillInfo(FormModel):
    sea_waybill_no: str | None = None
    date_of_issue: TradeDate | None = None


class CommodityItem(FormModel):
    line_no: int | None = None
    # The seller's own code for the goods (品番). The NACCS bridge finds it in the organisation's
    # product master: the classification, statistical units and control codes the broker gave it
    # the first time prefill the declaration lines (EDA/IDA) from then on.
    product_code: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    description: str | None = None
    hs_code: HsOrNationalCode | None = None
    packages: Amount | None = None
    package_unit_code: PackageCode | None = None
    gross_weight: Amount | None = None
    gross_weight_unit_code: MassUnitCode | None = None
    net_weight: Amount | None = None
    net_weight_unit_code: MassUnitCode | None = None
    measurement: Amount | None = None
    measurement_unit_code: VolumeUnitCode | None = None
    country_of_origin_code: CountryCode | None = None
    container_no: ContainerNumber | None = None


class InvoiceLine(CommodityItem):
    quantity: Amount | None = None
    quantity_unit_code: UnitCode | None = None
    unit_price: Amount | None = None
    amount: Amount | None = None
    currency_code: CurrencyCode | None = None


class PackingLine(CommodityItem):
    package_numbers: str | None = None  # e.g. "1-50": marks on the boxes
    dimensions: str | None = None


class Container(FormModel):
    container_no: ContainerNumber | None = None
    size_type_code: ContainerSizeType | None = None
    seal_numbers: list[str] | None = None
    is_shipper_owned: bool | None = None
    empty_full_indicator: str | None = None
    tare_weight: Amount | None = None
    tare_weight_unit_code: MassUnitCode | None = None
    cargo_weight: Amount | None = None
    cargo_weight_unit_code: MassUnitCode | None = None
    verified_gross_mass: Amount | None = None
    verified_gross_mass_unit_code: MassUnitCode | None = None
    packages: Amount | None = None
    package_unit_code: PackageCode | None = None
    measurement: Amount | None = None
    measurement_unit_code: VolumeUnitCode | None = None
    reefer_set_temperature: float | None = None
    reefer_temperature_unit_code: UnitCode | None = None


class ContainerRequest(FormModel):
    size_type_code: ContainerSizeType | None = None
    quantity: int | None = None
    is_shipper_owned: bool | None = None
    # Which goods lines (by `lineNo`) travel in this equipment type, as DCSA bookings nest them.
    commodity_line_numbers: list[int] | None = None


class DangerousGoodsItem(FormModel):
    un_number: UnNumber | None = None
    proper_shipping_name: str | None = None
    technical_name: str | None = None
    imdg_class: ImdgClass | None = None
    subsidiary_risks: list[ImdgClass] | None = None
    packing_group: PackingGroup | None = None
    flash_point: float | None = None
    flash_point_unit_code: UnitCode | None = None
    ems_number: str | None = None
    is_marine_pollutant: bool | None = None
    is_limited_quantity: bool | None = None
    packages: Amount | None = None
    package_unit_code: PackageCode | None = None
    gross_weight: Amount | None = None
    gross_weight_unit_code: MassUnitCode | None = None
    net_weight: Amount | None = None
    net_weight_unit_code: MassUnitCode | None = None
    container_no: ContainerNumber | None = None
    emergency_contact_name: str | None = None
    emergency_contact_phone: str | None = None


class Charge(FormModel):
    description: str | None = None
    amount: Amount | None = None
    currency_code: CurrencyCode | None = None
    payment_term: FreightPaymentTerm | None = None
    quantity: Amount | None = None
    unit_price: Amount | None = None


class CutOffTimes(FormModel):
    cy_cut_off: str | None = None  # ISO 8601 date-time with offset; terminal local time
    documentation_cut_off: str | None = None
    vgm_cut_off: str | None = None
    dangerous_goods_cut_off: str | None = None


class IssuerBlock(FormModel):
    """書類発行者: filled from the user's organisation when the form is created."""

    document_no: str | None = None
    issue_date: TradeDate | None = None
    issuer: Party | None = None
    remarks: str | None = None


__all__ = [
    "BillOfLadingInfo",
    "Charge",
    "CommodityItem",
    "Container",
    "ContainerRequest",
    "CutOffTimes",
    "DangerousGoodsItem",
    "Facility",
    "InvoiceLine",
    "IssuerBlock",
    "Location",
    "PackingLine",
    "Party",
    "SeaWaybillInfo",
    "Vessel",
]
