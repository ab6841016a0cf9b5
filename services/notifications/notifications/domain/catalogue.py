"""The event catalogue: every event type and version, with the JSON schema of its ``data``.

A producer's event is validated against its (type, version) model at intake, so a partner can rely on the
schema published in the OpenAPI ``webhooks`` section. Models allow extra fields: adding a field is a
compatible change within a version; removing or retyping one needs a new version.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class EventData(BaseModel):
    """Fields every type may carry. ``trade_id`` in data is optional: the envelope's is authoritative.

    ``audience_org_ids`` (from the trades service): null means every participant of the trade may hear
    of the event; a list means only those organisations.
    """

    model_config = ConfigDict(extra="allow")

    audience_org_ids: list[str] | None = None


class TradeData(EventData):
    trade_id: uuid.UUID | None = None
    trade_no: str | None = None
    reference: str | None = Field(default=None, description="house reference or B/L number")
    status: str | None = None
    owner_org_id: str | None = None
    bl_no: str | None = None
    booking_no: str | None = None


class TradeStatusChangedData(TradeData):
    previous_status: str | None = None


class TradeScheduleChangedData(TradeData):
    etd: datetime | None = None
    eta: datetime | None = None


class ParticipantData(EventData):
    trade_id: uuid.UUID | None = None
    org_id: str = Field(description="the participating organisation")
    role: str | None = None
    hidden: bool = False
    status: str | None = None
    trade_no: str | None = None


class TaskData(EventData):
    trade_id: uuid.UUID | None = None
    task_id: uuid.UUID
    title: str | None = None
    status: str | None = None
    assignee_org_id: str | None = None
    due_at: datetime | None = None


class TaskCommentData(EventData):
    trade_id: uuid.UUID | None = None
    task_id: uuid.UUID
    comment_id: uuid.UUID
    title: str | None = None


class MessageData(EventData):
    trade_id: uuid.UUID | None = None
    message_id: uuid.UUID
    thread_id: uuid.UUID | None = None
    author_org_id: str | None = None
    subject: str | None = None
    excerpt: str | None = None


class FormData(EventData):
    """What the forms service sends for every ``form.*`` event."""

    trade_id: uuid.UUID | None = None
    form_id: uuid.UUID
    form_type: str = Field(description="Cyber Port form code, e.g. UL040")
    version: int | None = None
    status: str | None = None
    custom_id: str | None = None
    created_by_org_id: str | None = None
    changed_paths: list[str] = Field(default_factory=list)


class FormSentData(FormData):
    recipient_org_ids: list[str] = Field(default_factory=list)


class SharedItemsData(EventData):
    trade_id: uuid.UUID | None = None
    form_id: uuid.UUID | None = Field(default=None, description="the form that caused the change")
    form_type: str | None = None
    paths: list[str] = Field(default_factory=list, description="shared item paths concerned")
    shared_items_version: int | None = None


class SharedItemsLockData(SharedItemsData):
    held_by: dict[str, list[str]] = Field(
        default_factory=dict, description="path → the forms whose sending holds its lock"
    )


class ReceivingSlipData(FormData):
    """A container receiving slip (搬入票, UL090) that a terminal wants before the truck arrives.

    ``receiving_slip`` holds the gate data as the form has it (camelCase): ``bookingNo``,
    ``scacCode``, ``vessel``, ``voyageNumber``, ``portOfDischarge``, ``containers``,
    ``dangerousGoods``, ``terminal`` (``{"code", "name", "bondedAreaCode"}``),
    ``plannedDeliveryDate``, ``truckNumber``, ``driverName``.
    """

    receiving_slip: dict[str, Any] = Field(default_factory=dict)


class NaccsData(EventData):
    """What the NACCS bridge sends: ``naccs.result`` (a send's outcome), ``naccs.permit``."""

    trade_id: uuid.UUID | None = None
    code: str | None = Field(default=None, description="NACCS business code, e.g. ECR")
    send_id: uuid.UUID | None = None
    form_id: uuid.UUID | None = None
    form_ids: list[uuid.UUID] = Field(default_factory=list)
    input_id_no: str | None = None
    outcome: str | None = None
    direction: str | None = None
    declaration_no: str | None = None
    permitted_on: str | None = None


class VesselScheduleData(EventData):
    vessel_name: str
    vessel_call_sign: str | None = None
    voyage: str
    port: str = Field(description="UN/LOCODE")
    eta: datetime | None = None
    etd: datetime | None = None
    berth: str | None = None
    source_message_id: str | None = None


class CyAvailabilityData(EventData):
    terminal_code: str
    vessel_name: str | None = None
    voyage: str | None = None
    cy_open_at: datetime | None = None
    cy_cut_at: datetime | None = None
    available: bool | None = None
    source_message_id: str | None = None


class ShippingInstructionsReceivedData(EventData):
    trade_id: uuid.UUID | None = None
    inbound_id: uuid.UUID
    partner: str
    partner_message_id: str


class WebhookEndpointDisabledData(EventData):
    endpoint_id: uuid.UUID
    url: str
    reason: str
    failing_since: datetime | None = None


@dataclass(frozen=True)
class EventType:
    name: str
    version: int
    model: type[EventData]
    summary: str
    summary_ja: str
    trade_scoped: bool = True


def _types() -> list[EventType]:
    return [
        EventType("trade.created", 1, TradeData, "A trade was created", "取引が作成されました"),
        EventType("trade.updated", 1, TradeData, "A trade was updated", "取引が更新されました"),
        EventType(
            "trade.status_changed",
            1,
            TradeStatusChangedData,
            "A trade's status changed",
            "取引のステータスが変わりました",
        ),
        EventType(
            "trade.schedule_changed",
            1,
            TradeScheduleChangedData,
            "A trade's ETD/ETA changed",
            "取引の ETD/ETA が変わりました",
        ),
        EventType(
            "participant.invited",
            1,
            ParticipantData,
            "An organisation was invited to a trade",
            "取引に招待されました",
        ),
        EventType(
            "participant.added",
            1,
            ParticipantData,
            "A participant joined",
            "参加者が追加されました",
        ),
        EventType(
            "participant.declined",
            1,
            ParticipantData,
            "An invitation was declined",
            "招待が辞退されました",
        ),
        EventType(
            "participant.left",
            1,
            ParticipantData,
            "A participant left",
            "参加者が退出しました",
        ),
        EventType(
            "participant.updated",
            1,
            ParticipantData,
            "A participant changed",
            "参加者が変更されました",
        ),
        EventType(
            "participant.removed",
            1,
            ParticipantData,
            "A participant was removed",
            "参加者が削除されました",
        ),
        EventType("task.created", 1, TaskData, "A task was created", "タスクが作成されました"),
        EventType(
            "task.assigned", 1, TaskData, "A task was assigned", "タスクが割り当てられました"
        ),
        EventType(
            "task.commented",
            1,
            TaskCommentData,
            "A task got a comment",
            "タスクにコメントが付きました",
        ),
        EventType("task.updated", 1, TaskData, "A task was updated", "タスクが更新されました"),
        EventType("task.completed", 1, TaskData, "A task was completed", "タスクが完了しました"),
        EventType(
            "message.posted", 1, MessageData, "A message was posted", "メッセージが届きました"
        ),
        EventType("form.created", 1, FormData, "A form was created", "帳票が作成されました"),
        EventType("form.updated", 1, FormData, "A form was updated", "帳票が更新されました"),
        EventType("form.sent", 1, FormSentData, "A form was sent", "帳票が送信されました"),
        EventType(
            "form.unsent", 1, FormData, "A form was taken back", "帳票の送信が取り消されました"
        ),
        EventType(
            "form.acknowledged", 1, FormData, "A form was acknowledged", "帳票が受領されました"
        ),
        EventType("form.cancelled", 1, FormData, "A form was cancelled", "帳票が取り消されました"),
        EventType("form.deleted", 1, FormData, "A form was deleted", "帳票が削除されました"),
        EventType(
            "shared_items.updated",
            1,
            SharedItemsData,
            "Shared items changed",
            "共通項目が更新されました",
        ),
        EventType(
            "shared_items.locked",
            1,
            SharedItemsLockData,
            "Shared items were locked",
            "共通項目がロックされました",
        ),
        EventType(
            "shared_items.unlocked",
            1,
            SharedItemsLockData,
            "Shared items were unlocked",
            "共通項目のロックが解除されました",
        ),
        EventType(
            "receiving_slip.created",
            1,
            ReceivingSlipData,
            "A container receiving slip was created",
            "搬入票が作成されました",
        ),
        EventType(
            "receiving_slip.updated",
            1,
            ReceivingSlipData,
            "A container receiving slip changed",
            "搬入票が更新されました",
        ),
        EventType("naccs.sent", 1, NaccsData, "Sent to NACCS", "NACCS へ送信しました"),
        EventType("naccs.result", 1, NaccsData, "NACCS answered", "NACCS の処理結果を受信しました"),
        EventType("naccs.permit", 1, NaccsData, "A permit was issued", "許可通知を受信しました"),
        EventType(
            "vessel_schedule.updated",
            1,
            VesselScheduleData,
            "A vessel schedule changed",
            "本船動静が更新されました",
            trade_scoped=False,
        ),
        EventType(
            "cy_availability.updated",
            1,
            CyAvailabilityData,
            "CY availability changed",
            "CY 搬出入可否が更新されました",
            trade_scoped=False,
        ),
        EventType(
            "shipping_instructions.received",
            1,
            ShippingInstructionsReceivedData,
            "S/I data arrived from a partner platform",
            "提携先から船積依頼データを受信しました",
        ),
        EventType(
            "webhook_endpoint.disabled",
            1,
            WebhookEndpointDisabledData,
            "A webhook endpoint was disabled",
            "Webhook エンドポイントが無効化されました",
            trade_scoped=False,
        ),
    ]


CATALOGUE: dict[tuple[str, int], EventType] = {(t.name, t.version): t for t in _types()}
EVENT_TYPE_NAMES: frozenset[str] = frozenset(name for name, _ in CATALOGUE)


class UnknownEventType(LookupError):
    pass


def lookup(name: str, version: int) -> EventType:
    try:
        return CATALOGUE[(name, version)]
    except KeyError:
        raise UnknownEventType(f"{name} v{version}") from None


def validate_data(name: str, version: int, data: dict[str, Any]) -> dict[str, Any]:
    """Validate ``data`` against the catalogue; return it as JSON-ready (extra fields kept)."""
    model = lookup(name, version).model
    return model.model_validate(data).model_dump(mode="json", exclude_unset=True)


def is_known_type_pattern(pattern: str) -> bool:
    """Subscriptions may name a type (``form.sent``), a family (``form.*``) or everything (``*``)."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        prefix = pattern[:-1]
        return any(name.startswith(prefix) for name in EVENT_TYPE_NAMES)
    return pattern in EVENT_TYPE_NAMES


def type_matches(patterns: list[str], event_type: str) -> bool:
    for pattern in patterns:
        if pattern == "*" or pattern == event_type:
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


__all__ = ["CATALOGUE", "EventType", "UnknownEventType", "ValidationError", "lookup"]
