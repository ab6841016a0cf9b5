"""The bridge's tolerant-reader view of a trade: the forms it reads, the shared items, master data and earlier
NACCS results. Every field is optional and unknown fields are ignored, so a form schema that grows does not break
the bridge; the forms service's ``GET /internal/trades/{id}/naccs-bundle`` fills it (``clients.forms``).

Field names are the Cyber Port / field-map canonical camelCase names (``shipper``, ``consignee``, ``notifyParty``,
``billOfLading``, ``commodity``, ``scacCode``, ``totalPackages``, ``commodityTotalGrossWeight``, ...). Field-map paths
(``form:SI.shipper.name``) walk this model by those names.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class Tolerant(BaseModel):
    model_config = ConfigDict(
        extra="ignore", alias_generator=to_camel, populate_by_name=True, frozen=True
    )


class Party(Tolerant):
    """A trade party as the forms carry it. ``corporate_number`` (法人番号) + ``branch_no`` give the NACCS
    輸出入者コード for Japanese companies; ``company_id`` links to the bridge's company master."""

    company_id: str | None = None  # bridge: link to the company master
    name: str | None = None
    name_en: str | None = None  # bridge: the registered Latin-letter name, when the form has both
    address: str | None = None  # bridge: a free-text address, when the form has no address lines
    address_lines: list[str] = Field(default_factory=list)
    city: str | None = None
    subdivision: str | None = None
    postal_code: str | None = None
    country_code: str | None = None
    phone: str | None = None
    corporate_number: str | None = None
    branch_no: str | None = None
    naccs_trader_code: str | None = None  # an already issued 輸出入者コード / 仕出人コード


class Location(Tolerant):
    """A port or place: UN/LOCODE ``code`` and/or a ``name`` the bridge turns into one (T1)."""

    code: str | None = None
    name: str | None = None


class Facility(Tolerant):
    """A terminal, CY, CFS or warehouse; ``bonded_area_code`` is the NACCS 保税地域コード (5)."""

    code: str | None = None
    name: str | None = None
    bonded_area_code: str | None = None
    location: Location | None = None
    address: str | None = None


class Vessel(Tolerant):
    name: str | None = None
    call_sign: str | None = None
    imo_number: str | None = None
    flag_country_code: str | None = None


class BillOfLadingInfo(Tolerant):
    bl_no: str | None = None
    number_of_originals: int | None = None
    freight_payable_at: Location | str | None = None
    is_to_order: bool | None = None


class Charge(Tolerant):
    description: str | None = None
    amount: Decimal | None = None
    currency_code: str | None = None
    payment_term: str | None = None  # PRE / COL


class Licence(Tolerant):
    """A permit or licence the exporter holds for the goods (輸出承認証等)."""

    kind: str | None = None  # 輸出承認証等識別 (4)
    number: str | None = None


class CarryInPlace(Tolerant):
    """One 搬入予定先 of ECR: where and when the cargo goes into a bonded area."""

    bonded_area_code: str | None = None
    name: str | None = None
    packages: int | None = None
    gross_weight: Decimal | None = None
    measurement: Decimal | None = None
    date: dt.date | None = None


class GoodsLine(Tolerant):
    """A commodity line of a form (invoice and packing-list lines add quantity, price and amount)."""

    line_no: int | None = None
    product_code: str | None = None  # bridge: link to the product master
    description: str | None = None
    hs_code: str | None = None
    packages: Decimal | None = None
    package_unit_code: str | None = None
    gross_weight: Decimal | None = None
    net_weight: Decimal | None = None
    measurement: Decimal | None = None
    country_of_origin_code: str | None = None
    quantity: Decimal | None = None
    quantity_unit_code: str | None = None
    unit_price: Decimal | None = None
    amount: Decimal | None = None
    currency_code: str | None = None


class ContainerRequest(Tolerant):
    size_type_code: str | None = None
    quantity: int | None = None


