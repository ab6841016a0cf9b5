"""Organisation templates: save a form's values under a name, start new forms from them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from forms.clients.trades import TradesClient
from forms.db import repositories as repo
from forms.db.models import FormTemplate
from forms.domain.paths import flatten
from forms.services import documents
from forms.services.access import can_read, require_read
from forms.services.context import Caller
from forms.services.errors import TemplateNameTaken, TemplateNotFound

# Values that belong to one document and must not be copied into the next one.
NOT_TEMPLATED: Final = frozenset({"documentNo", "issueDate", "dcsaOriginal"})


async def save_template(
    session: AsyncSession,
    trades: TradesClient,
    caller: Caller,
    *,
    form_id: uuid.UUID,
    name: str,
) -> FormTemplate:
    """The form as it reads now (shared items included), as a template of the caller's org."""
    view = await documents.get_form(session, trades, caller, form_id)
    code = view.form.form_code
    if await repo.find_template_by_name(session, org_id=caller.org_id, form_code=code, name=name):
        raise TemplateNameTaken(f"A {code} template named {name!r} exists")
    values = {key: value for key, value in view.values.items() if key not in NOT_TEMPLATED}
    return await repo.add_template(
        session,
        FormTemplate(
            id=caller.new_id(),
            org_id=caller.org_id,
            form_code=code,
            name=name,
            values=values,
            source_form_id=form_id,
            created_at=caller.clock(),
            created_by_user_id=caller.user_id,
        ),
    )


async def get_template(
    session: AsyncSession, caller: Caller, *, template_id: uuid.UUID
) -> FormTemplate:
    template = await repo.get_template(session, template_id, org_id=caller.org_id)
    if template is None:
        raise TemplateNotFound(f"No template {template_id}")
    require_read(caller, template.form_code)
    return template


async def list_templates(
    session: AsyncSession, caller: Caller, *, form_code: str | None
) -> list[FormTemplate]:
    templates = await repo.list_templates(session, org_id=caller.org_id, form_code=form_code)
    return [t for t in templates if can_read(caller, t.form_code)]


async def delete_template(session: AsyncSession, caller: Caller, *, template_id: uuid.UUID) -> None:
    await repo.delete_template(
        session, await get_template(session, caller, template_id=template_id)
    )


def start_from_template(
    template: FormTemplate, overrides: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Values for a new form (the request's own values win per top-level field) and provenance."""
    values = {**template.values, **overrides}
    provenance = {
        path: {"source": "template", "template_id": str(template.id)}
        for path in flatten({key: template.values[key] for key in template.values})
        if path.split(".", 1)[0].split("[", 1)[0] not in overrides
    }
    return values, provenance
