"""The wire contract of the forms service.

Envelopes are snake_case like every Minato API; a form's ``values`` keep the canonical camelCase
field names of the form schemas (Cyber Port / field maps), which the catalogue publishes as JSON
Schema.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from forms.domain.catalogue import FORM_TYPES_BY_CODE

FormStatus = Literal["draft", "sent", "acknowledged", "cancelled"]


def _known_form_type(code: str) -> str:
    if code not in FORM_TYPES_BY_CODE:
        raise ValueError(f"unknown form type {code!r}; see GET /api/v1/form-types")
    return code


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- catalogue ---------------------------------------------------------------------------------


class FormTypeSummary(BaseModel):
    code: str
    code_source: Literal["cyberport", "minato"]
    name_ja: str
    name_en: str
    direction: str
    scope: str
    creators: list[str] = Field(description="Business types that may create this form")
    receivers: list[str] = Field(description="Business types that receive it")
    shared_groups: list[str]
    is_trigger: bool = Field(description="Sending it locks the shared items it carries elsewhere")


class RequiredItem(BaseModel):
    path: str
    label_ja: str
    label_en: str


class FormTypeDetail(FormTypeSummary):
    locks: list[str] = Field(description="Shared items a sent trigger form locks in other forms")
    required_for_send: list[RequiredItem]
    requirement_source: str
    json_schema: dict[str, Any]


# -- documents ---------------------------------------------------------------------------------


class DocumentCreate(Strict):
    form_type: str = Field(examples=["UL040"])
    custom_id: str = Field(
        default="",
        max_length=64,
        description="Tells apart several forms of one type in a trade; empty for the only one",
    )
    values: dict[str, Any] = Field(default_factory=dict)
    template_id: uuid.UUID | None = Field(
        default=None, description="Start from one of your organisation's templates"
    )

    _check_form_type = field_validator("form_type")(_known_form_type)


class DocumentUpdate(Strict):
    values: dict[str, Any]


class LockedField(BaseModel):
    path: str
    locked_by: list[str]


class NaccsStatusSource(BaseModel):
    telegram: Literal["result", "permit_notice", "inquiry"] = Field(
        description="A send's result notice, a permit notice, or an inquiry's answer"
    )
    business_code: str = Field(max_length=5, examples=["EDC"])
    output_info_code: str = Field(max_length=7, examples=["SAE0030"])


class NaccsStatusRead(BaseModel):
    """One procedure of the trade as NACCS last said (read-only: written back by the NACCS bridge)."""

    procedure: Literal["export_cargo", "export_declaration", "import_declaration", "container"]
    procedure_ja: str
    procedure_en: str
    number: str = Field(description="輸出管理番号, 申告番号 or container number")
    state: Literal["registered", "declared", "permitted", "gate_in", "gate_out"]
    state_ja: str
    state_en: str
    at: datetime = Field(description="When NACCS said so")
    examination: str | None = Field(description="審査区分: 1 簡易, 2 書類, 3 検査")
    permit_no: str | None
    permitted_on: date | None
    source: NaccsStatusSource


class DocumentRead(BaseModel):
    id: uuid.UUID
    trade_id: uuid.UUID
    form_type: str
    custom_id: str
    status: FormStatus
    version: int
    shared_items_version: int
    etag: str
    values: dict[str, Any] = Field(description="The form's fields with the trade's shared items")
    locked_fields: list[LockedField]
    provenance: dict[str, Any]
    naccs_status: list[NaccsStatusRead] = Field(
        description="Customs status from NACCS (申告番号, 許可, 輸出管理番号, 搬入): read-only, written"
        " by the NACCS bridge; forms without a status section have none"
    )
    created_by_org_id: str
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None


class DocumentSummary(BaseModel):
    id: uuid.UUID
    trade_id: uuid.UUID
    form_type: str
    custom_id: str
    status: FormStatus
    version: int
    created_by_org_id: str
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None


class DocumentPage(BaseModel):
    items: list[DocumentSummary]
    next_cursor: str | None


class SharedItemLock(BaseModel):
    path: str
    locked_by: list[str]
    holder_form_ids: list[uuid.UUID]


class SharedItemsRead(BaseModel):
    trade_id: uuid.UUID
    version: int
    values: dict[str, Any]
    locks: list[SharedItemLock]


# -- validation, versions ---------------------------------------------------------------------


class ValidationIssueRead(BaseModel):
    path: str
    kind: Literal["missing", "invalid", "warning"]
    code: str
    message_en: str
    message_ja: str


class ValidationReportRead(BaseModel):
    form_id: uuid.UUID
    form_type: str
    can_save_draft: bool
    can_send: bool
    missing: list[ValidationIssueRead]
    invalid: list[ValidationIssueRead]
    warnings: list[ValidationIssueRead]


class VersionSummary(BaseModel):
    version: int
    change: str
    status: FormStatus
    created_at: datetime
    actor_org_id: str | None
    actor_user_id: str | None


class VersionRead(VersionSummary):
    form_id: uuid.UUID
    values: dict[str, Any]


class FieldChangeRead(BaseModel):
    path: str
    op: Literal["added", "removed", "changed"]
    before: Any = None
    after: Any = None


class VersionDiff(BaseModel):
    form_id: uuid.UUID
    from_version: int
    to_version: int
    changes: list[FieldChangeRead]


# -- derivation, templates ---------------------------------------------------------------------


class DerivationCreate(Strict):
    form_type: str = Field(examples=["UL090"])
    custom_id: str = Field(default="", max_length=64)
    source_form_ids: list[uuid.UUID] | None = Field(
        default=None,
        description="Upstream forms to prefill from; by default the trade's latest of each type",
    )

    _check_form_type = field_validator("form_type")(_known_form_type)


class DerivationNoteRead(BaseModel):
    path: str
    message_en: str
    message_ja: str


class DerivationPreview(BaseModel):
    form_type: str
    values: dict[str, Any]
    provenance: dict[str, Any]
    derived_from: list[uuid.UUID]
    notes: list[DerivationNoteRead]


class DerivationRead(BaseModel):
    document: DocumentRead
    created: bool
    derived_from: list[uuid.UUID]
    notes: list[DerivationNoteRead]


class TemplateCreate(Strict):
    name: str = Field(min_length=1, max_length=100)


class TemplateRead(BaseModel):
    id: uuid.UUID
    form_type: str
    name: str
    values: dict[str, Any]
    source_form_id: uuid.UUID | None
    created_at: datetime


# -- attachments -------------------------------------------------------------------------------


class AttachmentRead(BaseModel):
    id: uuid.UUID
    form_id: uuid.UUID
    file_name: str
    content_type: str
    size_bytes: int
    sha256: str
    created_at: datetime
    created_by_org_id: str


# -- customs status write-back (internal) ------------------------------------------------------


class CustomsStatusIn(Strict):
    """One item of ``customs_status`` in a NACCS bridge event."""

    procedure: Literal["export_cargo", "export_declaration", "import_declaration", "container"]
    number: str = Field(min_length=1, max_length=35)
    state: Literal["registered", "declared", "permitted", "gate_in", "gate_out"]
    at: datetime
    source: NaccsStatusSource
    examination: str | None = Field(default=None, max_length=1)
    permit_no: str | None = Field(default=None, max_length=35)
    permitted_on: date | None = None

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("give a time zone, e.g. Z or +09:00")
        return value


class IncomingEventData(BaseModel):
    """The event's data; only ``customs_status`` is read here, the rest is other receivers'."""

    model_config = ConfigDict(extra="allow")

    customs_status: list[CustomsStatusIn] = Field(default_factory=list, max_length=50)


class IncomingEvent(BaseModel):
    """The platform envelope the outbox relays post (``shared.outbox.EventEnvelope``)."""

    id: uuid.UUID
    type: str = Field(min_length=1, max_length=64)
    version: int = Field(ge=1)
    occurred_at: datetime
    source: str = Field(min_length=1, max_length=64)
    trade_id: uuid.UUID | None = None
    data: IncomingEventData


class EventIntake(BaseModel):
    recorded: bool = Field(description="False: already taken (a redelivery), or nothing for forms")
    entries: int = Field(description="customs status entries in the event")
    changed: int = Field(description="entries that changed the trade's status (later than stored)")
