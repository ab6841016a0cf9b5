"""DCSA Booking 2.0 and eBL 3.0 Shipping Instructions: import into a trade, export a form."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import JSONResponse

from forms.api.deps import CallerDep, TradesDep
from forms.api.documents import EDIT_RESPONSES, IfMatch, document_response
from forms.api.idempotent import idempotent
from forms.schemas import DocumentRead
from forms.services import dcsa
from shared.db import SessionDep
from shared.errors import PROBLEM_SCHEMA

router = APIRouter(prefix="/api/v1/forms", tags=["DCSA"])

DcsaKind = Literal["booking", "shipping-instructions"]


@router.post(
    "/trades/{trade_id}/dcsa/{kind}",
    status_code=201,
    response_model=DocumentRead,
    responses=EDIT_RESPONSES,
    summary="Import a DCSA booking (→ MX010) or shipping instructions (→ UL040)",
)
async def import_dcsa(
    trade_id: uuid.UUID,
    kind: DcsaKind,
    payload: Annotated[
        dict[str, Any], Body(description="The DCSA document as the partner sent it")
    ],
    request: Request,
    session: SessionDep,
    caller: CallerDep,
    trades: TradesDep,
    custom_id: str = "",
    if_match: IfMatch = None,
) -> Response:
    """Creates the trade's form (201), keeping the payload verbatim so an export reproduces it.
    When the form exists already the import replaces its values (200; needs ``If-Match``)."""

    async def run() -> JSONResponse:
        view, created = await dcsa.import_document(
            session,
            trades,
            caller,
            trade_id=trade_id,
            kind=kind,
            payload=payload,
            custom_id=custom_id,
            if_match=if_match,
        )
        return document_response(view, status_code=201 if created else 200)

    return await idempotent(
        request,
        session,
        caller,
        fingerprint_payload={"custom_id": custom_id, "payload": payload},
        run=run,
    )


@router.get(
    "/documents/{form_id}/dcsa",
    responses={422: PROBLEM_SCHEMA},
    summary="Export a form as its DCSA document",
)
async def export_dcsa(
    form_id: uuid.UUID,
    session: SessionDep,
    caller: CallerDep,
    trades: TradesDep,
    allow_invalid: bool = False,
) -> dict[str, Any]:
    """UL040 → eBL 3.0 ShippingInstructions, MX010 → Booking 2.0, with the shared items merged.
    Shipping instructions that DCSA's schema would refuse are a 422 listing why, unless
    ``allow_invalid=true``."""
    _, document = await dcsa.export_document(
        session, trades, caller, form_id=form_id, allow_invalid=allow_invalid
    )
    return document
