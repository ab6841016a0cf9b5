"""Organisation templates of forms."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from forms.api.deps import CallerDep, TradesDep
from forms.db.models import FormTemplate
from forms.schemas import TemplateCreate, TemplateRead
from forms.services import templates as template_service
from shared.db import SessionDep

router = APIRouter(prefix="/api/v1/forms", tags=["form templates"])


def template_read(template: FormTemplate) -> TemplateRead:
    return TemplateRead(
        id=template.id,
        form_type=template.form_code,
        name=template.name,
        values=template.values,
        source_form_id=template.source_form_id,
        created_at=template.created_at,
    )


@router.post("/documents/{form_id}/templates", status_code=201, summary="Save a form as a template")
async def save_template(
    form_id: uuid.UUID,
    body: TemplateCreate,
    session: SessionDep,
    caller: CallerDep,
    trades: TradesDep,
) -> TemplateRead:
    """The form's current values (document number and dates left out), for your organisation only.
    Create a form from it with ``template_id`` in the create request."""
    template = await template_service.save_template(
        session, trades, caller, form_id=form_id, name=body.name
    )
    return template_read(template)


@router.get("/templates", summary="Your organisation's templates")
async def list_templates(
    session: SessionDep, caller: CallerDep, form_type: str | None = None
) -> list[TemplateRead]:
    """Templates of the form types your token lets you read."""
    templates = await template_service.list_templates(session, caller, form_code=form_type)
    return [template_read(t) for t in templates]


@router.get("/templates/{template_id}", summary="One template")
async def get_template(
    template_id: uuid.UUID, session: SessionDep, caller: CallerDep
) -> TemplateRead:
    """One of your organisation's templates."""
    return template_read(
        await template_service.get_template(session, caller, template_id=template_id)
    )


@router.delete("/templates/{template_id}", status_code=204, summary="Delete a template")
async def delete_template(
    template_id: uuid.UUID, session: SessionDep, caller: CallerDep
) -> Response:
    """Forms created from it keep their values."""
    await template_service.delete_template(session, caller, template_id=template_id)
    return Response(status_code=204)
