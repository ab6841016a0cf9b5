"""The NACCS bridge's wire contract."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from naccs_bridge.domain.customs_status import StatusUpdate
from shared.codes.corporate_number import check_corporate_number

Processing = Literal["new", "correct", "cancel"]


class CodeSummary(BaseModel):
    code: str
    name_ja: str
    name_en: str
    kind: str
    parent: str | None
    map: Literal["full", "catalogue"]
    feeds: list[str]
    writes_back: list[str]


class CodeDetail(CodeSummary):
    note: str
    field_map: dict[str, Any] = Field(
        description="Items in wire order: width, type, presence, sources"
    )


class NaccsFormPrefill(BaseModel):
    """Create or refresh a trade's NACCS form for one business code."""

    model_config = ConfigDict(extra="forbid")

    bundle: dict[str, Any] | None = Field(
        default=None,
        description="The trade's data (SI, BK, IV, PL, BL, AN, shared) from outside Minato's forms;"
        " without it the bridge reads the trade's forms from the forms service on every refresh",
    )
    entries: dict[str, str] | None = Field(
        default=None, description="Values a person entered, by item key (group.index.key in groups)"
    )
    processing: Processing | None = None


class NaccsFormEntries(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entries: dict[str, str | None] = Field(description="Item key → value; null removes the entry")


class ResultView(BaseModel):
    """One NACCS result code, pointing at the items and trade-form fields to fix."""

    raw: str
    code: str
    severity: str
    item_id: str | None
    repeat_no: int | None
    item_keys: list[str]
    form_fields: list[str]
    master_tables: list[str]
    message_ja: str
    message_en: str


class FormItemView(BaseModel):
    key: str
    entry_key: str
    item_id: str | None
    name_ja: str
    name_en: str
    group: str | None
    index: int | None
    presence: str
    value: str
    source: str | None = Field(description="Where the value came from, e.g. form:BK.portOfLoading")
    source_kind: str | None
    transform: str | None
    master: str | None
    needs_person: bool = Field(description="A person must still enter (or fix) this item")
    issues: list[str]
    results: list[ResultView] = Field(description="NACCS result codes that name this item")


class AutofillView(BaseModel):
    code: str
    normally_filled: int
    auto_filled: int
    ratio: float
    remaining_for_person: list[str]
    by_source: dict[str, int]


class NaccsFormView(BaseModel):
    id: uuid.UUID
    trade_id: uuid.UUID
    code: str
    name_ja: str
    status: str
    processing: str
    reference_no: str | None
    version: int
    ready_to_send: bool
    pending_for_person: list[str]
    items: list[FormItemView]
    issues: list[dict[str, Any]]
    results: list[ResultView]
    autofill: AutofillView
    updated_at: datetime
    permitted_at: datetime | None


class NaccsFormSummary(BaseModel):
    id: uuid.UUID
    code: str
    status: str
    reference_no: str | None
    updated_at: datetime


class InquiryAnswer(BaseModel):
    """An inquiry's answer (照会結果) as NACCS gave it, decoded, and the customs status it showed."""

    output_info_code: str
    message_kind: str
    reference_no: str | None
    lines: list[str] = Field(description="The answer's lines after the result codes and number")
    customs_status: list[StatusUpdate] = Field(
        description="What was applied: the declaration's state (IEX/IID); none for inquiries"
        " whose output layout is not public (ICG, IAL, IVS ...)"
    )


class SendResult(BaseModel):
    accepted: bool
    reference_no: str | None
    results: list[ResultView]
    inquiry: InquiryAnswer | None = None


class SendView(BaseModel):
    id: uuid.UUID
    form_id: uuid.UUID
    trade_id: uuid.UUID
    code: str
    status: str
    input_id_no: str
    naccs_user_id: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    finished_at: datetime | None
    result: SendResult | None


class QueueSend(SendView):
    org_id: str


class QueueState(BaseModel):
    status: str
    count: int
    oldest_created_at: datetime
    oldest_age_s: float  # seconds since the oldest send in this state was queued


class QueueOverview(BaseModel):
    """The send queue across organisations (platform operators)."""

    depth: int  # sends not finished yet: queued, sending or sent (awaiting the result)
    states: list[QueueState]
    items: list[QueueSend]  # oldest first


class UsageCount(BaseModel):
    sent: int = 0
    accepted: int = 0
    warning: int = 0
    rejected: int = 0
    unreadable: int = 0


class UsageSummary(BaseModel):
    org_id: str
    month: str
    total: UsageCount
    by_code: dict[str, UsageCount]
    by_user: dict[str, UsageCount]


class OutputMessageView(BaseModel):
    id: uuid.UUID
    business_code: str
    output_info_code: str
    message_kind: str
    subject: str
    applied: str
    decoded: dict[str, Any]
    received_at: datetime


# ------------------------------------------------------------------------------ master data


class MasterKind(StrEnum):
    COMPANIES = "companies"
    PRODUCTS = "products"
    VESSELS = "vessels"
    BONDED_AREAS = "bonded_areas"
    PORTS = "ports"


class _Master(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CompanyIn(_Master):
    """An exporter/importer: 輸出入者コード = 法人番号 (13) + 枝番 (4)."""

    company_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    name_en: Annotated[str, StringConstraints(max_length=70)] | None = None
    corporate_number: Annotated[str, StringConstraints(pattern=r"^[0-9]{13}$")] | None = None
    branch_no: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")] = "0000"
    postal_code: Annotated[str, StringConstraints(max_length=10)] | None = None
    address1: Annotated[str, StringConstraints(max_length=15)] | None = None
    address2: Annotated[str, StringConstraints(max_length=35)] | None = None
    address3: Annotated[str, StringConstraints(max_length=35)] | None = None
    address4: Annotated[str, StringConstraints(max_length=70)] | None = None
    phone: Annotated[str, StringConstraints(max_length=20)] | None = None
    # The importer's payment profile, which IDA reads from here (納付方法識別, 口座番号 for direct
    # debit, 担保登録番号) and the 税関事務管理人 of a non-resident; NACCS widths.
    payment_method: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]$")] | None = None
    bank_account_no: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,14}$")] | None = None
    security_registration_no: (
        Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,9}$")] | None
    ) = None
    customs_agent_code: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,17}$")] | None = None

    @field_validator("corporate_number")
    @classmethod
    def _check_digit(cls, value: str | None) -> str | None:
        if value is not None and not check_corporate_number(value).is_valid:
            raise ValueError("the check digit of this 法人番号 is wrong")
        return value

    @property
    def key(self) -> str:
        return self.company_id


