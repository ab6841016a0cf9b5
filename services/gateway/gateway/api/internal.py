"""``/api/v1/internal``: what only Minato's own services may call (service tokens with a scope)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from gateway.api.deps import EnvDep, problems
from gateway.domain import identity
from gateway.schemas import NaccsCredentialSecret, OrgAdminContacts
from shared.auth import Principal, PrincipalDep, PrincipalKind
from shared.errors import Forbidden

router = APIRouter(prefix="/api/v1/internal", tags=["internal"])

NACCS_SCOPE = "naccs:credentials"
DIRECTORY_SCOPE = "directory:read"


def service_with(scope: str) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: PrincipalDep) -> Principal:
        # Only a service token will do: a user or a partner client never gets here, whatever its
        # scopes.
        if principal.kind is not PrincipalKind.SERVICE or not principal.has_scope(scope):
            raise Forbidden(f"A service token with scope {scope!r} is required")
        return principal

    return check


naccs_bridge = service_with(NACCS_SCOPE)
directory_reader = service_with(DIRECTORY_SCOPE)


@router.get(
    "/naccs-credentials/{user_id}",
    response_model=NaccsCredentialSecret,
    responses=problems(401, 403, 404, 422),
    summary="A user's NACCS credentials, decrypted (NACCS bridge only, scope naccs:credentials)",
)
async def naccs_credentials(
    user_id: uuid.UUID, env: EnvDep, caller: Principal = Depends(naccs_bridge)
) -> JSONResponse:
    """Decrypt and return a user's NACCS credentials; every read is audited."""
    secret = await identity.reveal_naccs(env, caller.subject, user_id)
    return JSONResponse(secret.model_dump(mode="json"), headers={"Cache-Control": "no-store"})


@router.get(
    "/orgs/{org_id}/admin-contacts",
    response_model=OrgAdminContacts,
    responses=problems(401, 403, 404, 422),
    summary="An organisation's active administrators and their mail addresses "
    "(notifications only, scope directory:read)",
)
async def org_admin_contacts(
    org_id: uuid.UUID, env: EnvDep, caller: Principal = Depends(directory_reader)
) -> JSONResponse:
    """Who to mail when something an administrator must not miss happens (an endpoint disabled)."""
    contacts = await identity.admin_contacts(env, org_id)
    return JSONResponse(contacts.model_dump(mode="json"), headers={"Cache-Control": "no-store"})
