"""Trades: create, read, list, look up, edit, change status."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from shared.db import ReadSessionDep, SessionDep
from shared.errors import PROBLEM_SCHEMA, InvalidInput, field_error
from trades.api.deps import (
    AccessDep,
    CallerDep,
    IdempotencyKey,
    IfMatch,
    RuntimeDep,
    idempotent,
)
from trades.api.views import trade_read, trade_summary
from trades.db.repositories import TradeFilters
from trades.domain import trades as trade_service
from trades.domain.errors import TradeNotFound
from trades.domain.lifecycle import Direction, TradeStatus
from trades.domain.pagination import MAX_PAGE_SIZE, decode_cursor, encode_cursor
from trades.schemas import Page, StatusChange, TradeCreate, TradeRead, TradeSummary, TradeUpdate

router = APIRouter(prefix="/api/v1/trades", tags=["trades"])

EDIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: PROBLEM_SCHEMA,
    412: PROBLEM_SCHEMA,
    428: PROBLEM_SCHEMA,
}


@router.post(
    "",
    status_code=201,
    response_model=TradeRead,
    responses={409: PROBLEM_SCHEMA},
)
async def create_trade(
    body: TradeCreate,
    request: Request,
    session: SessionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Create a trade; your organisation becomes its owner. Accepts `Idempotency-Key`."""

    async def produce() -> tuple[int, Any, dict[str, str]]:
        trade = await trade_service.create_trade(
            session, actor=caller.actor, org_id=caller.org_id, runtime=runtime, data=body
        )
        access = await trade_service.get_access(session, trade_id=trade.id, org_id=caller.org_id)
        view = trade_read(trade, access)
        headers = {
            "ETag": trade_service.trade_etag(trade),
            "Location": f"{router.prefix}/{trade.id}",
        }
        return 201, view.model_dump(mode="json"), headers

    return await idempotent(
        session,
        request=request,
        caller=caller,
        runtime=runtime,
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        produce=produce,
    )


StatusFilter = Annotated[list[TradeStatus] | None, Query(description="Any of these statuses")]


