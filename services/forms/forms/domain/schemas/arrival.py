"""Import documents: arrival notice UL290, delivery order, D/O-less request, cargo boat note,
cargo clearance and delivery instructions, devanning report."""

from __future__ import annotations

from forms.domain.base import Amount
from forms.domain.common import Charge, Facility, Party
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


class _ImportCargo(
    FormDocument,
    PartiesItems,
    BillOfLadingItems,
    VoyageItems,
    CommodityItems,
    TotalsItems,
    ContainerItems,
):
    pass


class ArrivalNotice(_ImportCargo):
    """UL290 到着通知 (A/N). Carrier tells consignee/notify party the cargo is arriving."""

    carrier: Party | None = None
    storage_facility: Facility | None = None  # 蔵置場所 (CY/CFS, NACCS bonded area code)
    charges: list[Charge] | None = None
    free_time_expiry_date: TradeDate | None = None
    delivery_order_office: Party | None = None


class DeliveryOrder(_ImportCargo):
    """荷渡指図書 (D/O): carrier instructs the terminal to release cargo to the holder."""

    delivery_order_no: str | None = None
    release_to: Party | None = None
    storage_facility: Facility | None = None
    valid_until: TradeDate | None = None


class DeliveryOrderLessRequest(_ImportCargo):
    """荷渡指図書レス申込書: request to release without a paper D/O (freight paid, B/L surrendered)."""

    requester: Party | None = None
    release_to: Party | None = None
    storage_facility: Facility | None = None
    freight_paid: bool | None = None
    original_bls_surrendered: bool | None = None


class CargoBoatNote(_ImportCargo):
    """カーゴボートノート: tally of cargo discharged, with exceptions (damage, shortage)."""

    discharge_date: TradeDate | None = None
    exceptions: str | None = None
    tally_company: Party | None = None


class CargoClearanceAndDeliveryInstructions(_ImportCargo):
    """輸入貨物荷捌依頼書: importer asks forwarder/broker to clear and deliver."""

    customs_broker: Party | None = None
    delivery_address: Party | None = None
    requested_delivery_date: TradeDate | None = None
    invoice_no: str | None = None


class DevanningReport(_ImportCargo):
    """デバンニングレポート: what came out of each container at the CFS/warehouse."""

    devanning_date: TradeDate | None = None
    devanning_facility: Facility | None = None
    exceptions: str | None = None
    shortage_packages: Amount | None = None
    damaged_packages: Amount | None = None
