"""Wire schemas of the trades API: the public contract. Codes are validated by ``shared.codes``."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

from shared.codes import ContainerNumber, ContainerSizeType, ScacCode, UnLocode
from trades.domain.lifecycle import Direction, TradeStatus

T = TypeVar("T")

_DOCUMENT_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9-]*$")
_CALL_SIGN = re.compile(r"^[A-Z0-9]{3,9}$")


def _document_number(value: str) -> str:
    """B/L and booking numbers: letters, digits and hyphens, stored upper-case (NACCS an35)."""
    normalized = value.strip().upper()
    if not _DOCUMENT_NUMBER.match(normalized):
        raise PydanticCustomError(
            "document_number_format",
            "'{value}' may contain only letters, digits and hyphens",
            {"value": value, "message_ja": "英数字とハイフンのみ使用できます"},
        )
    return normalized


def _call_sign(value: str) -> str:
    normalized = value.strip().upper()
    if not _CALL_SIGN.match(normalized):
        raise PydanticCustomError(
            "call_sign_format",
            "'{value}' is not a radio call sign (3-9 letters or digits, e.g. 7JDC)",
            {"value": value, "message_ja": "呼出符号(英数字3〜9文字)ではありません"},
        )
    return normalized


DocumentNumber = Annotated[
    str, StringConstraints(min_length=1, max_length=35), AfterValidator(_document_number)
]
CallSign = Annotated[str, AfterValidator(_call_sign)]
OrgId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
]
DisplayName = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]


class Role(StrEnum):
    SHIPPER = "shipper"
    CONSIGNEE = "consignee"
    FORWARDER = "forwarder"
    CUSTOMS_BROKER = "customs_broker"
    CARRIER = "carrier"
    NVOCC = "nvocc"
    WAREHOUSE = "warehouse"
    TRUCKER = "trucker"
    TERMINAL_OPERATOR = "terminal_operator"


class ParticipantStatus(StrEnum):
    INVITED = "invited"
    ACTIVE = "active"
    DECLINED = "declined"
    LEFT = "left"
    REMOVED = "removed"


class TaskStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Vessel(Strict):
    call_sign: CallSign | None = None
    name: (
        Annotated[str, StringConstraints(min_length=1, max_length=35, strip_whitespace=True)] | None
    ) = None


class ContainerIn(Strict):
    container_no: ContainerNumber
    size_type: ContainerSizeType | None = None
    seal_no: Annotated[str, StringConstraints(min_length=1, max_length=15)] | None = None


class ContainerRead(BaseModel):
    container_no: str
    size_type: str | None
    seal_no: str | None


def _unique_containers(containers: list[ContainerIn] | None) -> list[ContainerIn] | None:
    if containers is None:
        return None
    seen: set[str] = set()
    for container in containers:
        if container.container_no in seen:
            raise PydanticCustomError(
                "container_duplicate",
                "container {container_no} is listed twice",
                {"container_no": container.container_no},
            )
        seen.add(container.container_no)
    return containers


Containers = Annotated[list[ContainerIn], Field(max_length=999), AfterValidator(_unique_containers)]


class _TradeFields(Strict):
    owner_reference: Annotated[str, StringConstraints(min_length=1, max_length=35)] | None = None
    bl_no: DocumentNumber | None = None
    booking_no: DocumentNumber | None = None
    carrier_scac: ScacCode | None = None
    vessel: Vessel | None = None
    voyage_no: Annotated[str, StringConstraints(min_length=1, max_length=17)] | None = None
    place_of_receipt: UnLocode | None = None
    port_of_loading: UnLocode | None = None
    port_of_discharge: UnLocode | None = None
    place_of_delivery: UnLocode | None = None
    etd: date | None = None
    eta: date | None = None


class TradeCreate(_TradeFields):
    direction: Direction
    owner_role: Role = Field(description="The creating organisation's role in this trade")
    owner_display_name: DisplayName
    containers: Containers = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _check_booking(self.booking_no, self.carrier_scac)
        _check_dates(self.etd, self.eta)
        return self


class TradeUpdate(_TradeFields):
    """Only the fields sent are changed; ``null`` clears a field."""

    containers: Containers | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _check_dates(self.etd, self.eta)
        return self


def _check_booking(booking_no: str | None, carrier_scac: str | None) -> None:
    if booking_no is not None and carrier_scac is None:
        # A booking number is only unique within its carrier.
        raise PydanticCustomError(
            "booking_needs_carrier", "carrier_scac is required with booking_no", {}
        )


def _check_dates(etd: date | None, eta: date | None) -> None:
    if etd is not None and eta is not None and eta < etd:
        raise PydanticCustomError("eta_before_etd", "eta must not be before etd", {})


class TradeRead(BaseModel):
    id: uuid.UUID
    trade_no: str
    direction: Direction
    status: TradeStatus
    owner_org_id: str
    owner_reference: str | None = Field(description="Shown to the owner organisation only")
    bl_no: str | None
    booking_no: str | None
    carrier_scac: str | None
    vessel: Vessel
    voyage_no: str | None
    place_of_receipt: str | None
    port_of_loading: str | None
    port_of_discharge: str | None
    place_of_delivery: str | None
    etd: date | None
    eta: date | None
    containers: list[ContainerRead]
    created_at: datetime
    updated_at: datetime
    version: int
    my_role: Role
    my_status: ParticipantStatus
    allowed_transitions: list[TradeStatus]


class TradeSummary(BaseModel):
    id: uuid.UUID
    trade_no: str
    direction: Direction
    status: TradeStatus
    bl_no: str | None
    booking_no: str | None
    carrier_scac: str | None
    vessel_call_sign: str | None
    vessel_name: str | None
    voyage_no: str | None
    port_of_loading: str | None
    port_of_discharge: str | None
    etd: date | None
    eta: date | None
    created_at: datetime


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end"
    )


class StatusChange(Strict):
    status: TradeStatus
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


class ParticipantInvite(Strict):
    org_id: OrgId
    display_name: DisplayName
    role: Role
    hidden: bool = Field(
        default=False,
        description="Hidden (非公開) participants are seen only by themselves and the inviting org",
    )


class ParticipantRead(BaseModel):
    org_id: str
    display_name: str
    role: Role
    status: ParticipantStatus
    hidden: bool
    is_owner: bool
    sponsor_org_id: str | None
    invited_at: datetime
    accepted_at: datetime | None


class TimelineEntryRead(BaseModel):
    id: uuid.UUID
    occurred_at: datetime
    recorded_at: datetime
    kind: str
    summary: str
    actor_user_id: str | None
    actor_org_id: str | None
    subject_org_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    source: str
    event_id: str


class EventActor(BaseModel):
    user_id: str | None = None
    org_id: str | None = None


class IncomingEvent(BaseModel):
    """The platform's event envelope (the same the notifications service takes)."""

    id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    type: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9_.]+$")]
    version: int = Field(ge=1)
    occurred_at: datetime
    source: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    # None only for events about many trades (``vessel_schedule.updated``: matched by vessel/voyage).
    trade_id: uuid.UUID | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class IntakeResult(BaseModel):
    recorded: bool = Field(description="False when this event id was already recorded")
    timeline_entry_id: uuid.UUID | None
    task_ids: list[uuid.UUID]
    status: TradeStatus | None = Field(description="The trade's new status, if a rule moved it")


