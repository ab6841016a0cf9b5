"""The organisation's NACCS usage by month."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from naccs_bridge.api.deps import RuntimeDep, org_of
from naccs_bridge.schemas import UsageSummary
from naccs_bridge.services.usage import monthly_summary
from shared.auth import PrincipalDep
from shared.db import SessionDep

router = APIRouter(prefix="/api/v1/naccs/usage", tags=["naccs usage"])


@router.get("", summary="Telegrams sent to NACCS in a month, by code and by user")
async def get_usage(
    principal: PrincipalDep,
    session: SessionDep,
    runtime: RuntimeDep,
    month: Annotated[str | None, Query(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")] = None,
) -> UsageSummary:
    month = month or runtime.clock().strftime("%Y-%m")
    return await monthly_summary(session, org_id=org_of(principal), month=month)
