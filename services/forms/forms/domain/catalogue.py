"""The catalogue of form types (帳票) a port-logistics trade uses.

Codes: `ULnnn` are Cyber Port's own form IDs where they are published (UL040, UL050, UL090,
UL100, UL110, UL120, UL150, UL290). Cyber Port's other form IDs are not public, so the
remaining types carry codes of our own scheme, `MXnnn` ("Minato extension"), which must not be
mistaken for Cyber Port IDs (`code_source` says which is which).

`required_for_send` is a guide of what international practice needs before a form can be sent:
sources are the DCSA Booking 2.0.4 / eBL 3.0.3 required properties, the UN/CEFACT (UNTDED /
UNLK) data elements of the corresponding paper document, the IMDG Code 5.4.1 for dangerous
goods and SOLAS VI/2 for VGM. Paths use `[*]` for "every element of the list".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

from forms.domain.base import FormModel
from forms.domain.schemas.arrival import (
    ArrivalNotice,
    CargoBoatNote,
    CargoClearanceAndDeliveryInstructions,
    DeliveryOrder,
    DeliveryOrderLessRequest,
    DevanningReport,
)
from forms.domain.schemas.booking import BookingConfirmation, BookingRequest
from forms.domain.schemas.commercial import (
    CertificateOfOrigin,
    CommercialInvoice,
    FreightInvoice,
    InsuranceCertificate,
    PackingList,
    ProformaInvoice,
)
from forms.domain.schemas.customs import (
    CustomsClearanceInstructions,
    ExportPermitCopy,
    ImportPermitCopy,
)
from forms.domain.schemas.dangerous_goods import (
    ContainerPackingCertificate,
    DangerousGoodsList,
    DangerousGoodsPreNotification,
)
from forms.domain.schemas.equipment import (
    ContainerDeliveryReceipt,
    ContainerReceivingSlip,
    EmptyContainerPickupOrder,
    TerminalInquiry,
    VanningReport,
    VgmDeclaration,
)
from forms.domain.schemas.shipping import (
    BillOfLading,
    CargoManifest,
    DockReceipt,
    HouseBillOfLading,
    SeaWaybill,
    ShippingAdvice,
    ShippingInstructions,
)
from forms.domain.schemas.transport import (
    DeliveryDocument,
    DeliveryInstructions,
    DeliveryNote,
    WarehouseReceipt,
)
from forms.domain.shared_items import SHARED_GROUPS


class BusinessType(StrEnum):
    """事業種別: what an organisation does in a trade; decides which forms it may create."""

    SHIPPER = "shipper"  # 荷主 (exporter or importer)
    FORWARDER = "forwarder"  # 海貨業者・フォワーダー
    CUSTOMS_BROKER = "customs_broker"  # 通関業者
    CARRIER = "carrier"  # 船会社
    NVOCC = "nvocc"
    WAREHOUSE = "warehouse"  # 倉庫
    TRUCKER = "trucker"  # 陸運
    TERMINAL_OPERATOR = "terminal_operator"
    PORT_AUTHORITY = "port_authority"  # 港湾管理者


class Direction(StrEnum):
    EXPORT = "export"
    IMPORT = "import"
    BOTH = "both"


# Cyber Port form scopes (createReport.html): per B/L, unlimited, per container, EIR, per vessel.
FormScope = Literal["bl", "unlimited", "container", "eir", "vessel"]


@dataclass(frozen=True, slots=True)
class FormType:
    code: str
    name_ja: str
    name_en: str
    schema: type[FormModel]
    direction: Direction
    creators: frozenset[BusinessType]
    receivers: frozenset[BusinessType]
    shared_groups: tuple[str, ...]
    required_for_send: tuple[str, ...]
    scope: FormScope = "bl"
    # Trigger forms lock, once sent, the shared items listed in `locks` in every other form.
    locks: tuple[str, ...] = ()
    code_source: Literal["cyberport", "minato"] = "minato"
    requirement_source: str = ""

    @property
    def is_trigger(self) -> bool:
        return bool(self.locks)


_B = BusinessType
SHIPPER, FORWARDER, BROKER, CARRIER, NVOCC = (
    _B.SHIPPER,
    _B.FORWARDER,
    _B.CUSTOMS_BROKER,
    _B.CARRIER,
    _B.NVOCC,
)
WAREHOUSE, TRUCKER, TERMINAL, PORT = (
    _B.WAREHOUSE,
    _B.TRUCKER,
    _B.TERMINAL_OPERATOR,
    _B.PORT_AUTHORITY,
)
OCEAN_CARRIERS = frozenset({CARRIER, NVOCC})


def _set(*types: BusinessType) -> frozenset[BusinessType]:
    return frozenset(types)


def _groups(*names: str) -> tuple[str, ...]:
    unknown = set(names) - SHARED_GROUPS.keys()
    if unknown:
        raise ValueError(f"unknown shared-item groups: {sorted(unknown)}")
    return names


ALL_GROUPS = tuple(SHARED_GROUPS)
_PARTIES = ("shipper.name", "shipper.addressLines", "consignee.name")
_ROUTE = ("portOfLoading.code", "portOfDischarge.code")
_VOYAGE = ("vessel.name", "voyageNumber")
_GOODS = (
    "commodity[*].description",
    "commodity[*].packages",
    "commodity[*].packageUnitCode",
    "commodity[*].grossWeight",
    "commodity[*].grossWeightUnitCode",
)
_TOTALS = (
    "totalPackages",
    "totalPackagesUnitCode",
    "commodityTotalGrossWeight",
    "commodityTotalGrossWeightUnitCode",
)
_CONTAINERS = ("containers[*].containerNo", "containers[*].sizeTypeCode")
_DG = (
    "dangerousGoods[*].unNumber",
    "dangerousGoods[*].properShippingName",
    "dangerousGoods[*].imdgClass",
    "dangerousGoods[*].packages",
    "dangerousGoods[*].packageUnitCode",
    "dangerousGoods[*].grossWeight",
    "dangerousGoods[*].grossWeightUnitCode",
    "dangerousGoods[*].emergencyContactPhone",
)

# What each trigger locks (reportItemsEditControl: "each trigger locks a different item set").
# The booking confirmation fixes the carrier's side: booking, vessel, voyage, route.
UL050_LOCKS = (
    "bookingNo",
    "scacCode",
    "vessel",
    "voyageNumber",
    "placeOfReceipt",
    "portOfLoading",
    "portOfDischarge",
    "placeOfDelivery",
    "estimatedDepartureDate",
)
# The S/I fixes the shipper's side: parties, goods, marks, totals, containers, DG.
UL040_LOCKS = (
    "shipper",
    "consignee",
    "notifyParty",
    "finalDestination",
    "commodity",
    "marksAndNumbers",
    *SHARED_GROUPS["totals"],
    "containers",
    "dangerousGoods",
)
# The B/L fixes everything printed on it.
UL150_LOCKS = (
    "billOfLading",
    "seaWay",
    "shipper",
    "consignee",
    "notifyParty",
    "vessel",
    "voyageNumber",
    "placeOfReceipt",
    "portOfLoading",
    "portOfDischarge",
    "placeOfDelivery",
    "commodity",
    "marksAndNumbers",
    *SHARED_GROUPS["totals"],
    "containers",
)
# The A/N fixes, on import, what the consignee acts on.
UL290_LOCKS = (
    "billOfLading",
    "consignee",
    "notifyParty",
    "vessel",
    "voyageNumber",
    "portOfLoading",
    "portOfDischarge",
    "placeOfDelivery",
    "estimatedArrivalDate",
    "commodity",
    "marksAndNumbers",
    *SHARED_GROUPS["totals"],
    "containers",
)

_DCSA_BOOKING = "DCSA Booking 2.0.4 CreateBooking required properties; UN/CEFACT IFTMBF"
_DCSA_SI = "DCSA eBL 3.0.3 CreateShippingInstructions required properties; UN/CEFACT IFTMIN"
_DCSA_TD = (
    "DCSA eBL 3.0.3 TransportDocument; UN/CEFACT UNLK bill of lading; Hague-Visby art. III(3)"
)
_CEFACT_INVOICE = "UN/CEFACT Cross Industry Invoice / UNLK commercial invoice"
_IMDG = "IMDG Code 5.4.1 (DG transport document) and 5.4.3 (emergency response)"

FORM_TYPES: Final[tuple[FormType, ...]] = (
    # --- export: booking and instructions -------------------------------------------------
    FormType(
        "MX010", "船腹予約依頼書(ブッキング依頼書)", "Booking request", BookingRequest,
        Direction.EXPORT, _set(SHIPPER, FORWARDER, NVOCC), OCEAN_CARRIERS,
        _groups("parties", "billOfLading", "voyage", "commodity", "totals", "dangerousGoods"),
        ("shipper.name", "scacCode", *_ROUTE, "containerRequests[*].sizeTypeCode",
         "containerRequests[*].quantity", "commodity[*].description",
         "commodity[*].grossWeight", "commodity[*].grossWeightUnitCode",
         "receiptServiceType", "deliveryServiceType", "cargoMovementType"),
        requirement_source=_DCSA_BOOKING,
    ),
    FormType(
        "UL050", "船腹予約確認書", "Booking confirmation", BookingConfirmation,
        Direction.EXPORT, OCEAN_CARRIERS, _set(SHIPPER, FORWARDER, NVOCC, TRUCKER),
        _groups("parties", "billOfLading", "voyage", "commodity", "totals", "dangerousGoods"),
        ("bookingNo", "scacCode", *_VOYAGE, *_ROUTE, "estimatedDepartureDate",
         "containerRequests[*].sizeTypeCode", "containerRequests[*].quantity",
         "cutOffTimes.cyCutOff"),
        locks=UL050_LOCKS, code_source="cyberport",
        requirement_source="DCSA Booking 2.0.4 confirmed booking (transportPlan, "
        "confirmedEquipments, shipmentCutOffTimes); UN/CEFACT IFTMBC",
    ),
    FormType(
        "UL040", "船積依頼書(S/I)", "Shipping instructions", ShippingInstructions,
        Direction.EXPORT, _set(SHIPPER, FORWARDER), _set(FORWARDER, BROKER, CARRIER, NVOCC),
        ALL_GROUPS,
        (*_PARTIES, "bookingNo", "billOfLading.documentType", "billOfLading.freightPaymentTerm",
         *_ROUTE, *_GOODS, "commodity[*].hsCode", *_TOTALS, "marksAndNumbers"),
        locks=UL040_LOCKS, code_source="cyberport", requirement_source=_DCSA_SI,
    ),
    FormType(
        "UL090", "コンテナ貨物搬入票", "Container receiving slip (gate-in slip)",
        ContainerReceivingSlip, Direction.EXPORT, _set(FORWARDER, TRUCKER, SHIPPER),
        _set(TERMINAL, CARRIER, TRUCKER),
        _groups("billOfLading", "voyage", "containers", "dangerousGoods"),
        ("bookingNo", "scacCode", "vessel.name", "voyageNumber", "portOfDischarge.code",
         *_CONTAINERS, "containers[*].sealNumbers", "containers[*].verifiedGrossMass",
         "containers[*].verifiedGrossMassUnitCode", "terminal.name"),
        scope="container", code_source="cyberport",
        requirement_source="CONPAS gate pre-advice items; UN/EDIFACT COPINO",
    ),
    FormType(
        "MX040", "ドックレシート(D/R)", "Dock receipt", DockReceipt,
        Direction.EXPORT, _set(TERMINAL, CARRIER, FORWARDER), _set(SHIPPER, FORWARDER, CARRIER),
        _groups("parties", "billOfLading", "voyage", "commodity", "totals", "containers"),
        ("bookingNo", *_PARTIES, *_VOYAGE, *_ROUTE, *_TOTALS, "marksAndNumbers",
         "receivedDate"),
        requirement_source="UN/CEFACT UNLK dock receipt; LEDIC JTRN IFTMIN (D/R)",
    ),
    FormType(
        "MX050", "バンニングレポート(コンテナ内積付表)", "Vanning report / container load plan",
        VanningReport, Direction.EXPORT, _set(FORWARDER, WAREHOUSE, SHIPPER),
        _set(CARRIER, NVOCC, TERMINAL, FORWARDER),
        _groups("billOfLading", "voyage", "commodity", "totals", "containers"),
        ("bookingNo", *_CONTAINERS, "containers[*].sealNumbers", *_GOODS, "vanningDate"),
        requirement_source="UN/EDIFACT COSTOR/CLP practice; NACCS VAN items",
    ),
    FormType(
        "MX060", "危険物明細書", "Dangerous goods list (DG declaration)", DangerousGoodsList,
        Direction.EXPORT, _set(SHIPPER, FORWARDER), _set(CARRIER, NVOCC, TERMINAL, PORT),
        _groups("parties", "billOfLading", "voyage", "containers", "dangerousGoods"),
        ("shipper.name", "bookingNo", *_VOYAGE, *_ROUTE, *_DG, "dangerousGoods[*].packingGroup",
         "declarant.name", "declarationDate"),
        requirement_source=_IMDG,
    ),
    FormType(
        "MX070", "危険物・有害物事前連絡表", "Dangerous & hazardous goods pre-notification",
        DangerousGoodsPreNotification, Direction.EXPORT, _set(SHIPPER, FORWARDER),
        _set(CARRIER, NVOCC, TERMINAL),
        _groups("parties", "billOfLading", "voyage", "containers", "dangerousGoods"),
        ("bookingNo", "vessel.name", "voyageNumber", "dangerousGoods[*].unNumber",
         "dangerousGoods[*].imdgClass", "dangerousGoods[*].grossWeight",
         "dangerousGoods[*].grossWeightUnitCode", "terminal.name", "plannedDeliveryDate"),
        requirement_source="Terminal DG acceptance practice (Japan 白紙); " + _IMDG,
    ),
    FormType(
        "MX300", "危険物コンテナ収納証明書", "Container packing certificate (DG)",
        ContainerPackingCertificate, Direction.EXPORT, _set(FORWARDER, WAREHOUSE, SHIPPER),
        _set(CARRIER, NVOCC, TERMINAL),
        _groups("billOfLading", "voyage", "containers", "dangerousGoods"),
        ("bookingNo", *_CONTAINERS, "dangerousGoods[*].unNumber", "dangerousGoods[*].imdgClass",
         "packer.name", "packingDate"),
        scope="container", requirement_source="IMDG Code 5.4.2 container packing certificate",
    ),
    FormType(
        "MX160", "重量証明書(VGM)", "Verified gross mass declaration", VgmDeclaration,
        Direction.EXPORT, _set(SHIPPER, FORWARDER), _set(CARRIER, NVOCC, TERMINAL),
        _groups("billOfLading", "voyage", "containers"),
        ("bookingNo", "containers[*].containerNo", "containers[*].verifiedGrossMass",
         "containers[*].verifiedGrossMassUnitCode", "weighingMethod", "authorizedPerson"),
        scope="container", requirement_source="SOLAS VI/2; DCSA VGM 1.0 VGMDeclaration",
    ),
    FormType(
        "MX260", "空コンテナ搬出依頼書", "Empty container pick-up order",
        EmptyContainerPickupOrder, Direction.EXPORT, OCEAN_CARRIERS,
        _set(TRUCKER, FORWARDER, TERMINAL),
        _groups("billOfLading", "voyage"),
        ("bookingNo", "scacCode", "pickupFacility.name", "containerRequestsText"),
        requirement_source="UN/EDIFACT COPARN (equipment release)",
    ),
    # --- commercial -----------------------------------------------------------------------
    FormType(
        "UL100", "商業送り状(インボイス)", "Commercial invoice", CommercialInvoice,
        Direction.BOTH, _set(SHIPPER), _set(FORWARDER, BROKER, SHIPPER),
        _groups("parties", "billOfLading", "voyage", "commodity", "totals"),
        ("invoiceNo", "invoiceDate", "shipper.name", "consignee.name", "incoterms",
         "currencyCode", "totalAmount", "commodity[*].description", "commodity[*].quantity",
         "commodity[*].quantityUnitCode", "commodity[*].unitPrice", "commodity[*].amount",
         "countryOfOriginCode"),
        code_source="cyberport", requirement_source=_CEFACT_INVOICE,
    ),
    FormType(
        "UL110", "仮送り状(プロフォーマインボイス)", "Proforma invoice", ProformaInvoice,
        Direction.BOTH, _set(SHIPPER), _set(SHIPPER, FORWARDER, BROKER),
        _groups("parties", "billOfLading", "voyage", "commodity", "totals"),
        ("invoiceNo", "invoiceDate", "shipper.name", "consignee.name", "incoterms",
         "currencyCode", "totalAmount", "commodity[*].description", "commodity[*].quantity"),
        code_source="cyberport", requirement_source=_CEFACT_INVOICE,
    ),
    FormType(
        "UL120", "パッキングリスト", "Packing list", PackingList,
        Direction.BOTH, _set(SHIPPER, FORWARDER), _set(FORWARDER, BROKER, WAREHOUSE, SHIPPER),
        _groups("parties", "billOfLading", "voyage", "commodity", "totals", "containers"),
        ("shipper.name", "consignee.name", "invoiceNo", *_GOODS, "commodity[*].netWeight",
         "commodity[*].netWeightUnitCode", *_TOTALS, "marksAndNumbers"),
        code_source="cyberport", requirement_source="UN/CEFACT UNLK packing list; EDIFACT DESADV",
    ),
    FormType(
        "MX120", "原産地証明書", "Certificate of origin", CertificateOfOrigin,
        Direction.BOTH, _set(SHIPPER, FORWARDER), _set(BROKER, FORWARDER, SHIPPER),
        _groups("parties", "voyage"),
        ("certificateNo", "certificateType", "shipper.name", "consignee.name",
         "countryOfOriginCode", "commodity[*].description", "commodity[*].hsCode",
         "issuingAuthority.name"),
        requirement_source="ICC/WCO International Certification of Origin Guidelines; EPA rules",
    ),
    FormType(
        "MX130", "保険証明書", "Insurance certificate", InsuranceCertificate,
        Direction.BOTH, _set(SHIPPER, FORWARDER), _set(SHIPPER, BROKER, FORWARDER),
        _groups("parties", "billOfLading", "voyage"),
        ("policyNo", "insurer.name", "insuredAmount", "insuredAmountCurrencyCode", "conditions",
         "vessel.name", *_ROUTE),
        requirement_source="UCP 600 art. 28 (insurance document)",
    ),
    FormType(
        "MX110", "船積通知", "Shipping advice", ShippingAdvice,
        Direction.EXPORT, _set(SHIPPER, FORWARDER), _set(SHIPPER, BROKER),
        _groups("parties", "billOfLading", "voyage", "commodity", "totals", "containers"),
        ("invoiceNo", "billOfLading.blNo", *_VOYAGE, *_ROUTE, "shippedOnBoardDate", *_TOTALS),
        requirement_source="Incoterms 2020 A10 notices; UN/CEFACT UNLK",
    ),
    FormType(
        "MX150", "運賃請求書", "Freight invoice", FreightInvoice,
        Direction.BOTH, _set(CARRIER, NVOCC, FORWARDER), _set(SHIPPER, FORWARDER),
        _groups("parties", "billOfLading", "voyage", "containers"),
        ("invoiceNo", "invoiceDate", "billTo.name", "charges[*].description",
         "charges[*].amount", "charges[*].currencyCode", "totalAmount", "currencyCode"),
        requirement_source="DCSA eBL 3.0.3 charges; " + _CEFACT_INVOICE,
    ),
    # --- transport documents ----------------------------------------------------------------
    FormType(
        "UL150", "船荷証券(B/L)", "Bill of lading", BillOfLading,
        Direction.BOTH, OCEAN_CARRIERS, _set(SHIPPER, FORWARDER, BROKER),
        ALL_GROUPS,
        ("billOfLading.blNo", "billOfLading.documentType", "billOfLading.numberOfOriginals",
         "billOfLading.placeOfIssue.code", "billOfLading.dateOfIssue",
         "billOfLading.shippedOnBoardDate", "billOfLading.freightPaymentTerm", "carrier.name",
         *_PARTIES, *_VOYAGE, *_ROUTE, *_GOODS, *_TOTALS, "marksAndNumbers", *_CONTAINERS,
         "containers[*].sealNumbers"),
        locks=UL150_LOCKS, code_source="cyberport", requirement_source=_DCSA_TD,
    ),
    FormType(
        "MX020", "海上運送状(SWB)", "Sea waybill", SeaWaybill,
        Direction.BOTH, OCEAN_CARRIERS, _set(SHIPPER, FORWARDER, BROKER),
        _groups("parties", "billOfLading", "voyage", "commodity", "totals", "containers"),
        ("seaWay.seaWaybillNo", "carrier.name", *_PARTIES, *_VOYAGE, *_ROUTE, *_GOODS, *_TOTALS,
         *_CONTAINERS),
        requirement_source=_DCSA_TD + " (transportDocumentTypeCode SWB); CMI Rules for SWB",
    ),
    FormType(
        "MX030", "ハウスB/L", "House bill of lading", HouseBillOfLading,
        Direction.BOTH, _set(NVOCC, FORWARDER), _set(SHIPPER, BROKER, FORWARDER),
        _groups("parties", "billOfLading", "voyage", "commodity", "totals", "containers"),
        ("houseBlNo", "carrier.name", *_PARTIES, *_VOYAGE, *_ROUTE, *_GOODS, *_TOTALS),
        requirement_source=_DCSA_TD + "; DCSA eBL houseBillOfLadings (ICS2)",
    ),
    FormType(
        "MX100", "積荷目録", "Cargo manifest", CargoManifest,
        Direction.BOTH, OCEAN_CARRIERS, _set(BROKER, TERMINAL, PORT, FORWARDER),
        _groups("billOfLading", "voyage"),
        ("scacCode", *_VOYAGE, *_ROUTE, "entries[*].blNo", "entries[*].shipper.name",
         "entries[*].consignee.name", "entries[*].commodity[*].description",
         "entries[*].totalPackages", "entries[*].commodityTotalGrossWeight"),
        scope="vessel",
        requirement_source="IMO FAL Form 2 (cargo declaration); NACCS MFR; EDIFACT CUSCAR",
    ),
    # --- inland transport, terminal, warehouse -----------------------------------------------
    FormType(
        "MX080", "運送依頼書", "Delivery (transport) instructions", DeliveryInstructions,
        Direction.BOTH, _set(FORWARDER, SHIPPER, BROKER), _set(TRUCKER),
        _groups("parties", "billOfLading", "voyage", "commodity", "totals", "containers"),
        ("trucker.name", "pickupFacility.name", "deliveryFacility.name",
         "requestedDeliveryDate", *_CONTAINERS),
        scope="unlimited", requirement_source="UN/EDIFACT IFTMIN (transport instruction)",
    ),
    FormType(
        "MX270", "貨物輸送送り状", "Cargo delivery document (consignment note)",
        DeliveryDocument, Direction.BOTH, _set(FORWARDER, SHIPPER, TRUCKER),
        _set(TRUCKER, WAREHOUSE, SHIPPER),
        _groups("parties", "billOfLading", "voyage", "commodity", "totals", "containers"),
        ("shipper.name", "consignee.name", "trucker.name", "deliveryFacility.name",
         "totalPackages", "commodityTotalGrossWeight"),
        scope="unlimited", requirement_source="CMR-style consignment note practice",
    ),
    FormType(
        "MX240", "納品書", "Delivery note", DeliveryNote,
        Direction.BOTH, _set(TRUCKER, WAREHOUSE, FORWARDER), _set(SHIPPER, FORWARDER),
        _groups("parties", "billOfLading", "voyage", "commodity", "totals", "containers"),
        ("consignee.name", "deliveredDate", "receivedBy", "totalPackages"),
        scope="unlimited", requirement_source="UN/EDIFACT RECADV (receiving advice)",
    ),
    FormType(
        "MX280", "倉庫受領書(入庫報告)", "Warehouse receipt", WarehouseReceipt,
        Direction.BOTH, _set(WAREHOUSE), _set(SHIPPER, FORWARDER, BROKER),
        _groups("parties", "billOfLading", "voyage", "commodity", "totals", "containers"),
        ("warehouse.name", "receivedDate", "totalPackages", "commodityTotalGrossWeight"),
        scope="unlimited", requirement_source="UN/CEFACT warehouse receipt; EDIFACT RECADV",
    ),
    FormType(
        "MX090", "コンテナ貨物受領書・機器受渡証(EIR)",
        "Container delivery receipt / equipment interchange receipt (EIR)",
        ContainerDeliveryReceipt, Direction.BOTH, _set(TERMINAL), _set(TRUCKER, CARRIER, FORWARDER),
        _groups("billOfLading", "voyage", "containers"),
        ("interchangeType", "interchangeDate", "terminal.name", *_CONTAINERS,
         "containers[*].emptyFullIndicator", "truckNumber"),
        scope="eir", requirement_source="UN/EDIFACT CODECO; DCSA T&T GTIN/GTOT events",
    ),
    FormType(
        "MX170", "ターミナル問合せ", "Terminal inquiry", TerminalInquiry,
        Direction.BOTH, _set(FORWARDER, TRUCKER, SHIPPER, BROKER), _set(TERMINAL),
        _groups("billOfLading", "voyage", "containers"),
        ("terminal.name", "inquiryType", "containers[*].containerNo"),
        scope="unlimited", requirement_source="Terminal practice (Cyber Port TerminalInquiry)",
    ),
    # --- customs ----------------------------------------------------------------------------
    FormType(
        "MX290", "通関依頼書", "Customs clearance instructions", CustomsClearanceInstructions,
        Direction.BOTH, _set(SHIPPER, FORWARDER), _set(BROKER),
        _groups("parties", "billOfLading", "voyage", "commodity", "totals"),
        ("customsBroker.name", "invoiceNo", "declarationType", "commodity[*].description",
         "commodity[*].hsCode", *_TOTALS),
        requirement_source="WCO Data Model declaration core; NACCS EDA/IDA source items",
    ),
    FormType(
        "MX140", "輸出許可通知書(写)", "Export permit copy", ExportPermitCopy,
        Direction.EXPORT, _set(BROKER), _set(SHIPPER, FORWARDER, CARRIER, NVOCC, TERMINAL),
        _groups("parties", "billOfLading", "voyage", "totals", "containers"),
        ("declarationNo", "permitDate", "customsOfficeCode", "shipper.name"),
        requirement_source="NACCS EDA/EDC output (輸出許可通知情報)",
    ),
    FormType(
        "MX220", "輸入許可通知書(写)", "Import permit copy", ImportPermitCopy,
        Direction.IMPORT, _set(BROKER),
        _set(SHIPPER, FORWARDER, TERMINAL, WAREHOUSE, TRUCKER),
        _groups("parties", "billOfLading", "voyage", "totals", "containers"),
        ("declarationNo", "permitDate", "customsOfficeCode", "billOfLading.blNo"),
        requirement_source="NACCS IDA/IDC output (輸入許可通知情報)",
    ),
    # --- import ---------------------------------------------------------------------------
    FormType(
        "UL290", "到着通知(A/N)", "Arrival notice", ArrivalNotice,
        Direction.IMPORT, OCEAN_CARRIERS, _set(SHIPPER, FORWARDER, BROKER),
        _groups("parties", "billOfLading", "voyage", "commodity", "totals", "containers"),
        ("billOfLading.blNo", "consignee.name", *_VOYAGE, *_ROUTE, "estimatedArrivalDate",
         *_GOODS, *_TOTALS, *_CONTAINERS, "storageFacility.name"),
        locks=UL290_LOCKS, code_source="cyberport",
        requirement_source="DCSA Arrival Notice 1.0; UN/EDIFACT IFTMAN",
    ),
    FormType(
        "MX200", "荷渡指図書(D/O)", "Delivery order", DeliveryOrder,
        Direction.IMPORT, OCEAN_CARRIERS, _set(SHIPPER, FORWARDER, TERMINAL, WAREHOUSE),
        _groups("parties", "billOfLading", "voyage", "commodity", "totals", "containers"),
        ("deliveryOrderNo", "billOfLading.blNo", "releaseTo.name", "vessel.name",
         "voyageNumber", "storageFacility.name", *_CONTAINERS, "totalPackages"),
        requirement_source="DCSA DEO 1.0 Beta (delivery order); UN/EDIFACT IFTMCS",
    ),
    FormType(
        "MX210", "荷渡指図書レス申込書", "Delivery-order-less (D/O-less) request",
        DeliveryOrderLessRequest, Direction.IMPORT, _set(FORWARDER, BROKER, SHIPPER),
        OCEAN_CARRIERS,
        _groups("parties", "billOfLading", "voyage", "commodity", "totals", "containers"),
        ("billOfLading.blNo", "requester.name", "releaseTo.name", "storageFacility.name",
         "containers[*].containerNo", "freightPaid", "originalBlsSurrendered"),
        requirement_source="Cyber Port DeliveryOrderLessRequests; DCSA DEI 1.0 Beta",
    ),
    FormType(
        "MX230", "輸入貨物荷捌依頼書", "Cargo clearance and delivery instructions",
        CargoClearanceAndDeliveryInstructions, Direction.IMPORT, _set(SHIPPER),
        _set(FORWARDER, BROKER),
        _groups("parties", "billOfLading", "voyage", "commodity", "totals", "containers"),
        ("billOfLading.blNo", "customsBroker.name", "deliveryAddress.name",
         "requestedDeliveryDate"),
        requirement_source="Cyber Port CargoClearanceAndDeliveryInstructions",
    ),
    FormType(
        "MX180", "カーゴボートノート", "Cargo boat note", CargoBoatNote,
        Direction.IMPORT, _set(CARRIER, TERMINAL), _set(SHIPPER, FORWARDER, NVOCC),
        _groups("parties", "billOfLading", "voyage", "commodity", "totals", "containers"),
        ("billOfLading.blNo", *_VOYAGE, "dischargeDate", "totalPackages", "exceptions"),
        requirement_source="Japanese port tally practice (検数); UN/EDIFACT IFTSTA",
    ),
    FormType(
        "MX250", "デバンニングレポート", "Devanning report", DevanningReport,
        Direction.IMPORT, _set(WAREHOUSE, FORWARDER), _set(FORWARDER, CARRIER, NVOCC, SHIPPER),
        _groups("parties", "billOfLading", "voyage", "commodity", "totals", "containers"),
        ("billOfLading.blNo", "containers[*].containerNo", "devanningDate",
         "devanningFacility.name", "totalPackages"),
        scope="container", requirement_source="CFS devanning practice; UN/EDIFACT COSTOR",
    ),
)  # fmt: skip

FORM_TYPES_BY_CODE: Final[dict[str, FormType]] = {form.code: form for form in FORM_TYPES}
TRIGGER_FORM_CODES: Final[frozenset[str]] = frozenset(
    form.code for form in FORM_TYPES if form.is_trigger
)


class UnknownFormType(LookupError):
    def __init__(self, code: str) -> None:
        super().__init__(f"unknown form type {code!r}")
        self.code = code


def form_type(code: str) -> FormType:
    try:
        return FORM_TYPES_BY_CODE[code]
    except KeyError:
        raise UnknownFormType(code) from None


def creatable_by(business_type: BusinessType) -> tuple[FormType, ...]:
    return tuple(form for form in FORM_TYPES if business_type in form.creators)


def shared_keys_of(form: FormType) -> tuple[str, ...]:
    """Top-level shared-item keys the form carries (union of its groups)."""
    return tuple(key for group in form.shared_groups for key in SHARED_GROUPS[group])
