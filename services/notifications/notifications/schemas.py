"""Wire schemas of the notifications API (requests refuse unknown fields; responses are explicit)."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

Locale = Literal["ja", "en"]
ORG_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# Organisation ids as the gateway and the trades service write them (UUIDs today, opaque to us).
OrgId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
]
Channel = Literal["in_app", "email"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- events ---------------------------------------------------------------------------------------
class EventEnvelope(Strict):
    """What producers' outbox relays POST to ``/internal/events``."""

    id: uuid.UUID
    type: str = Field(min_length=3, max_length=80, examples=["trade.created"])
    version: int = Field(default=1, ge=1, le=1000)
    occurred_at: AwareDatetime
    source: str = Field(min_length=1, max_length=40, examples=["trades"])
    trade_id: uuid.UUID | None = None
    org_ids: list[OrgId] | None = Field(
        default=None,
        max_length=1000,
        description="Audience restriction. For a trade event: only these participants. "
        "For an event without trade: exactly these organisations.",
    )
    data: dict[str, Any] = Field(default_factory=dict)


class IntakeResult(BaseModel):
    id: uuid.UUID
    duplicate: bool
    audience_size: int
    webhook_deliveries: int


class EventOut(BaseModel):
    id: uuid.UUID
    type: str
    version: int
    source: str
    trade_id: uuid.UUID | None
    occurred_at: datetime
    received_at: datetime
    data: dict[str, Any]


class EventPage(BaseModel):
    items: list[EventOut]
    next_cursor: str | None = Field(
        description="pass as ?cursor= for the next page; null at the end"
    )


class EventTypeOut(BaseModel):
    type: str
    version: int
    summary: str
    summary_ja: str
    trade_scoped: bool
    data_schema: dict[str, Any]


# -- webhooks -------------------------------------------------------------------------------------
class WebhookEndpointIn(Strict):
    url: str = Field(max_length=2048, examples=["https://partner.example/minato/webhooks"])
    event_types: list[str] = Field(
        min_length=1, max_length=100, description='types, families ("form.*") or "*"'
    )
    trade_id: uuid.UUID | None = Field(default=None, description="only events of this trade")
    description: str | None = Field(default=None, max_length=200)


class WebhookEndpointPatch(Strict):
    url: str | None = Field(default=None, max_length=2048)
    event_types: list[str] | None = Field(default=None, min_length=1, max_length=100)
    trade_id: uuid.UUID | None = None
    description: str | None = Field(default=None, max_length=200)
    enabled: bool | None = None


class WebhookEndpointOut(BaseModel):
    id: uuid.UUID
    org_id: str
    url: str
    event_types: list[str]
    trade_id: uuid.UUID | None
    description: str | None
    enabled: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    failing_since: datetime | None
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


class WebhookEndpointCreated(WebhookEndpointOut):
    secret: str = Field(description="whsec_ signing secret. Shown only now: store it.")


class SecretRotated(BaseModel):
    endpoint_id: uuid.UUID
    secret: str = Field(description="the new whsec_ secret. Shown only now: store it.")
    previous_secret_expires_at: datetime | None = Field(
        description="until then every delivery is signed with the old and the new secret"
    )


class DeliveryOut(BaseModel):
    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    is_replay: bool
    status: str
    attempt_count: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


class AttemptOut(BaseModel):
    id: uuid.UUID
    attempt_number: int
    started_at: datetime
    duration_ms: int
    succeeded: bool
    status_code: int | None
    error: str | None
    response_excerpt: str | None


class ReplayIn(Strict):
    event_id: uuid.UUID | None = None
    since: AwareDatetime | None = Field(default=None, description="received at or after")
    until: AwareDatetime | None = Field(default=None, description="received before")


class ReplayResult(BaseModel):
    scheduled: int