class ProductIn(_Master):
    """A product: 統計品目番号 (HS 9), NACCS用コード, quantity units, origin."""

    product_code: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    hs_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{9}$")] | None = None
    import_hs_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{9}$")] | None = None
    code_for_naccs: Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]$")] | None = None
    quantity_unit1: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,4}$")] | None = None
    quantity_unit2: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,4}$")] | None = None
    place_of_origin_code: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None
    export_control_code: Annotated[str, StringConstraints(max_length=5)] | None = None
    import_control_code: Annotated[str, StringConstraints(max_length=4)] | None = None

    @field_validator("hs_code", "import_hs_code", mode="before")
    @classmethod
    def _digits_only(cls, value: object) -> object:
        return re.sub(r"[.\-\s]", "", value) if isinstance(value, str) else value

    @property
    def key(self) -> str:
        return self.product_code


class VesselIn(_Master):
    name: Annotated[str, StringConstraints(min_length=1, max_length=35)]
    call_sign: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{3,9}$")]
    nationality: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None

    @property
    def key(self) -> str:
        return self.call_sign


class BondedAreaIn(_Master):
    code: Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{5}$")]
    name: Annotated[str, StringConstraints(max_length=70)] | None = None
    customs_office: Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{2}$")] | None = None
    customs_department: Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{2}$")] | None = None
    port: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}[A-Z0-9]{3}$")] | None = None

    @property
    def key(self) -> str:
        return self.code


class PortIn(_Master):
    locode: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}[A-Z0-9]{3}$")]
    name: Annotated[str, StringConstraints(min_length=1, max_length=70)]

    @property
    def key(self) -> str:
        return self.locode


MASTER_MODELS: dict[MasterKind, type[CompanyIn | ProductIn | VesselIn | BondedAreaIn | PortIn]] = {
    MasterKind.COMPANIES: CompanyIn,
    MasterKind.PRODUCTS: ProductIn,
    MasterKind.VESSELS: VesselIn,
    MasterKind.BONDED_AREAS: BondedAreaIn,
    MasterKind.PORTS: PortIn,
}


class MasterRecordView(BaseModel):
    kind: MasterKind
    key: str
    data: dict[str, Any]
    updated_at: datetime


class RowError(BaseModel):
    row: int = Field(description="1-based line number in the file, the header being line 1")
    field: str
    message: str


class CsvImportResult(BaseModel):
    kind: MasterKind
    imported: int
    errors: list[RowError]
