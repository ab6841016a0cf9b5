"""Create a form prefilled from the trade's upstream forms."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from forms.api.deps import CallerDep, TradesDep
from forms.api.documents import EDIT_RESPONSES, document_read
from forms.api.idempotent import idempotent
from forms.domain.catalogue import FORM_TYPES_BY_CODE
from forms.schemas import (
    DerivationCreate,
    DerivationNoteRead,
    DerivationPreview,
    DerivationRead,
)
from forms.services import derivations
from shared.db import SessionDep
from shared.errors import InvalidInput, field_error

router = APIRouter(prefix="/api/v1/forms", tags=["forms"])


@router.post(
    "/trades/{trade_id}/derivations",
    status_code=201,
    response_model=DerivationRead,
    responses=EDIT_RESPONSES,
    summary="Create a form prefilled from upstream forms",
)
async def derive_document(
    trade_id: uuid.UUID,
    body: DerivationCreate,
    request: Request,
    session: SessionDep,
    caller: CallerDep,
    trades: TradesDep,
) -> Response:
    """E.g. the S/I from the booking, the receiving slip (UL090) from the S/I, the D/O from the A/N.
    The new form's ``provenance`` says, per field, which form and field the value came from."""

    async def run() -> JSONResponse:
        derived = await derivations.derive_form(
            session,
            trades,
            caller,
            trade_id=trade_id,
            form_code=body.form_type,
            custom_id=body.custom_id,
            source_form_ids=body.source_form_ids,
        )
        answer = DerivationRead(
            document=document_read(derived.view),
            created=derived.created,
            derived_from=derived.sources,
            notes=[
                DerivationNoteRead(path=n.path, message_en=n.message_en, message_ja=n.message_ja)
                for n in derived.notes
            ],
        )
        return JSONResponse(
            answer.model_dump(mode="json"),
            status_code=201 if derived.created else 200,
            headers={
                "ETag": derived.view.etag,
                "Location": f"/api/v1/forms/documents/{derived.view.form.id}",
            },
        )

    return await idempotent(
        request, session, caller, fingerprint_payload=body.model_dump(mode="json"), run=run
    )


@router.get(
    "/trades/{trade_id}/derivations/preview",
    summary="What a derived form would hold, without creating it",
)
async def preview_derivation(
    trade_id: uuid.UUID,
    session: SessionDep,
    caller: CallerDep,
    trades: TradesDep,
    form_type: Annotated[str, Query(examples=["UL090"])],
    source_form_id: Annotated[list[uuid.UUID] | None, Query()] = None,
) -> DerivationPreview:
    """The prefilled values with their provenance, for review before ``POST .../derivations``."""
    if form_type not in FORM_TYPES_BY_CODE:
        raise InvalidInput(
            f"Unknown form type {form_type!r}",
            errors=[field_error(["query", "form_type"], "see GET /api/v1/form-types")],
        )
    prefilled = await derivations.prefill(
        session,
        trades,
        caller,
        trade_id=trade_id,
        form_code=form_type,
        source_form_ids=source_form_id,
    )
    return DerivationPreview(
        form_type=form_type,
        values=prefilled.values,
        provenance=prefilled.provenance,
        derived_from=prefilled.sources,
        notes=[
            DerivationNoteRead(path=n.path, message_en=n.message_en, message_ja=n.message_ja)
            for n in prefilled.notes
        ],
    )
