"""Webhook endpoints of the caller's organisation, their delivery log, replay and secret rotation.

Platform operators read endpoints and deliveries and replay for an organisation they name with
``?org_id=`` (``deps.webhook_org``); changing endpoints stays with the organisation."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from notifications.api.deps import (
    EndpointsDep,
    WebhookManagerDep,
    WebhookOrgDep,
    decode_cursor,
    encode_cursor,
    org_of,
)
from notifications.db.models import WebhookEndpoint
from notifications.db.repositories import WebhookRepository
from notifications.schemas import (
    AttemptOut,
    DeliveryOut,
    DeliveryPage,
    ReplayIn,
    ReplayResult,
    SecretRotated,
    WebhookEndpointCreated,
    WebhookEndpointIn,
    WebhookEndpointOut,
    WebhookEndpointPatch,
)
from shared.db import SessionDep
from shared.errors import PROBLEM_SCHEMA, NotFound

router = APIRouter(
    prefix="/api/v1/notifications/webhooks",
    tags=["notifications"],
    responses={403: PROBLEM_SCHEMA},
)


def endpoint_out(endpoint: WebhookEndpoint) -> WebhookEndpointOut:
    return WebhookEndpointOut(
        id=endpoint.id,
        org_id=endpoint.org_id,
        url=endpoint.url,
        event_types=list(endpoint.event_types),
        trade_id=endpoint.trade_id,
        description=endpoint.description,
        enabled=endpoint.enabled,
        disabled_reason=endpoint.disabled_reason,
        disabled_at=endpoint.disabled_at,
        failing_since=endpoint.failing_since,
        previous_secret_expires_at=endpoint.previous_secret_expires_at,
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Subscribe a URL to events (the signing secret is shown only in this response)",
    responses={409: PROBLEM_SCHEMA},
)
async def create_endpoint(
    payload: WebhookEndpointIn, principal: WebhookManagerDep, endpoints: EndpointsDep
) -> WebhookEndpointCreated:
    endpoint, secret = await endpoints.create(org_of(principal), principal.subject, payload)
    return WebhookEndpointCreated(**endpoint_out(endpoint).model_dump(), secret=secret)


@router.get("", summary="The organisation's webhook endpoints")
async def list_endpoints(org: WebhookOrgDep, session: SessionDep) -> list[WebhookEndpointOut]:
    rows = await WebhookRepository(session).list_endpoints(org)
    return [endpoint_out(e) for e in rows]


@router.get("/{endpoint_id}", responses={404: PROBLEM_SCHEMA})
async def get_endpoint(
    endpoint_id: uuid.UUID, org: WebhookOrgDep, endpoints: EndpointsDep
) -> WebhookEndpointOut:
    return endpoint_out(await endpoints.get(org, endpoint_id))


@router.patch(
    "/{endpoint_id}",
    summary="Change an endpoint; enabled=true re-enables one that was disabled",
    responses={404: PROBLEM_SCHEMA},
)
async def update_endpoint(
    endpoint_id: uuid.UUID,
    patch: WebhookEndpointPatch,
    principal: WebhookManagerDep,
    endpoints: EndpointsDep,
) -> WebhookEndpointOut:
    return endpoint_out(await endpoints.update(org_of(principal), endpoint_id, patch))


@router.delete(
    "/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT, responses={404: PROBLEM_SCHEMA}
)
async def delete_endpoint(
    endpoint_id: uuid.UUID, principal: WebhookManagerDep, endpoints: EndpointsDep
) -> Response:
    await endpoints.delete(org_of(principal), endpoint_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{endpoint_id}/secret/rotate",
    summary="New signing secret; the old one keeps signing too until the overlap ends",
    responses={404: PROBLEM_SCHEMA},
)
async def rotate_secret(
    endpoint_id: uuid.UUID, principal: WebhookManagerDep, endpoints: EndpointsDep
) -> SecretRotated:
    endpoint, secret = await endpoints.rotate_secret(org_of(principal), endpoint_id)
    return SecretRotated(
        endpoint_id=endpoint.id,
        secret=secret,
        previous_secret_expires_at=endpoint.previous_secret_expires_at,
    )


@router.post(
    "/{endpoint_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Deliver again one event, or every matching event received in a time range",
    responses={404: PROBLEM_SCHEMA, 409: PROBLEM_SCHEMA},
)
async def replay(
    endpoint_id: uuid.UUID,
    request: ReplayIn,
    org: WebhookOrgDep,
    endpoints: EndpointsDep,
) -> ReplayResult:
    return ReplayResult(scheduled=await endpoints.replay(org, endpoint_id, request))


@router.get(
    "/{endpoint_id}/deliveries",
    summary="The delivery log, newest first",
    responses={404: PROBLEM_SCHEMA},
)
async def list_deliveries(
    endpoint_id: uuid.UUID,
    org: WebhookOrgDep,
    endpoints: EndpointsDep,
    session: SessionDep,
    status_filter: Annotated[
        Literal["pending", "delivered", "failed", "cancelled"] | None, Query(alias="status")
    ] = None,
    event_id: uuid.UUID | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeliveryPage:
    endpoint = await endpoints.get(org, endpoint_id)
    parsed = decode_cursor(cursor, datetime.fromisoformat, uuid.UUID)
    before = (parsed[0], parsed[1]) if parsed else None
    rows = await WebhookRepository(session).list_deliveries(
        endpoint.id, status=status_filter, event_id=event_id, before=before, limit=limit + 1
    )
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        DeliveryOut(
            id=d.id,
            endpoint_id=d.endpoint_id,
            event_id=d.event_id,
            event_type=event_type,
            is_replay=d.is_replay,
            status=d.status,
            attempt_count=d.attempt_count,
            next_attempt_at=d.next_attempt_at if d.status == "pending" else None,
            last_status_code=d.last_status_code,
            last_error=d.last_error,
            created_at=d.created_at,
            finished_at=d.finished_at,
        )
        for d, event_type in rows
    ]
    last = rows[-1][0] if rows else None
    return DeliveryPage(
        items=items,
        next_cursor=encode_cursor(last.created_at.isoformat(), last.id) if more and last else None,
    )


@router.get(
    "/{endpoint_id}/deliveries/{delivery_id}/attempts",
    summary="Every attempt of one delivery: status, latency, response excerpt (≤ 1 KiB)",
    responses={404: PROBLEM_SCHEMA},
)
async def list_attempts(
    endpoint_id: uuid.UUID,
    delivery_id: uuid.UUID,
    org: WebhookOrgDep,
    endpoints: EndpointsDep,
    session: SessionDep,
) -> list[AttemptOut]:
    endpoint = await endpoints.get(org, endpoint_id)
    repo = WebhookRepository(session)
    delivery = await repo.get_delivery(endpoint.id, delivery_id)
    if delivery is None:
        raise NotFound("No such delivery")
    return [
        AttemptOut(
            id=a.id,
            attempt_number=a.attempt_number,
            started_at=a.started_at,
            duration_ms=a.duration_ms,
            succeeded=a.succeeded,
            status_code=a.status_code,
            error=a.error,
            response_excerpt=a.response_excerpt,
        )
        for a in await repo.attempts_of(delivery.id)
    ]
