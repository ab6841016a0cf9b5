"""``/api/v1/orgs``: organisations (platform operators create; org admins manage their own)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse

from gateway.api.deps import ActorDep, EnvDep, created, problems
from gateway.db.models import Organisation
from gateway.domain import identity
from gateway.schemas import (
    AuditEventList,
    AuditEventOut,
    OrganisationCreate,
    OrganisationCreated,
    OrganisationList,
    OrganisationOut,
    OrganisationUpdate,
    UserOut,
)

router = APIRouter(prefix="/api/v1/orgs", tags=["organisations"])


def org_out(org: Organisation) -> OrganisationOut:
    return OrganisationOut.model_validate(org, from_attributes=True)


@router.post(
    "",
    status_code=201,
    response_model=OrganisationCreated,
    responses=problems(401, 403, 409, 422),
    summary="Create an organisation (platform operators), optionally inviting its first admin",
)
async def create_organisation(
    request: Request,
    body: OrganisationCreate,
    env: EnvDep,
    actor: ActorDep,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Create an organisation; accepts Idempotency-Key."""

    async def produce() -> tuple[OrganisationCreated, str]:
        org, admin = await identity.create_organisation(env, actor, body)
        out = OrganisationCreated(
            **org_out(org).model_dump(),
            first_admin=UserOut.model_validate(admin, from_attributes=True) if admin else None,
        )
        return out, f"/api/v1/orgs/{org.id}"

    return await created(request, env, actor, idempotency_key, body, produce)


@router.get(
    "",
    response_model=OrganisationList,
    responses=problems(401),
    summary="List organisations (operators: all; others: their own)",
)
async def list_organisations(
    env: EnvDep,
    actor: ActorDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> OrganisationList:
    """List the organisations the caller may see."""
    only = None if actor.is_operator else actor.org_id
    if only is None and not actor.is_operator:
        return OrganisationList(items=[])
    rows = await env.orgs.list(only, limit, offset)
    return OrganisationList(items=[org_out(org) for org in rows])


@router.get(
    "/{org_id}",
    response_model=OrganisationOut,
    responses=problems(401, 404, 422),
    summary="One organisation",
)
async def get_organisation(org_id: uuid.UUID, env: EnvDep, actor: ActorDep) -> OrganisationOut:
    """Read an organisation (your own, or any for operators)."""
    return org_out(await identity.visible_organisation(env, actor, org_id))


@router.patch(
    "/{org_id}",
    response_model=OrganisationOut,
    responses=problems(401, 403, 404, 422),
    summary="Update an organisation (its admins or operators)",
)
async def update_organisation(
    org_id: uuid.UUID, body: OrganisationUpdate, env: EnvDep, actor: ActorDep
) -> OrganisationOut:
    """Change names, business types, SCAC, address, NACCS user codes or the TOTP requirement."""
    return org_out(await identity.update_organisation(env, actor, org_id, body))


@router.get(
    "/{org_id}/audit-events",
    response_model=AuditEventList,
    responses=problems(401, 403, 404, 422),
    summary="The organisation's security audit log, newest first (its admins or operators)",
)
async def audit_events(
    org_id: uuid.UUID,
    env: EnvDep,
    actor: ActorDep,
    before: datetime | None = None,
    event: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditEventList:
    """Logins, failures, invitations, permission changes and more; page with ``before``."""
    org = await identity.visible_organisation(env, actor, org_id)
    actor.admin_of(org.id, "organisation")
    rows = await env.audit_events.for_org(org.id, before=before, limit=limit, event=event)
    return AuditEventList(
        items=[AuditEventOut.model_validate(row, from_attributes=True) for row in rows]
    )
