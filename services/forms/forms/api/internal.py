"""Service-to-service endpoints (service tokens only; the gateway does not route ``/internal``)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from forms.services import documents
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
    (UL290), each with the shared items merged in, and ``shared``, the root document. The bridge
    checks its own caller's participation before asking."""
    return await documents.naccs_bundle(session, trade_id=trade_id)
