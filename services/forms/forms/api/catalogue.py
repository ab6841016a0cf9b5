"""The form catalogue: what each form type is, its JSON Schema, who creates and receives it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from forms.domain.catalogue import FORM_TYPES, FormType, form_type
from forms.domain.catalogue import UnknownFormType as _UnknownFormType
from forms.domain.labels import labelled_json_schema
from forms.domain.validation import field_label
from forms.schemas import FormTypeDetail, FormTypeSummary, RequiredItem
from forms.services.errors import FormTypeNotFound
from shared.auth import PrincipalDep

router = APIRouter(prefix="/api/v1/form-types", tags=["form types"])


def _summary_fields(spec: FormType) -> dict[str, Any]:
    return {
        "code": spec.code,
        "code_source": spec.code_source,
        "name_ja": spec.name_ja,
        "name_en": spec.name_en,
        "direction": spec.direction.value,
        "scope": spec.scope,
        "creators": sorted(spec.creators),
        "receivers": sorted(spec.receivers),
        "shared_groups": list(spec.shared_groups),
        "is_trigger": spec.is_trigger,
    }


@router.get("", summary="Every form type")
async def list_form_types(principal: PrincipalDep) -> list[FormTypeSummary]:
    """The catalogue of form types, Cyber Port's UL codes and ours (MX)."""
    return [FormTypeSummary(**_summary_fields(spec)) for spec in FORM_TYPES]


@router.get("/{code}", summary="One form type, with its JSON Schema")
async def get_form_type(code: str, principal: PrincipalDep) -> FormTypeDetail:
    """Labels, JSON Schema of its values, who may create and receive it, what sending needs."""
    try:
        spec = form_type(code)
    except _UnknownFormType:
        raise FormTypeNotFound(f"No form type {code!r}") from None
    required = []
    for path in spec.required_for_send:
        label_ja, label_en = field_label(path)
        required.append(RequiredItem(path=path, label_ja=label_ja, label_en=label_en))
    return FormTypeDetail(
        **_summary_fields(spec),
        locks=list(spec.locks),
        required_for_send=required,
        requirement_source=spec.requirement_source,
        json_schema=labelled_json_schema(spec.schema),
    )
