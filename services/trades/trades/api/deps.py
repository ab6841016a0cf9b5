"""Dependencies of the trades API: the caller, its standing in the trade, the runtime, idempotency."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from shared import idempotency
from shared.auth import Principal, PrincipalDep, PrincipalKind
from shared.db import SessionDep
from shared.errors import Forbidden
from trades.config import Settings
from trades.db.models import idempotency_table
from trades.domain import trades as trade_service
from trades.domain.access import TradeAccess
from trades.domain.errors import OrganisationRequired
from trades.domain.events import Actor
from trades.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


@dataclass(frozen=True, slots=True)
class Caller:
    """A user or partner client acting for an organisation."""

    principal: Principal
    org_id: str

    @property
    def actor(self) -> Actor:
        return Actor(user_id=self.principal.subject, org_id=self.org_id)

    @property
    def idempotency_scope(self) -> str:
        return f"{self.principal.kind}:{self.org_id}:{self.principal.subject}"


async def get_caller(principal: PrincipalDep) -> Caller:
    if principal.kind is PrincipalKind.SERVICE or not principal.org_id:
        raise OrganisationRequired(
            "Trades are reached by users and partner clients of an organisation"
        )
    return Caller(principal=principal, org_id=principal.org_id)


CallerDep = Annotated[Caller, Depends(get_caller)]


async def get_service(principal: PrincipalDep) -> Principal:
    if principal.kind is not PrincipalKind.SERVICE:
        raise Forbidden("Internal endpoints are for Minato services")
    return principal


ServiceDep = Annotated[Principal, Depends(get_service)]


async def get_access(trade_id: uuid.UUID, caller: CallerDep, session: SessionDep) -> TradeAccess:
    """The caller's standing in the trade of the path; 404 for non-participants."""
    return await trade_service.get_access(session, trade_id=trade_id, org_id=caller.org_id)


AccessDep = Annotated[TradeAccess, Depends(get_access)]

IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description="The ETag of the version you read (required)"),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=idempotency.IDEMPOTENCY_HEADER,
        description="Retry-safe creation: the same key and body return the first response",
    ),
]

Produce = Callable[[], Awaitable[tuple[int, Any, dict[str, str]]]]


async def idempotent(
    session: AsyncSession,
    *,
    request: Request,
    caller: Caller,
    runtime: Runtime,
    key: str | None,
    payload: Any,
    produce: Produce,
) -> Response:
    """Run ``produce`` once per Idempotency-Key, in the request's transaction, and store its response."""
    if key is None:
        status, body, headers = await produce()
        return JSONResponse(body, status_code=status, headers=headers)
    key = idempotency.validate_key(key)
    stored = await idempotency.begin(
        session,
        table=idempotency_table,
        principal=caller.idempotency_scope,
        key=key,
        fingerprint=idempotency.request_fingerprint(request.method, request.url.path, payload),
        now=runtime.clock(),
    )
    if stored is not None:
        return JSONResponse(
            stored.body,
            status_code=stored.status_code,
            headers={**stored.headers, idempotency.REPLAY_HEADER: "true"},
        )
    status, body, headers = await produce()
    await idempotency.complete(
        session,
        table=idempotency_table,
        principal=caller.idempotency_scope,
        key=key,
        status_code=status,
        body=body,
        headers=headers,
    )
    return JSONResponse(body, status_code=status, headers=headers)
