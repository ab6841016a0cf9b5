"""Dependencies shared by the routers: who may call, and the domain objects built per request."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Query, Request

from notifications.clients.forms import FormsGateway
from notifications.clients.trades import TradeDirectory
from notifications.config import Settings
from notifications.domain.events import EventIntake
from notifications.domain.runtime import Runtime
from notifications.domain.secrets import SecretBox
from notifications.domain.webhooks import WebhookEndpoints
from notifications.schemas import ORG_ID_PATTERN
from shared.auth import Principal, PrincipalDep, PrincipalKind
from shared.db import SessionDep
from shared.errors import Forbidden, InvalidInput, NotFound, field_error

ORG_ADMIN_ROLE = "org_admin"
EVENTS_PUBLISH_SCOPE = "events:publish"
# The gateway provisions our services' clients with "internal:call"; either scope may publish.
PUBLISH_SCOPES = (EVENTS_PUBLISH_SCOPE, "internal:call")
EVENTS_READ_SCOPE = "notifications:read"  # the gateway's partner scope for this service's reads
WEBHOOKS_MANAGE_SCOPE = "webhooks:manage"


async def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def trades_of(request: Request) -> TradeDirectory:
    trades: TradeDirectory = request.app.state.trades
    return trades


async def forms_of(request: Request) -> FormsGateway:
    forms: FormsGateway = request.app.state.forms
    return forms


# Dependencies are coroutines even when they never await: FastAPI runs a plain ``def`` dependency in
# its thread pool, four thread hand-offs per event intake (bench/webhook_fanout.py's profile).
SettingsDep = Annotated[Settings, Depends(settings_of)]
RuntimeDep = Annotated[Runtime, Depends(runtime_of)]
TradesDep = Annotated[TradeDirectory, Depends(trades_of)]


def org_of(principal: Principal) -> str:
    if principal.org_id is None:
        raise Forbidden("This call needs an organisation's token")
    if not ORG_ID_PATTERN.fullmatch(principal.org_id):
        raise Forbidden("The token's organisation is not valid")
    return principal.org_id


async def require_publisher(principal: PrincipalDep) -> Principal:
    """Only our own services publish events; user and partner tokens are refused."""
    if principal.kind is not PrincipalKind.SERVICE or not any(
        principal.has_scope(scope) for scope in PUBLISH_SCOPES
    ):
        raise Forbidden(f"A service token with scope {' or '.join(PUBLISH_SCOPES)} is required")
    return principal


async def require_org_reader(principal: PrincipalDep) -> Principal:
    """Users of an organisation, or its partner clients holding ``notifications:read``."""
    if principal.kind is PrincipalKind.SERVICE:
        raise Forbidden("Service tokens cannot read an organisation's events")
    if principal.kind is PrincipalKind.CLIENT and not principal.has_scope(EVENTS_READ_SCOPE):
        raise Forbidden(f"Scope {EVENTS_READ_SCOPE!r} required")
    org_of(principal)
    return principal


async def require_user(principal: PrincipalDep) -> Principal:
    if principal.kind is not PrincipalKind.USER:
        raise Forbidden("In-app notifications belong to users")
    org_of(principal)
    return principal


async def require_webhook_manager(principal: PrincipalDep) -> Principal:
    """Partner clients with ``webhooks:manage``, or users who administer their organisation."""
    if principal.kind is PrincipalKind.CLIENT:
        if not principal.has_scope(WEBHOOKS_MANAGE_SCOPE):
            raise Forbidden(f"Scope {WEBHOOKS_MANAGE_SCOPE!r} required")
    elif principal.kind is PrincipalKind.USER:
        if ORG_ADMIN_ROLE not in principal.roles:
            raise Forbidden("Only organisation administrators manage webhooks")
    else:
        raise Forbidden("Service tokens cannot manage webhooks")
    org_of(principal)
    return principal


def require_partner_scope(*scopes: str) -> Any:
    """A partner client (client credentials) holding any one of ``scopes``."""

    async def check(principal: PrincipalDep) -> Principal:
        if principal.kind is not PrincipalKind.CLIENT or not any(
            principal.has_scope(scope) for scope in scopes
        ):
            raise Forbidden(f"A partner client token with scope {' or '.join(scopes)} is required")
        org_of(principal)
        return principal

    return Depends(check)


PLATFORM_OPERATOR_ROLE = "platform_operator"


async def webhook_org(
    principal: PrincipalDep,
    org_id: Annotated[
        str | None,
        Query(description="Platform operators: the organisation (others: their own, if given)"),
    ] = None,
) -> str:
    """Whose webhooks a read or replay is about: the caller's organisation, or for a platform
    operator (who belongs to none) the one named by ``org_id``, so support can see why deliveries
    fail and replay them. Operators never create, change or delete an organisation's endpoints."""
    if (
        principal.kind is PrincipalKind.USER
        and PLATFORM_OPERATOR_ROLE in principal.roles
        and principal.org_id is None
    ):
        if org_id is None:
            raise InvalidInput(
                "Platform operators name the organisation",
                errors=[
                    field_error(
                        ["query", "org_id"], "required for platform operators", kind="missing"
                    )
                ],
            )
        if not ORG_ID_PATTERN.fullmatch(org_id):
            raise InvalidInput(errors=[field_error(["query", "org_id"], "not an organisation id")])
        return org_id
    await require_webhook_manager(principal)
    own = org_of(principal)
    if org_id is not None and org_id != own:
        raise NotFound("No such organisation")  # another organisation does not exist for you
    return own


PublisherDep = Annotated[Principal, Depends(require_publisher)]
OrgReaderDep = Annotated[Principal, Depends(require_org_reader)]
UserDep = Annotated[Principal, Depends(require_user)]
WebhookManagerDep = Annotated[Principal, Depends(require_webhook_manager)]
WebhookOrgDep = Annotated[str, Depends(webhook_org)]


async def event_intake(
    session: SessionDep, settings: SettingsDep, runtime: RuntimeDep, trades: TradesDep
) -> EventIntake:
    return EventIntake(
        session,
        runtime=runtime,
        trades=trades,
        max_event_data_bytes=settings.max_event_data_bytes,
        public_base_url=settings.public_base_url,
    )


async def webhook_endpoints(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    runtime: RuntimeDep,
    trades: TradesDep,
) -> WebhookEndpoints:
    box: SecretBox = request.app.state.secret_box
    return WebhookEndpoints(
        session, settings=settings, runtime=runtime, trades=trades, secret_box=box
    )


IntakeDep = Annotated[EventIntake, Depends(event_intake)]
EndpointsDep = Annotated[WebhookEndpoints, Depends(webhook_endpoints)]


def encode_cursor(*parts: object) -> str:
    return base64.urlsafe_b64encode("|".join(str(p) for p in parts).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, *converters: Callable[[str], Any]) -> list[Any] | None:
    """The values of a cursor made by ``encode_cursor``, each through its converter; 422 if bad."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        parts = raw.split("|")
        if len(parts) != len(converters):
            raise ValueError("wrong number of parts")
        return [convert(part) for convert, part in zip(converters, parts, strict=True)]
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(
            "Bad cursor", errors=[field_error(["cursor"], "not a valid cursor")]
        ) from None
