"""Service-to-service routes: event intake from the other services' outbox relays."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from notifications.api.deps import IntakeDep, PublisherDep
from notifications.schemas import EventEnvelope, IntakeResult
from shared.errors import PROBLEM_SCHEMA

router = APIRouter(prefix="/internal", tags=["internal"])


@router.post(
    "/events",
    summary="Publish an event (service tokens with events:publish)",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "already received: nothing changed"}, 403: PROBLEM_SCHEMA},
)
async def publish_event(
    envelope: EventEnvelope, principal: PublisherDep, intake: IntakeDep, response: Response
) -> IntakeResult:
    outcome = await intake.accept(envelope)
    if outcome.duplicate:
        response.status_code = status.HTTP_200_OK
    return IntakeResult(
        id=outcome.event_id,
        duplicate=outcome.duplicate,
        audience_size=len(outcome.audience),
        webhook_deliveries=outcome.webhook_deliveries,
    )