class AccessAnswer(BaseModel):
    trade_id: uuid.UUID
    org_id: str
    participant: bool
    status: ParticipantStatus | None
    role: Role | None
    hidden: bool
    is_owner: bool
    visible_participant_org_ids: list[str]
    trade_no: str | None = Field(
        default=None, description="The trade's number (取引管理番号), for a participant only"
    )


class InternalParticipant(BaseModel):
    org_id: str
    display_name: str
    role: Role
    roles: list[Role] = Field(description="The same role as a list (for consumers that expect one)")
    hidden: bool
    sponsor_org_id: str | None
    is_owner: bool


class InternalParticipants(BaseModel):
    trade_id: uuid.UUID
    participants: list[InternalParticipant]


class TaskCreate(Strict):
    title: ShortText
    description: Annotated[str, StringConstraints(max_length=4000)] | None = None
    assignee_org_id: OrgId
    assignee_user_id: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    due_at: datetime | None = None


class TaskUpdate(Strict):
    title: ShortText | None = None
    description: Annotated[str, StringConstraints(max_length=4000)] | None = None
    assignee_org_id: OrgId | None = None
    assignee_user_id: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    due_at: datetime | None = None
    status: TaskStatus | None = None


class TaskCommentCreate(Strict):
    body: Annotated[str, StringConstraints(min_length=1, max_length=4000)]


class TaskCommentRead(BaseModel):
    id: uuid.UUID
    author_org_id: str
    author_user_id: str
    body: str
    created_at: datetime


class TaskRead(BaseModel):
    id: uuid.UUID
    trade_id: uuid.UUID
    title: str
    description: str | None
    assignee_org_id: str
    assignee_user_id: str | None
    due_at: datetime | None
    status: TaskStatus
    overdue: bool
    rule_id: str | None
    created_by_org_id: str | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    version: int
    comments: list[TaskCommentRead] = Field(default_factory=list)


class Mention(Strict):
    org_id: OrgId
    user_id: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None


MessageBody = Annotated[str, StringConstraints(min_length=1, max_length=8000)]


class ThreadCreate(Strict):
    subject: ShortText
    body: MessageBody
    member_org_ids: list[OrgId] | None = Field(
        default=None,
        max_length=50,
        description="Restrict the thread to these organisations (yours is added); null: everyone",
    )
    mentions: list[Mention] = Field(default_factory=list, max_length=50)


class MessageCreate(Strict):
    body: MessageBody
    mentions: list[Mention] = Field(default_factory=list, max_length=50)


class MessageRead(BaseModel):
    id: uuid.UUID
    thread_id: uuid.UUID
    author_org_id: str
    author_user_id: str
    body: str
    mentions: list[Mention]
    created_at: datetime


class ThreadRead(BaseModel):
    id: uuid.UUID
    trade_id: uuid.UUID
    subject: str
    member_org_ids: list[str] | None
    created_by_org_id: str
    created_at: datetime
    last_message_at: datetime
    unread_count: int
