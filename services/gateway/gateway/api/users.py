"""``/api/v1/users``: invitations, the user directory of an organisation, form permissions and NACCS
credential links."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response

from gateway.api.deps import ActorDep, EnvDep, created, problems
from gateway.db.models import NaccsCredential, User
from gateway.domain import identity
from gateway.schemas import (
    FormPermissions,
    FormPermissionsUpdate,
    InviteUser,
    NaccsCredentialIn,
    NaccsLink,
    UserList,
    UserOut,
    UserUpdate,
)

router = APIRouter(prefix="/api/v1/users", tags=["users"])


def user_out(user: User) -> UserOut:
    return UserOut.model_validate(user, from_attributes=True)


def link_out(row: NaccsCredential | None) -> NaccsLink:
    return NaccsLink(linked=row is not None, updated_at=row.updated_at if row else None)


@router.post(
    "",
    status_code=201,
    response_model=UserOut,
    responses=problems(401, 403, 404, 409, 422),
    summary="Invite a user by e-mail (org admins into their organisation)",
)
async def invite_user(
    request: Request,
    body: InviteUser,
    env: EnvDep,
    actor: ActorDep,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Create an invited user and mail a one-time invitation; accepts Idempotency-Key."""

    async def produce() -> tuple[UserOut, str]:
        user = await identity.invite_user(env, actor, body)
        return user_out(user), f"/api/v1/users/{user.id}"

    return await created(request, env, actor, idempotency_key, body, produce)


@router.get(
    "",
    response_model=UserList,
    responses=problems(401, 403, 404, 422),
    summary="Users of your organisation (operators: of ?org_id)",
)
async def list_users(
    env: EnvDep,
    actor: ActorDep,
    org_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> UserList:
    """List an organisation's users (its admins or operators)."""
    rows = await identity.list_users(env, actor, org_id, limit, offset)
    return UserList(items=[user_out(u) for u in rows])


@router.get("/me", response_model=UserOut, responses=problems(401), summary="The signed-in user")
async def me(actor: ActorDep) -> UserOut:
    """Who am I."""
    return user_out(actor.user)


@router.get(
    "/{user_id}",
    response_model=UserOut,
    responses=problems(401, 403, 404, 422),
    summary="One user",
)
async def get_user(user_id: uuid.UUID, env: EnvDep, actor: ActorDep) -> UserOut:
    """Read a user of your organisation."""
    return user_out(await identity.visible_user(env, actor, user_id))


@router.patch(
    "/{user_id}",
    response_model=UserOut,
    responses=problems(401, 403, 404, 409, 422),
    summary="Change a user's name, language or roles",
)
async def update_user(
    user_id: uuid.UUID, body: UserUpdate, env: EnvDep, actor: ActorDep
) -> UserOut:
    """Anyone may change their own name and language; roles need an org admin."""
    return user_out(await identity.update_user(env, actor, user_id, body))


@router.post(
    "/{user_id}/deactivate",
    response_model=UserOut,
    responses=problems(401, 403, 404, 409, 422),
    summary="Deactivate a user: signed out at once, cannot sign in",
)
async def deactivate_user(user_id: uuid.UUID, env: EnvDep, actor: ActorDep) -> UserOut:
    """Deactivate; every refresh token of the user is revoked."""
    return user_out(await identity.deactivate_user(env, actor, user_id))


@router.post(
    "/{user_id}/reactivate",
    response_model=UserOut,
    responses=problems(401, 403, 404, 422),
    summary="Reactivate a deactivated user",
)
async def reactivate_user(user_id: uuid.UUID, env: EnvDep, actor: ActorDep) -> UserOut:
    """Reactivate a user."""
    return user_out(await identity.reactivate_user(env, actor, user_id))


@router.post(
    "/{user_id}/invitation",
    response_model=UserOut,
    responses=problems(401, 403, 404, 409, 422),
    summary="Send a new invitation (the previous one stops working)",
)
async def resend_invitation(user_id: uuid.UUID, env: EnvDep, actor: ActorDep) -> UserOut:
    """Re-send the invitation of a user who has not accepted yet."""
    return user_out(await identity.resend_invitation(env, actor, user_id))


@router.post(
    "/{user_id}/totp/reset",
    response_model=UserOut,
    responses=problems(401, 403, 404, 422),
    summary="Remove a user's TOTP enrolment (lost device); they enrol again at next login",
)
async def reset_totp(user_id: uuid.UUID, env: EnvDep, actor: ActorDep) -> UserOut:
    """Org admins: clear the second factor and sign the user out everywhere."""
    return user_out(await identity.reset_totp(env, actor, user_id))


@router.get(
    "/{user_id}/form-permissions",
    response_model=FormPermissions,
    responses=problems(401, 403, 404, 422),
    summary="A user's access per form type (none / read / readwrite)",
)
async def get_form_permissions(user_id: uuid.UUID, env: EnvDep, actor: ActorDep) -> FormPermissions:
    """Every form type with the user's access."""
    return FormPermissions(
        user_id=user_id,
        permissions=await identity.get_form_permissions(env, actor, user_id),
    )


@router.patch(
    "/{user_id}/form-permissions",
    response_model=FormPermissions,
    responses=problems(401, 403, 404, 422),
    summary="Change a user's access to some form types (org admins)",
)
async def set_form_permissions(
    user_id: uuid.UUID, body: FormPermissionsUpdate, env: EnvDep, actor: ActorDep
) -> FormPermissions:
    """Takes effect at the user's next token refresh, i.e. within the access-token lifetime."""
    permissions = await identity.set_form_permissions(env, actor, user_id, dict(body.permissions))
    return FormPermissions(user_id=user_id, permissions=permissions)


@router.get(
    "/{user_id}/naccs-credentials",
    response_model=NaccsLink,
    responses=problems(401, 403, 404, 422),
    summary="Whether a NACCS 利用者ID is linked (never the ID or password)",
)
async def naccs_link(user_id: uuid.UUID, env: EnvDep, actor: ActorDep) -> NaccsLink:
    """Link status only."""
    return link_out(await identity.naccs_link(env, actor, user_id))


@router.put(
    "/{user_id}/naccs-credentials",
    response_model=NaccsLink,
    responses=problems(401, 403, 404, 422),
    summary="Link a NACCS 利用者ID and password (stored encrypted; yourself or an org admin)",
)
async def link_naccs(
    user_id: uuid.UUID, body: NaccsCredentialIn, env: EnvDep, actor: ActorDep
) -> NaccsLink:
    """Store the NACCS credentials sealed; the answer says only that they are linked."""
    return link_out(await identity.link_naccs(env, actor, user_id, body))


@router.delete(
    "/{user_id}/naccs-credentials",
    status_code=204,
    responses=problems(401, 403, 404, 422),
    summary="Remove a user's NACCS credentials",
)
async def unlink_naccs(user_id: uuid.UUID, env: EnvDep, actor: ActorDep) -> Response:
    """Forget the NACCS credentials."""
    await identity.unlink_naccs(env, actor, user_id)
    return Response(status_code=204)
