"""Shared items (Cyber Port's root document `DealInformations`): the values that exist once per
trade (one trade = one B/L) and appear on many forms.

Each group is a mixin, so a form schema carries a group by inheriting it and the field names
stay identical on every form and in the root document. Updating a shared item on one form
updates every form of the trade that carries it (see `projection.py`).
"""

from __future__ import annotations

from typing import Final

from forms.domain.base import Amount, FormModel
from forms.domain.common import (
    BillOfLadingInfo,
    CommodityItem,
    Container,
    DangerousGoodsItem,
    Location,
    Party,
    SeaWaybillInfo,
    Vessel,
)
from shared.codes import MassUnitCode, PackageCode, ScacCode, TradeDate, VolumeUnitCode

__all__ = [
    "SHARED_GROUPS",
    "SHARED_TOP_LEVEL_KEYS",
    "BillOfLadingItems",
    "CommodityItems",
    "ContainerItems",
    "DangerousGoodsItems",
    "PartiesItems",
    "SharedItems",
    "TotalsItems",
    "VoyageItems",
]


class PartiesItems(FormModel):
    shipper: Party | None = None
    consignee: Party | None = None
    notify_party: Party | None = None


class BillOfLadingItems(FormModel):
    bill_of_lading: BillOfLadingInfo | None = None
    sea_way: SeaWaybillInfo | None = None
    booking_no: str | None = None
    scac_code: ScacCode | None = None


class VoyageItems(FormModel):
    vessel: Vessel | None = None
    voyage_number: str | None = None
    place_of_receipt: Location | None = None
    port_of_loading: Location | None = None
    port_of_discharge: Location | None = None
    place_of_delivery: Location | None = None
    final_destination: Location | None = None
    estimated_departure_date: TradeDate | None = None
    estimated_arrival_date: TradeDate | None = None


class CommodityItems(FormModel):
    commodity: list[CommodityItem] | None = None
    marks_and_numbers: str | None = None


class TotalsItems(FormModel):
    total_packages: Amount | None = None
    total_packages_unit_code: PackageCode | None = None
    commodity_total_gross_weight: Amount | None = None
    commodity_total_gross_weight_unit_code: MassUnitCode | None = None
    commodity_total_net_weight: Amount | None = None
    commodity_total_net_weight_unit_code: MassUnitCode | None = None
    commodity_total_measurement: Amount | None = None
    commodity_total_measurement_unit_code: VolumeUnitCode | None = None
    container_count: int | None = None


class ContainerItems(FormModel):
    containers: list[Container] | None = None


class DangerousGoodsItems(FormModel):
    dangerous_goods: list[DangerousGoodsItem] | None = None


class SharedItems(
    PartiesItems,
    BillOfLadingItems,
    VoyageItems,
    CommodityItems,
    TotalsItems,
    ContainerItems,
    DangerousGoodsItems,
):
    """The whole root document of one trade."""


def _aliases(model: type[FormModel]) -> tuple[str, ...]:
    return tuple(field.alias or name for name, field in model.model_fields.items())


SHARED_GROUPS: Final[dict[str, tuple[str, ...]]] = {
    "parties": _aliases(PartiesItems),
    "billOfLading": _aliases(BillOfLadingItems),
    "voyage": _aliases(VoyageItems),
    "commodity": _aliases(CommodityItems),
    "totals": _aliases(TotalsItems),
    "containers": _aliases(ContainerItems),
    "dangerousGoods": _aliases(DangerousGoodsItems),
}
SHARED_TOP_LEVEL_KEYS: Final[frozenset[str]] = frozenset(
    key for keys in SHARED_GROUPS.values() for key in keys
)
