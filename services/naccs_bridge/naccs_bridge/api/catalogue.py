"""The catalogue of the 82 business codes and their field maps."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from naccs_bridge.domain.loading import load_catalogue
from naccs_bridge.domain.specs import BusinessCode, CodeKind
from naccs_bridge.schemas import CodeDetail, CodeSummary
from naccs_bridge.services.naccs_forms import UnknownCode, field_map_for
from shared.auth import PrincipalDep

router = APIRouter(prefix="/api/v1/naccs/codes", tags=["naccs catalogue"])


def _summary(entry: BusinessCode) -> dict[str, object]:
    return {
        "code": entry.code,
        "name_ja": entry.name_ja,
        "name_en": entry.name_en,
        "kind": str(entry.kind),
        "parent": entry.parent,
        "map": entry.map,
        "feeds": list(entry.feeds),
        "writes_back": list(entry.writes_back),
    }


@router.get("", summary="The business codes the bridge covers")
async def list_codes(
    principal: PrincipalDep, kind: Annotated[CodeKind | None, Query()] = None
) -> list[CodeSummary]:
    return [
        CodeSummary.model_validate(_summary(entry))
        for entry in load_catalogue().codes
        if kind is None or entry.kind is kind
    ]


@router.get("/{code}", summary="One business code with its field map (items in wire order)")
async def get_code(code: str, principal: PrincipalDep) -> CodeDetail:
    entry = load_catalogue().get(code)
    if entry is None:
        raise UnknownCode(f"{code} is not one of the business codes")
    field_map = field_map_for(entry.code)
    return CodeDetail.model_validate(
        {
            **_summary(entry),
            "note": entry.note,
            "field_map": field_map.model_dump(mode="json"),
        }
    )
