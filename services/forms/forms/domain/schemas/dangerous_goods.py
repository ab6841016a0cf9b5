"""Dangerous goods documents: DG list 危険物明細書 (赤紙), DG & hazardous goods
pre-notification 危険物・有害物事前連絡表 (白紙), container packing certificate."""

from __future__ import annotations

from forms.domain.common import Facility, Party
from forms.domain.schemas._document import FormDocument
from forms.domain.shared_items import (
    BillOfLadingItems,
    ContainerItems,
    DangerousGoodsItems,
    PartiesItems,
    VoyageItems,
)
from shared.codes import TradeDate


class DangerousGoodsList(
    FormDocument, PartiesItems, BillOfLadingItems, VoyageItems, ContainerItems, DangerousGoodsItems
):
    """危険物明細書: the IMDG 5.4.1 dangerous goods transport document for the carrier."""

    declarant: Party | None = None
    declaration_date: TradeDate | None = None


class DangerousGoodsPreNotification(
    FormDocument, PartiesItems, BillOfLadingItems, VoyageItems, ContainerItems, DangerousGoodsItems
):
    """危険物・有害物事前連絡表: advance notice to carrier and terminal before gate-in."""

    terminal: Facility | None = None
    planned_delivery_date: TradeDate | None = None
    harmful_substance_notes: str | None = None


class ContainerPackingCertificate(
    FormDocument, BillOfLadingItems, VoyageItems, ContainerItems, DangerousGoodsItems
):
    """危険物コンテナ収納証明書 (IMDG 5.4.2): the packer certifies DG was stowed correctly."""

    packer: Party | None = None
    packing_place: Facility | None = None
    packing_date: TradeDate | None = None
    inspector_name: str | None = None
