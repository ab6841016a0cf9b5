"""Export shipping documents: S/I UL040, B/L UL150, sea waybill, house B/L, dock receipt,
shipping advice, cargo manifest."""

from __future__ import annotations

from forms.domain.base import (
    Amount,
    CargoMovementType,
    Incoterms,
    ServiceType,
)
from forms.domain.common import Charge, ContainerRequest, Facility, Location, Party
from forms.domain.schemas._document import DcsaCarrying, FormDocument
from forms.domain.shared_items import (
    BillOfLadingItems,
    CommodityItems,
    ContainerItems,
    DangerousGoodsItems,
    PartiesItems,
    TotalsItems,
    VoyageItems,
)
from shared.codes import CurrencyCode, TradeDate


class _CarriedCargo(
    PartiesItems, BillOfLadingItems, VoyageItems, CommodityItems, TotalsItems, ContainerItems
):
    pass


class ShippingInstructions(DcsaCarrying, _CarriedCargo, DangerousGoodsItems):
    """UL040 船積依頼書. Shipper instructs forwarder/carrier how to ship and what the B/L says."""

    forwarder: Party | None = None
    customs_broker: Party | None = None
    incoterms: Incoterms | None = None
    invoice_no: str | None = None
    declared_value: Amount | None = None
    declared_value_currency_code: CurrencyCode | None = None
    receipt_service_type: ServiceType | None = None
    delivery_service_type: ServiceType | None = None
    cargo_movement_type: CargoMovementType | None = None
    container_requests: list[ContainerRequest] | None = None
    vanning_place: Facility | None = None
    cargo_ready_date: TradeDate | None = None
    certificate_of_origin_required: bool | None = None
    bl_remarks: str | None = None
    shipping_instructions_reference: str | None = None


class _TransportDocument(FormDocument, _CarriedCargo):
    carrier: Party | None = None
    freight_charges: list[Charge] | None = None
    carrier_clauses: list[str] | None = None
    declared_value: Amount | None = None
    declared_value_currency_code: CurrencyCode | None = None
    receipt_service_type: ServiceType | None = None
    delivery_service_type: ServiceType | None = None
    pre_carriage_by: str | None = None
    on_carriage_by: str | None = None


class BillOfLading(_TransportDocument, DangerousGoodsItems):
    """UL150 船荷証券. Issued by the carrier; a trigger form for the B/L data."""


class SeaWaybill(_TransportDocument):
    """海上運送状: non-negotiable transport document (DCSA `SWB`)."""


class HouseBillOfLading(_TransportDocument):
    """House B/L issued by an NVOCC/forwarder under a master B/L."""

    master_bl_no: str | None = None
    house_bl_no: str | None = None


class DockReceipt(FormDocument, _CarriedCargo):
    """D/R 船積貨物受取証: terminal/carrier acknowledges receipt of export cargo."""

    received_date: TradeDate | None = None
    receiving_facility: Facility | None = None
    exceptions: str | None = None


class ShippingAdvice(FormDocument, _CarriedCargo):
    """船積通知: seller tells the buyer (and insurer) what was shipped and when."""

    invoice_no: str | None = None
    insurance_policy_no: str | None = None
    shipped_on_board_date: TradeDate | None = None


class ManifestEntry(PartiesItems, CommodityItems, TotalsItems):
    bl_no: str | None = None
    port_of_loading: Location | None = None
    port_of_discharge: Location | None = None


class CargoManifest(FormDocument, BillOfLadingItems, VoyageItems):
    """積荷目録: per vessel call, all B/Ls loaded or to be discharged (NACCS MFR source)."""

    entries: list[ManifestEntry] | None = None
