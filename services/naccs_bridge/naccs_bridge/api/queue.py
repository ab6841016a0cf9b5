"""``/api/v1/naccs/queue``: the send queue across organisations, for platform operators only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from naccs_bridge.api.deps import RuntimeDep
from naccs_bridge.api.sends import SendStatus
from naccs_bridge.schemas import QueueOverview
from naccs_bridge.services import queue
from shared.auth import PrincipalDep, PrincipalKind
from shared.db import SessionDep
from shared.errors import PROBLEM_SCHEMA, Forbidden

router = APIRouter(prefix="/api/v1/naccs/queue", tags=["naccs sends"])

PLATFORM_OPERATOR_ROLE = "platform_operator"


@router.get(
    "",
    summary="Every organisation's sends: count and oldest per state, depth, the oldest sends first",
    responses={403: PROBLEM_SCHEMA},
)
async def queue_overview(
    principal: PrincipalDep,
    session: SessionDep,
    runtime: RuntimeDep,
    status: Annotated[list[SendStatus] | None, Query()] = None,
    org_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> QueueOverview:
    """Platform operators only: organisations see their own sends at ``/api/v1/naccs/sends``."""
    if principal.kind is not PrincipalKind.USER or PLATFORM_OPERATOR_ROLE not in principal.roles:
        raise Forbidden("Only platform operators see the queue across organisations")
    return await queue.overview(
        session, statuses=status, org_id=org_id, limit=limit, now=runtime.clock()
    )
