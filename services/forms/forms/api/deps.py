"""Dependencies of the endpoints: the caller, the trades client, the injected clock and ids."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from forms.clients.trades import TradesClient
from forms.config import Settings
from forms.services.context import Caller
from forms.services.errors import OrganisationRequired
from shared.auth import PrincipalDep


# ``async def`` although nothing is awaited: FastAPI runs a plain ``def`` dependency in a worker
# thread, a thread hop per request for a dictionary lookup.
async def get_trades(request: Request) -> TradesClient:
    trades: TradesClient = request.app.state.trades
    return trades


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_caller(request: Request, principal: PrincipalDep) -> Caller:
    if principal.org_id is None:
        raise OrganisationRequired("Forms belong to organisations; use a token with an org")
    return Caller(
        principal=principal,
        org_id=principal.org_id,
        clock=request.app.state.clock,
        new_id=request.app.state.new_id,
    )


TradesDep = Annotated[TradesClient, Depends(get_trades)]
CallerDep = Annotated[Caller, Depends(get_caller)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