class Container(Tolerant):
    container_no: str | None = None
    size_type_code: str | None = None  # ISO 6346 size-type, e.g. 22G1, 45G1
    seal_numbers: list[str] = Field(default_factory=list)
    tare_weight: Decimal | None = None
    tare_weight_unit_code: str | None = None
    cargo_weight: Decimal | None = None
    packages: Decimal | None = None
    empty_full_indicator: str | None = None  # EMPTY / LADEN
    gate_in_at: dt.datetime | None = None  # bridge: from the terminal (CYA)
    gate_out_at: dt.datetime | None = None  # bridge: from the terminal (CYO)
    destination_code: str | None = None  # bridge: 搬入先 bonded-area code for CYO/OLC


class CargoDocument(Tolerant):
    """The shared-item groups every cargo form carries (the forms service's mixins): parties, B/L and
    booking keys, voyage, commodity, totals and containers."""

    shipper: Party | None = None
    consignee: Party | None = None
    notify_party: Party | None = None
    bill_of_lading: BillOfLadingInfo | None = None
    booking_no: str | None = None
    scac_code: str | None = None
    vessel: Vessel | None = None
    voyage_number: str | None = None
    place_of_receipt: Location | str | None = None
    port_of_loading: Location | str | None = None
    port_of_discharge: Location | str | None = None
    place_of_delivery: Location | str | None = None
    final_destination: Location | str | None = None
    estimated_departure_date: dt.date | None = None
    estimated_arrival_date: dt.date | None = None
    commodity: list[GoodsLine] = Field(default_factory=list)
    marks_and_numbers: str | None = None
    total_packages: Decimal | None = None
    total_packages_unit_code: str | None = None
    commodity_total_gross_weight: Decimal | None = None
    commodity_total_gross_weight_unit_code: str | None = None
    commodity_total_net_weight: Decimal | None = None
    commodity_total_measurement: Decimal | None = None
    commodity_total_measurement_unit_code: str | None = None
    container_count: int | None = None
    containers: list[Container] = Field(default_factory=list)


class ShippingInstruction(CargoDocument):
    """UL040 船積依頼書 (S/I)."""

    incoterms: str | None = None
    invoice_no: str | None = None
    container_requests: list[ContainerRequest] = Field(default_factory=list)
    vanning_place: Facility | None = None
    cargo_ready_date: dt.date | None = None
    bl_remarks: str | None = None
    shipping_instructions_reference: str | None = None
    # bridge-side items the S/I form does not carry yet (🔶 proposed to the forms service)
    shipper_reference: str | None = None
    shipper_section_code: str | None = None
    remarks: str | None = None
    carry_in_places: list[CarryInPlace] = Field(default_factory=list)
    carry_in_date: dt.date | None = None
    licences: list[Licence] = Field(default_factory=list)


class BookingConfirmation(CargoDocument):
    """UL050 船腹予約確認書."""

    booking_date: dt.date | None = None
    container_requests: list[ContainerRequest] = Field(default_factory=list)
    cargo_movement_type: str | None = None  # FCL / LCL
    empty_pickup_facility: Facility | None = None
    # where laden containers / LCL cargo go in: the 搬入予定先
    return_facility: Facility | None = None
    # bridge: LCL consolidated for one shipper (T6 7nn) rather than several (9nn)
    same_shipper_consolidation: bool = False
    cargo_type: str | None = None


class Invoice(CargoDocument):
    """UL100 商業送り状."""

    invoice_no: str | None = None
    invoice_date: dt.date | None = None
    incoterms: str | None = None
    currency_code: str | None = None
    total_amount: Decimal | None = None
    freight_amount: Decimal | None = None
    insurance_amount: Decimal | None = None
    country_of_origin_code: str | None = None


class PackingList(CargoDocument):
    """UL120 パッキングリスト."""

    packing_list_no: str | None = None
    invoice_no: str | None = None


class BillOfLading(CargoDocument):
    """UL150 船荷証券 (B/L)."""

    freight_charges: list[Charge] = Field(default_factory=list)


class ArrivalNotice(CargoDocument):
    """UL290 到着通知 (A/N)."""

    storage_facility: Facility | None = None  # 蔵置場所 (CY/CFS)
    charges: list[Charge] = Field(default_factory=list)
    free_time_expiry_date: dt.date | None = None


