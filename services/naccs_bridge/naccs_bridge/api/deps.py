"""Access checks shared by the endpoints."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from naccs_bridge.services.runtime import Runtime, get_runtime
from shared.auth import Principal, PrincipalDep
from shared.errors import Forbidden, NotFound

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def org_of(principal: Principal) -> str:
    if not principal.org_id:
        raise Forbidden("This needs a token of an organisation's user or client")
    return principal.org_id


async def check_participant(runtime: Runtime, principal: Principal, trade_id: uuid.UUID) -> str:
    """The caller's organisation, if it participates in the trade; otherwise 404, as if it did not exist."""
    org_id = org_of(principal)
    if not await runtime.trades.is_participant(trade_id, org_id):
        raise NotFound("No such trade")
    return org_id


async def participant_org(trade_id: uuid.UUID, principal: PrincipalDep, runtime: RuntimeDep) -> str:
    return await check_participant(runtime, principal, trade_id)


ParticipantOrg = Annotated[str, Depends(participant_org)]
