"""Container and terminal documents: container receiving slip UL090, container delivery
receipt / EIR, vanning report (container load plan), empty container pick-up order, VGM
declaration, terminal inquiry."""

from __future__ import annotations

from forms.domain.base import Amount
from forms.domain.common import Facility, Party
from forms.domain.schemas._document import FormDocument
from forms.domain.shared_items import (
    BillOfLadingItems,
    CommodityItems,
    ContainerItems,
    DangerousGoodsItems,
    TotalsItems,
    VoyageItems,
)
from shared.codes import ContainerNumber, TradeDate


class ContainerReceivingSlip(
    FormDocument, BillOfLadingItems, VoyageItems, ContainerItems, DangerousGoodsItems
):
    """UL090 コンテナ貨物搬入票: announces a laden export container at the terminal gate
    (shared with CONPAS for pre-gate matching)."""

    shipper: Party | None = None
    forwarder: Party | None = None
    trucker: Party | None = None
    terminal: Facility | None = None
    planned_delivery_date: TradeDate | None = None
    truck_number: str | None = None
    driver_name: str | None = None


class ContainerDeliveryReceipt(FormDocument, BillOfLadingItems, VoyageItems, ContainerItems):
    """コンテナ貨物受領書 / 機器受渡証 (EIR): the container changes hands at the gate,
    with its condition recorded."""

    interchange_type: str | None = None  # "GATE_IN" / "GATE_OUT"
    interchange_date: TradeDate | None = None
    terminal: Facility | None = None
    trucker: Party | None = None
    truck_number: str | None = None
    driver_name: str | None = None
    damage_remarks: str | None = None


class VanningReport(
    FormDocument, BillOfLadingItems, VoyageItems, CommodityItems, TotalsItems, ContainerItems
):
    """バンニングレポート / コンテナ内積付表 (CLP): what was stuffed into which container."""

    shipper: Party | None = None
    vanning_place: Facility | None = None
    vanning_date: TradeDate | None = None
    packer: Party | None = None


class EmptyContainerPickupOrder(FormDocument, BillOfLadingItems, VoyageItems):
    """空コンテナ搬出依頼書 (equipment release order): carrier lets the trucker take empties."""

    pickup_facility: Facility | None = None
    delivery_facility: Facility | None = None
    trucker: Party | None = None
    container_requests_text: str | None = None
    valid_until: TradeDate | None = None


class VgmDeclaration(FormDocument, BillOfLadingItems, VoyageItems, ContainerItems):
    """重量証明書 (SOLAS VGM): the shipper certifies each container's verified gross mass."""

    shipper: Party | None = None
    weighing_method: str | None = None  # SOLAS method 1 (whole container) or 2 (sum of parts)
    weighing_party: Party | None = None
    weighing_facility: Facility | None = None
    weighing_date: TradeDate | None = None
    authorized_person: str | None = None


class TerminalInquiry(FormDocument, BillOfLadingItems, VoyageItems, ContainerItems):
    """ターミナル問合せ: ask the terminal whether containers are discharged, released, free to
    pick up, and what storage (demurrage) is due."""

    terminal: Facility | None = None
    inquiry_type: str | None = None  # e.g. "RELEASE_STATUS", "DEMURRAGE", "GATE_STATUS"
    inquiry_text: str | None = None
    answer_text: str | None = None
    answered_date: TradeDate | None = None
    demurrage_amount: Amount | None = None
    container_no: ContainerNumber | None = None


__all__ = [
    "ContainerDeliveryReceipt",
    "ContainerReceivingSlip",
    "EmptyContainerPickupOrder",
    "TerminalInquiry",
    "VanningReport",
    "VgmDeclaration",
]