class SharedItems(CargoDocument):
    """The trade's shared items (Cyber Port root ``DealInformations``) and its 取引管理番号."""

    trade_no: str | None = None


class CompanyMaster(Tolerant):
    """A company of the bridge's customs master: 法人番号-based code and the registered NACCS name/address."""

    company_id: str
    name: str | None = None
    name_en: str | None = None
    corporate_number: str | None = None
    branch_no: str = "0000"
    postal_code: str | None = None
    address1: str | None = None  # 都道府県
    address2: str | None = None  # 市区町村
    address3: str | None = None  # 町域・番地
    address4: str | None = None  # ビル名等
    phone: str | None = None
    customs_agent_code: str | None = None  # 税関事務管理人 (non-resident only)
    payment_method: str | None = None  # 納付方法識別 of the company's payment profile
    bank_account_no: str | None = None  # 口座番号 (direct debit)
    security_registration_no: str | None = None  # 担保登録番号


class ProductMaster(Tolerant):
    """Product master: HS / statistical code, NACCS用コード, units, origin and 該非 (Cyber Port product fields ✅)."""

    product_code: str
    hs_code: str | None = None  # 9 digits: export 輸出統計品目番号 / import 品目コード
    import_hs_code: str | None = None
    code_for_naccs: str | None = None
    quantity_unit1: str | None = None
    quantity_unit2: str | None = None
    place_of_origin_code: str | None = None
    place_of_origin_certificate_id: str | None = None
    export_control_code: str | None = None  # 輸出貿易管理令別表コード (該非判定)
    import_control_code: str | None = None  # 輸入貿易管理令別表コード


class VesselMaster(Tolerant):
    name: str
    call_sign: str
    nationality: str | None = None


class BondedAreaMaster(Tolerant):
    code: str  # 保税地域コード (5)
    name: str | None = None
    customs_office: str | None = None  # 官署コード (2)
    customs_department: str | None = None  # 部門コード (2)
    port: str | None = None  # LOCODE


class PortMaster(Tolerant):
    locode: str
    name: str


class MasterData(Tolerant):
    companies: list[CompanyMaster] = Field(default_factory=list)
    products: list[ProductMaster] = Field(default_factory=list)
    vessels: list[VesselMaster] = Field(default_factory=list)
    bonded_areas: list[BondedAreaMaster] = Field(default_factory=list)
    ports: list[PortMaster] = Field(default_factory=list)


class PreviousResults(Tolerant):
    """Numbers that earlier NACCS business codes of this trade returned."""

    nsi_no: str | None = None  # N-S/I番号 (SIR)
    export_control_no: str | None = None  # 輸出管理番号 (ECR)
    export_declaration_no: str | None = None  # 輸出申告番号 (EDA)
    import_declaration_no: str | None = None  # 申告番号 (IDA)
    bonded_transport_approval_no: str | None = None  # 保税運送承認番号 (OLC)


class TradeBundle(Tolerant):
    """Everything the prefill engine reads for one trade. Form and shared-item names follow the forms
    service's schemas (services/forms/forms/domain); fields marked "bridge" are the bridge's own."""

    si: ShippingInstruction | None = Field(default=None, alias="SI")
    bk: BookingConfirmation | None = Field(default=None, alias="BK")
    iv: Invoice | None = Field(default=None, alias="IV")
    pl: PackingList | None = Field(default=None, alias="PL")
    bl: BillOfLading | None = Field(default=None, alias="BL")
    an: ArrivalNotice | None = Field(default=None, alias="AN")
    shared: SharedItems | None = None
    master: MasterData = Field(default_factory=MasterData)
    previous: PreviousResults = Field(default_factory=PreviousResults)
    processing: Literal["new", "correct", "cancel"] = "new"
    entries: dict[str, str] = Field(default_factory=dict)  # values a person entered, by item key

    def as_tree(self) -> dict[str, Any]:
        """The bundle as plain data keyed by the canonical names the field-map paths use."""
        return self.model_dump(by_alias=True, exclude_none=True)
