"""Customs-related copies and instructions shared on the platform (the declarations themselves
go through the NACCS bridge)."""

from __future__ import annotations

from forms.domain.base import Amount
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


class _CustomsCopy(
    FormDocument, PartiesItems, BillOfLadingItems, VoyageItems, TotalsItems, ContainerItems
):
    declaration_no: str | None = None
    permit_date: TradeDate | None = None
    customs_office_code: str | None = None
    customs_broker: Party | None = None
    storage_facility: Facility | None = None


class ExportPermitCopy(_CustomsCopy):
    """輸出許可通知書 (写し): shared so the terminal and carrier can load the cargo."""


class ImportPermitCopy(_CustomsCopy):
    """輸入許可通知書 (写し): shared so the terminal releases and the trucker can pick up."""


class CustomsClearanceInstructions(
    FormDocument, PartiesItems, BillOfLadingItems, VoyageItems, CommodityItems, TotalsItems
):
    """通関依頼書: the shipper/importer instructs the customs broker to declare."""

    customs_broker: Party | None = None
    invoice_no: str | None = None
    declared_value: Amount | None = None
    declaration_type: str | None = None  # e.g. export / import for home use / bonded
    requested_declaration_date: TradeDate | None = None
    licences: list[str] | None = None