# -- in-app notifications and preferences ---------------------------------------------------------
class NotificationOut(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    type: str
    trade_id: uuid.UUID | None
    title: str
    created_at: datetime
    read: bool


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None


class UnreadCount(BaseModel):
    unread: int


class PreferenceItem(Strict):
    event_type: str = Field(max_length=80, description='a type, a family ("form.*") or "*"')
    channel: Channel
    enabled: bool


class PreferencesIn(Strict):
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    locale: Locale = "ja"
    preferences: list[PreferenceItem] = Field(default_factory=list, max_length=200)


class PreferencesOut(BaseModel):
    email: str | None
    locale: Locale
    preferences: list[PreferenceItem]
    email_defaults: list[str] = Field(description="types mailed unless switched off")


# -- partner inbound ------------------------------------------------------------------------------
class SiParty(Strict):
    name: str = Field(min_length=1, max_length=140)
    address: str | None = Field(default=None, max_length=350)
    corporate_number: str | None = Field(default=None, pattern=r"^\d{13}$")


class SiContainer(Strict):
    number: str = Field(pattern=r"^[A-Z]{4}\d{7}$")
    size_type: str | None = Field(default=None, max_length=4, examples=["45G1"])
    seal_number: str | None = Field(default=None, max_length=35)
    gross_weight_kg: float | None = Field(default=None, gt=0)


class ShippingInstructionsPush(Strict):
    """TradeWaltz-style S/I push: the data a UL040 shipping instruction is filled from."""

    message_id: str = Field(
        min_length=1, max_length=100, description="the partner's id; dedupe key"
    )
    trade_id: uuid.UUID
    booking_number: str | None = Field(default=None, max_length=35)
    shipper: SiParty
    consignee: SiParty
    notify_party: SiParty | None = None
    port_of_loading: str = Field(pattern=r"^[A-Z]{2}[A-Z0-9]{3}$")
    port_of_discharge: str = Field(pattern=r"^[A-Z]{2}[A-Z0-9]{3}$")
    vessel_name: str | None = Field(default=None, max_length=35)
    voyage: str | None = Field(default=None, max_length=17)
    commodity: str = Field(min_length=1, max_length=512)
    hs_code: str | None = Field(default=None, pattern=r"^\d{6,10}$")
    containers: list[SiContainer] = Field(default_factory=list, max_length=500)


class VesselSchedulePush(Strict):
    """Colins-style vessel schedule update (本船動静)."""

    message_id: str = Field(min_length=1, max_length=100)
    vessel_name: str = Field(min_length=1, max_length=35)
    vessel_call_sign: str | None = Field(default=None, min_length=1, max_length=9)
    voyage: str = Field(min_length=1, max_length=17)
    port: str = Field(pattern=r"^[A-Z]{2}[A-Z0-9]{3}$")
    eta: AwareDatetime | None = None
    etd: AwareDatetime | None = None
    berth: str | None = Field(default=None, max_length=35)


class CyAvailabilityPush(Strict):
    """Colins-style CY availability (CY 搬出入可否)."""

    message_id: str = Field(min_length=1, max_length=100)
    terminal_code: str = Field(min_length=1, max_length=35)
    vessel_name: str | None = Field(default=None, max_length=35)
    voyage: str | None = Field(default=None, max_length=17)
    cy_open_at: AwareDatetime | None = None
    cy_cut_at: AwareDatetime | None = None
    available: bool | None = None


class InboundOut(BaseModel):
    id: uuid.UUID
    partner: str
    kind: str
    partner_message_id: str
    trade_id: uuid.UUID | None
    status: str
    status_detail: str | None
    event_id: uuid.UUID | None
    created_at: datetime
    processed_at: datetime | None
    duplicate: bool = False


class ReceivingSlipOut(BaseModel):
    slip_id: uuid.UUID
    trade_id: uuid.UUID
    terminal_code: str
    planned_date: date
    revision: int
    data: dict[str, Any]
    updated_at: datetime


class ReceivingSlipList(BaseModel):
    terminal_code: str
    date: date
    items: list[ReceivingSlipOut]
