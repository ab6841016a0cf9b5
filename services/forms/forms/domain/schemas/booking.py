"""Booking request (船腹予約依頼書) and booking confirmation UL050 (船腹予約確認書)."""

from __future__ import annotations

from forms.domain.base import (
    Amount,
    CargoMovementType,
    FreightPaymentTerm,
    Incoterms,
    ServiceType,
)
from forms.domain.common import ContainerRequest, CutOffTimes, Facility, Party
from forms.domain.schemas._document import DcsaCarrying, FormDocument
from forms.domain.shared_items import (
    BillOfLadingItems,
    CommodityItems,
    DangerousGoodsItems,
    PartiesItems,
    TotalsItems,
    VoyageItems,
)
from shared.codes import CurrencyCode, TradeDate


class BookingTerms(FormDocument):
    booking_party: Party | None = None
    forwarder: Party | None = None
    container_requests: list[ContainerRequest] | None = None
    receipt_service_type: ServiceType | None = None
    delivery_service_type: ServiceType | None = None
    cargo_movement_type: CargoMovementType | None = None
    freight_payment_term: FreightPaymentTerm | None = None
    incoterms: Incoterms | None = None
    service_contract_no: str | None = None
    declared_value: Amount | None = None
    declared_value_currency_code: CurrencyCode | None = None


class BookingRequest(
    BookingTerms,
    DcsaCarrying,
    PartiesItems,
    BillOfLadingItems,
    VoyageItems,
    CommodityItems,
    TotalsItems,
    DangerousGoodsItems,
):
    """Shipper/forwarder asks a carrier for space. DCSA Booking 2.0 `CreateBooking`."""

    booking_request_reference: str | None = None
    cargo_ready_date: TradeDate | None = None


class BookingConfirmation(
    BookingTerms,
    PartiesItems,
    BillOfLadingItems,
    VoyageItems,
    CommodityItems,
    TotalsItems,
    DangerousGoodsItems,
):
    """UL050. Carrier confirms space; its booking no., vessel/voyage and ports lock once sent."""

    booking_request_reference: str | None = None
    booking_date: TradeDate | None = None
    cut_off_times: CutOffTimes | None = None
    empty_pickup_facility: Facility | None = None
    return_facility: Facility | None = None
    carrier_booking_office: Party | None = None
