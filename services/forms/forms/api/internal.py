"""Service-to-service endpoints (service tokens only; the gateway does not route ``/internal``)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from forms.api.deps import TradesDep
from forms.api.idempotent import idempotent
from forms.schemas import EventIntake, IncomingEvent
from forms.services import documents, naccs_status, partner_import
from shared.auth import Principal, PrincipalDep, PrincipalKind
from shared.db import SessionDep
from shared.errors import PROBLEM_SCHEMA, Forbidden

router = APIRouter(prefix="/internal", tags=["internal"])

FORMS_READ_SCOPE = "forms:read"


async def forms_reader(principal: PrincipalDep) -> Principal:
    if principal.kind is not PrincipalKind.SERVICE or not principal.has_scope(FORMS_READ_SCOPE):
        raise Forbidden(f"A service token with scope {FORMS_READ_SCOPE!r} is required")
    return principal


ServiceReaderDep = Annotated[Principal, Depends(forms_reader)]


@router.get(
    "/trades/{trade_id}/naccs-bundle",
    responses={403: PROBLEM_SCHEMA, 404: PROBLEM_SCHEMA},
    summary="The trade's forms as one bundle for the NACCS bridge's prefill",
)
async def naccs_bundle(
    trade_id: uuid.UUID, session: SessionDep, _service: ServiceReaderDep
) -> dict[str, Any]:
    """``SI`` (UL040), ``BK`` (UL050), ``IV`` (UL100), ``PL`` (UL120), ``BL`` (UL150), ``AN``
    (UL290), each with the shared items merged in (cancelled forms left out), and ``shared``, the
    root document. The bridge checks its own caller's participation before asking."""
    return await documents.naccs_bundle(session, trade_id=trade_id)


FORMS_WRITE_SCOPE = "forms:write"


async def forms_writer(principal: PrincipalDep) -> Principal:
    if principal.kind is not PrincipalKind.SERVICE or not principal.has_scope(FORMS_WRITE_SCOPE):
        raise Forbidden(f"A service token with scope {FORMS_WRITE_SCOPE!r} is required")
    return principal


class PartnerSiImport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    on_behalf_of_org: str = Field(min_length=1, max_length=64)
    data: dict[str, Any] = Field(description="The partner's S/I push, as notifications stores it")


class PartnerSiImported(BaseModel):
    form_id: uuid.UUID
    version: int
    created: bool


@router.post(
    "/trades/{trade_id}/forms/UL040/imports",
    status_code=201,
    response_model=PartnerSiImported,
    responses={
        200: {"model": PartnerSiImported},
        403: PROBLEM_SCHEMA,
        404: PROBLEM_SCHEMA,
        409: PROBLEM_SCHEMA,
        422: PROBLEM_SCHEMA,
    },
    summary="A partner's S/I push (via notifications) into the trade's UL040",
)
async def import_partner_si(
    trade_id: uuid.UUID,
    body: PartnerSiImport,
    request: Request,
    session: SessionDep,
    trades: TradesDep,
    service: Annotated[Principal, Depends(forms_writer)],
) -> Response:
    """For the organisation named (it must take part in the trade): creates the S/I (201) or
    updates the fields the push carries (200). Retries with the same ``Idempotency-Key`` replay."""
    caller = partner_import.acting_for(
        service,
        body.on_behalf_of_org,
        clock=request.app.state.clock,
        new_id=request.app.state.new_id,
    )

    async def run() -> JSONResponse:
        view, created = await partner_import.import_pushed_si(
            session,
            trades,
            caller,
            trade_id=trade_id,
            push=body.data,
            message_id=request.headers.get("Idempotency-Key"),
        )
        answer = PartnerSiImported(form_id=view.form.id, version=view.form.version, created=created)
        return JSONResponse(
            answer.model_dump(mode="json"),
            status_code=201 if created else 200,
            headers={"ETag": view.etag},
        )

    return await idempotent(
        request, session, caller, fingerprint_payload=body.model_dump(mode="json"), run=run
    )


INTERNAL_CALL_SCOPE = "internal:call"


async def event_publisher(principal: PrincipalDep) -> Principal:
    # Only a Minato service's own token: users and partner clients never write customs status.
    if principal.kind is not PrincipalKind.SERVICE or not principal.has_scope(INTERNAL_CALL_SCOPE):
        raise Forbidden(f"A service token with scope {INTERNAL_CALL_SCOPE!r} is required")
    return principal


@router.post(
    "/events",
    status_code=201,
    response_model=EventIntake,
    responses={
        200: {"description": "Already taken (a redelivery), or nothing in it for forms"},
        403: PROBLEM_SCHEMA,
        422: PROBLEM_SCHEMA,
    },
    summary="Event intake: the NACCS bridge's customs status, written back into the trade's forms",
)
async def receive_event(
    event: IncomingEvent,
    request: Request,
    session: SessionDep,
    response: Response,
    service: Annotated[Principal, Depends(event_publisher)],
) -> EventIntake:
    """The outbox envelope. ``customs_status`` items of the NACCS bridge's events are applied once
    per event id, all or none, each only if later than what the trade has (201); a redelivery or an
    event without customs status is acknowledged with 200 and changes nothing."""
    intake = await naccs_status.take_event(
        session, event, publisher=service.subject, now=request.app.state.clock()
    )
    if not intake.recorded:
        response.status_code = 200
    return EventIntake(recorded=intake.recorded, entries=intake.entries, changed=intake.changed)
