"""The bridge's tolerant-reader view of a trade: the forms it reads, the shared items, master data and earlier
NACCS results. Every field is optional and unknown fields are ignored, so a form schema that grows does not break
the bridge; the adapter from the forms service fills this model (written later).

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

    company_id: str | None = None
    name: str | None = None
    name_en: str | None = None
    address: str | None = None
    address_lines: list[str] = Field(default_factory=list)
    city: str | None = None
    subdivision: str | None = None
    postal_code: str | None = None
    country_code: str | None = None
    phone: str | None = None
    corporate_number: str | None = None
    branch_no: str | None = None
    naccs_code: str | None = None  # an already issued 輸出入者コード / 仕出人コード


class Place(Tolerant):
    code: str | None = None  # bonded-area code (保税地域コード 5) or LOCODE
    name: str | None = None
    address: str | None = None


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
    """A line of an invoice or packing list."""

    product_code: str | None = None
    description: str | None = None
    hs_code: str | None = None
    quantity: Decimal | None = None
    quantity_unit: str | None = None
    quantity2: Decimal | None = None
    quantity2_unit: str | None = None
    unit_price: Decimal | None = None
    amount: Decimal | None = None
    origin_country_code: str | None = None
    net_weight: Decimal | None = None
    gross_weight: Decimal | None = None
    packages: int | None = None


class ContainerRequest(Tolerant):
    size_type: str | None = None
    quantity: int | None = None


class Container(Tolerant):
    container_no: str | None = None
    seal_no: str | None = None
    size_type: str | None = None  # ISO 6346 size-type, e.g. 22G1, 45G1
    tare_weight: Decimal | None = None
    tare_weight_unit: str | None = None
    gross_weight: Decimal | None = None
    packages: int | None = None
    is_empty: bool | None = None
    gate_in_at: dt.datetime | None = None
    gate_out_at: dt.datetime | None = None
    destination_code: str | None = None  # 搬入先 (bonded-area code) for CYO/CYA


class ShippingInstruction(Tolerant):
    """UL040 船積依頼書 (S/I)."""

    shipper: Party | None = None
    consignee: Party | None = None
    notify_party: Party | None = None
    booking_no: str | None = None
    scac_code: str | None = None
    vessel_name: str | None = None
    voyage_no: str | None = None
    port_of_loading: str | None = None
    port_of_discharge: str | None = None
    place_of_receipt: str | None = None
    place_of_delivery: str | None = None
    final_destination: str | None = None
    commodity: str | None = None
    marks_and_numbers: str | None = None
    total_packages: int | None = None
    package_unit: str | None = None
    commodity_total_gross_weight: Decimal | None = None
    commodity_total_gross_weight_unit_code: str | None = None
    commodity_total_measurement: Decimal | None = None
    commodity_total_measurement_unit_code: str | None = None
    invoice_no: str | None = None
    shipper_reference: str | None = None
    shipper_section_code: str | None = None
    bl_remarks: str | None = None
    remarks: str | None = None
    vanning_place: Place | None = None
    carry_in_places: list[CarryInPlace] = Field(default_factory=list)
    carry_in_date: dt.date | None = None
    licences: list[Licence] = Field(default_factory=list)
    freight_payable_at: str | None = None
    number_of_original_bls: int | None = None


class BookingConfirmation(Tolerant):
    """UL050 船腹予約確認書."""

    booking_no: str | None = None
    booking_date: dt.date | None = None
    scac_code: str | None = None
    vessel_name: str | None = None
    call_sign: str | None = None
    voyage_no: str | None = None
    port_of_loading: str | None = None
    port_of_discharge: str | None = None
    place_of_delivery: str | None = None
    etd: dt.date | None = None
    eta: dt.date | None = None
    cy_code: str | None = None  # bonded-area code of the CY the carrier named
    cy_name: str | None = None
    cy_cut_off: dt.datetime | None = None
    service_type: Literal["FCL", "LCL", "LCL_SAME_SHIPPER"] | None = None
    container_requests: list[ContainerRequest] = Field(default_factory=list)
    commodity: str | None = None
    total_packages: int | None = None
    package_unit: str | None = None
    gross_weight: Decimal | None = None
    gross_weight_unit: str | None = None
    measurement: Decimal | None = None
    cargo_type: str | None = None


class Invoice(Tolerant):
    """UL100 商業送り状."""

    invoice_no: str | None = None
    invoice_date: dt.date | None = None
    incoterms: str | None = None
    currency: str | None = None
    total_amount: Decimal | None = None
    freight_amount: Decimal | None = None
    insurance_amount: Decimal | None = None
    lines: list[GoodsLine] = Field(default_factory=list)


class PackingList(Tolerant):
    """UL120 パッキングリスト."""

    total_packages: int | None = None
    package_unit: str | None = None
    total_gross_weight: Decimal | None = None
    gross_weight_unit: str | None = None
    total_net_weight: Decimal | None = None
    total_measurement: Decimal | None = None
    measurement_unit: str | None = None
    marks_and_numbers: str | None = None
    lines: list[GoodsLine] = Field(default_factory=list)


class BillOfLading(Tolerant):
    """UL150 船荷証券 (B/L)."""

    bl_no: str | None = None
    shipper: Party | None = None
    consignee: Party | None = None
    notify_party: Party | None = None
    vessel_name: str | None = None
    voyage_no: str | None = None
    port_of_loading: str | None = None
    port_of_discharge: str | None = None
    place_of_delivery: str | None = None
    marks_and_numbers: str | None = None
    total_packages: int | None = None
    package_unit: str | None = None
    gross_weight: Decimal | None = None
    gross_weight_unit: str | None = None
    measurement: Decimal | None = None
    freight_amount: Decimal | None = None
    freight_currency: str | None = None
    commodity: str | None = None


class ArrivalNotice(Tolerant):
    """UL290 到着通知 (A/N)."""

    bl_no: str | None = None
    shipper: Party | None = None
    consignee: Party | None = None
    notify_party: Party | None = None
    vessel_name: str | None = None
    call_sign: str | None = None
    voyage_no: str | None = None
    eta: dt.date | None = None
    port_of_loading: str | None = None
    port_of_discharge: str | None = None
    cy_code: str | None = None  # 蔵置場所 / 搬入先 named on the A/N
    cy_name: str | None = None
    commodity: str | None = None
    marks_and_numbers: str | None = None
    total_packages: int | None = None
    package_unit: str | None = None
    gross_weight: Decimal | None = None
    gross_weight_unit: str | None = None
    measurement: Decimal | None = None
    freight_amount: Decimal | None = None
    freight_currency: str | None = None
    free_time_until: dt.date | None = None


class BlReference(Tolerant):
    bl_no: str | None = None


class SharedItems(Tolerant):
    """The trade's shared items (Cyber Port root ``DealInformations``)."""

    trade_no: str | None = None  # 取引管理番号
    shipper: Party | None = None
    consignee: Party | None = None
    notify_party: Party | None = None
    bill_of_lading: BlReference | None = None
    sea_way: bool | None = None
    commodity: str | None = None
    scac_code: str | None = None
    booking_no: str | None = None
    total_packages: int | None = None
    vessel_name: str | None = None
    voyage_no: str | None = None


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
    """Everything the prefill engine reads for one trade."""

    si: ShippingInstruction | None = Field(default=None, alias="SI")
    bk: BookingConfirmation | None = Field(default=None, alias="BK")
    iv: Invoice | None = Field(default=None, alias="IV")
    pl: PackingList | None = Field(default=None, alias="PL")
    bl: BillOfLading | None = Field(default=None, alias="BL")
    an: ArrivalNotice | None = Field(default=None, alias="AN")
    shared: SharedItems | None = None
    containers: list[Container] = Field(default_factory=list)
    master: MasterData = Field(default_factory=MasterData)
    previous: PreviousResults = Field(default_factory=PreviousResults)
    processing: Literal["new", "correct", "cancel"] = "new"
    entries: dict[str, str] = Field(default_factory=dict)  # values a person entered, by item key

    def as_tree(self) -> dict[str, Any]:
        """The bundle as plain data keyed by the canonical names the field-map paths use."""
        return self.model_dump(by_alias=True, exclude_none=True)
