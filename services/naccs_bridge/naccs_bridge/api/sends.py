"""A send's status, and cancelling it while it is still queued."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from sqlalchemy import select

from naccs_bridge.api.deps import RuntimeDep, check_participant, org_of
from naccs_bridge.db.models import NaccsSendRow
from naccs_bridge.schemas import SendView
from naccs_bridge.services import sends
from shared.auth import Principal, PrincipalDep
from shared.db import SessionDep
from shared.errors import NotFound

router = APIRouter(prefix="/api/v1/naccs/sends", tags=["naccs sends"])


async def _send(
    session: SessionDep, runtime: RuntimeDep, principal: Principal, send_id: uuid.UUID
) -> NaccsSendRow:
    row = await session.get(NaccsSendRow, send_id)
    if row is None:
        raise NotFound("No such send")
    await check_participant(runtime, principal, row.trade_id)
    return row


SendStatus = Literal["queued", "sending", "sent", "result_stored", "failed", "cancelled"]


@router.get("", summary="Your organisation's sends, newest first (the NACCS連携管理一覧)")
async def list_sends(
    principal: PrincipalDep,
    session: SessionDep,
    status: Annotated[list[SendStatus] | None, Query()] = None,
    naccs_user_id: Annotated[str | None, Query(max_length=8)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[SendView]:
    query = select(NaccsSendRow).where(NaccsSendRow.org_id == org_of(principal))
    if status:
        query = query.where(NaccsSendRow.status.in_(status))
    if naccs_user_id:
        query = query.where(NaccsSendRow.naccs_user_id == naccs_user_id)
    rows = (
        await session.scalars(
            query.order_by(NaccsSendRow.created_at.desc(), NaccsSendRow.id).limit(limit)
        )
    ).all()
    return [sends.send_view(r) for r in rows]


@router.get(
    "/{send_id}", summary="Where a send is: queued, sending, sent, result_stored, failed, cancelled"
)
async def get_send(
    send_id: uuid.UUID, principal: PrincipalDep, session: SessionDep, runtime: RuntimeDep
) -> SendView:
    return sends.send_view(await _send(session, runtime, principal, send_id))


@router.post("/{send_id}/cancel", summary="Cancel a send that is still queued")
async def cancel_send(
    send_id: uuid.UUID, principal: PrincipalDep, session: SessionDep, runtime: RuntimeDep
) -> SendView:
    row = await _send(session, runtime, principal, send_id)
    await sends.cancel(session, row, runtime.clock())
    return sends.send_view(row)