@router.get("", response_model=Page[TradeSummary])
async def list_trades(
    session: ReadSessionDep,
    caller: CallerDep,
    status: StatusFilter = None,
    direction: Direction | None = None,
    vessel_call_sign: Annotated[str | None, Query(max_length=9)] = None,
    vessel_name: Annotated[str | None, Query(max_length=35)] = None,
    voyage_no: Annotated[str | None, Query(max_length=17)] = None,
    etd_from: date | None = None,
    etd_to: date | None = None,
    eta_from: date | None = None,
    eta_to: date | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    participant: Annotated[
        str | None, Query(max_length=64, description="Trades this organisation also takes part in")
    ] = None,
    q: Annotated[
        str | None, Query(max_length=100, description="Free text: numbers, vessel, containers")
    ] = None,
    bl_no: Annotated[str | None, Query(max_length=35)] = None,
    booking_no: Annotated[str | None, Query(max_length=35)] = None,
    carrier_scac: Annotated[str | None, Query(max_length=4)] = None,
    house_reference: Annotated[str | None, Query(max_length=35)] = None,
    container_no: Annotated[str | None, Query(max_length=11)] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> Page[TradeSummary]:
    """Your organisation's trades, newest first, with keyset pagination (`next_cursor`)."""
    filters = TradeFilters(
        statuses=[s.value for s in status or ()],
        direction=direction,
        vessel_call_sign=vessel_call_sign.upper() if vessel_call_sign else None,
        vessel_name=vessel_name,
        voyage_no=voyage_no,
        etd_from=etd_from,
        etd_to=etd_to,
        eta_from=eta_from,
        eta_to=eta_to,
        created_from=created_from,
        created_to=created_to,
        participant_org_id=participant,
        text=q,
        bl_no=bl_no.strip().upper() if bl_no else None,
        booking_no=booking_no.strip().upper() if booking_no else None,
        carrier_scac=carrier_scac.strip().upper() if carrier_scac else None,
        house_reference=house_reference,
        container_no=container_no.strip().upper() if container_no else None,
    )
    trades, next_key = await trade_service.list_trades(
        session, org_id=caller.org_id, filters=filters, after=decode_cursor(cursor), limit=limit
    )
    return Page[TradeSummary](
        items=[trade_summary(t) for t in trades],
        next_cursor=encode_cursor(*next_key) if next_key else None,
    )


@router.get("/invitations", response_model=list[TradeSummary])
async def list_invitations(session: SessionDep, caller: CallerDep) -> list[TradeSummary]:
    """Trades your organisation is invited to and has not answered yet (newest first)."""
    trades = await trade_service.pending_invitations(session, org_id=caller.org_id)
    return [trade_summary(t) for t in trades]


@router.get("/lookup", response_model=TradeSummary, responses={404: PROBLEM_SCHEMA})
async def lookup_trade(
    session: ReadSessionDep,
    caller: CallerDep,
    bl_no: Annotated[str | None, Query(max_length=35)] = None,
    booking_no: Annotated[str | None, Query(max_length=35)] = None,
    carrier_scac: Annotated[str | None, Query(max_length=4)] = None,
    house_reference: Annotated[str | None, Query(max_length=35)] = None,
) -> TradeSummary:
    """Find one of your trades by B/L number, by booking number + carrier SCAC, or by house reference."""
    if booking_no and not carrier_scac:
        raise InvalidInput(
            "A booking number is unique only within its carrier",
            errors=[field_error(["query", "carrier_scac"], "required with booking_no")],
        )
    if not (bl_no or booking_no or house_reference):
        raise InvalidInput(
            "Give bl_no, booking_no with carrier_scac, or house_reference",
            errors=[field_error(["query"], "no lookup key")],
        )
    filters = TradeFilters(
        bl_no=bl_no.strip().upper() if bl_no else None,
        booking_no=booking_no.strip().upper() if booking_no else None,
        carrier_scac=carrier_scac.strip().upper() if carrier_scac else None,
        house_reference=house_reference,
    )
    trades, _ = await trade_service.list_trades(
        session, org_id=caller.org_id, filters=filters, after=None, limit=1
    )
    if not trades:
        raise TradeNotFound()
    return trade_summary(trades[0])


@router.get("/{trade_id}", response_model=TradeRead)
async def get_trade(session: SessionDep, access: AccessDep, response: Response) -> TradeRead:
    """One trade, with its `ETag` (send it back as `If-Match` to edit)."""
    trade = await trade_service.get_trade(session, access=access)
    response.headers["ETag"] = trade_service.trade_etag(trade)
    return trade_read(trade, access)


@router.patch("/{trade_id}", response_model=TradeRead, responses=EDIT_RESPONSES)
async def update_trade(
    body: TradeUpdate,
    session: SessionDep,
    access: AccessDep,
    caller: CallerDep,
    runtime: RuntimeDep,
    response: Response,
    if_match: IfMatch = None,
) -> TradeRead:
    """Change the fields you send (`null` clears one). Requires `If-Match`."""
    trade = await trade_service.update_trade(
        session, access=access, actor=caller.actor, runtime=runtime, if_match=if_match, data=body
    )
    response.headers["ETag"] = trade_service.trade_etag(trade)
    return trade_read(trade, access)


@router.post("/{trade_id}/status", response_model=TradeRead, responses=EDIT_RESPONSES)
async def change_status(
    body: StatusChange,
    session: SessionDep,
    access: AccessDep,
    caller: CallerDep,
    runtime: RuntimeDep,
    response: Response,
    if_match: IfMatch = None,
) -> TradeRead:
    """Move the trade to another status of its lifecycle. Requires `If-Match`."""
    trade = await trade_service.change_status(
        session, access=access, actor=caller.actor, runtime=runtime, if_match=if_match, change=body
    )
    response.headers["ETag"] = trade_service.trade_etag(trade)
    return trade_read(trade, access)
