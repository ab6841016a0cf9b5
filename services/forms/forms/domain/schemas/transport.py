"""Inland transport and warehousing: delivery (transport) instructions, cargo delivery
document, delivery note, warehouse receipt."""

from __future__ import annotations

from forms.domain.common import Facility, Party
from forms.domain.schemas._document import FormDocument
from forms.domain.shared_items import (
    BillOfLadingItems,
    CommodityItems,
    ContainerItems,
    PartiesItems,
    TotalsItems,
    VoyageItems,
)
from shared.codes import TradeDate


class _Haulage(
    FormDocument,
    PartiesItems,
    BillOfLadingItems,
    VoyageItems,
    CommodityItems,
    TotalsItems,
    ContainerItems,
):
    trucker: Party | None = None
    pickup_facility: Facility | None = None
    delivery_facility: Facility | None = None


class DeliveryInstructions(_Haulage):
    """運送依頼書: forwarder/shipper orders a trucker (incl. laden container delivery to CY)."""

    requested_pickup_date: TradeDate | None = None
    requested_delivery_date: TradeDate | None = None
    delivery_address: Party | None = None


class DeliveryDocument(_Haulage):
    """貨物輸送送り状: consignment note that travels with the truck."""

    delivery_date: TradeDate | None = None


class DeliveryNote(_Haulage):
    """納品書: confirms goods were delivered to the consignee's door."""

    delivered_date: TradeDate | None = None
    received_by: str | None = None
    exceptions: str | None = None


class WarehouseReceipt(_Haulage):
    """倉庫受領書 (入庫報告): the warehouse confirms receipt of cargo into storage."""

    warehouse: Party | None = None
    received_date: TradeDate | None = None
    exceptions: str | None = None
