"""Organisations, users, invitations, form permissions and NACCS credentials, as org admins and
platform operators manage them. Every lookup of another user goes through the actor's organisation,
so one organisation's users do not exist for another's admin (404)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from gateway.db.models import NaccsCredential, OneTimeSecret, Organisation, User
from gateway.domain.authn import INVITATION
from gateway.domain.catalogue import FORM_TYPES, BusinessType, Role, default_form_access
from gateway.domain.context import Actor, Env
from gateway.domain.errors import TooManyAttempts
from gateway.domain.mail import invitation_mail
from gateway.schemas import (
    AdminContact,
    InviteUser,
    NaccsCredentialIn,
    NaccsCredentialSecret,
    OrgAdminContacts,
    OrganisationCreate,
    OrganisationUpdate,
    UserUpdate,
)
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound, field_error


def _check_carrier_scac(business_types: list[str], scac: str | None) -> None:
    if BusinessType.CARRIER in business_types and not scac:
        raise InvalidInput(
            "A carrier needs its SCAC",
            errors=[field_error(["scac"], "required when business_types includes carrier")],
        )
    if scac and BusinessType.CARRIER not in business_types:
        raise InvalidInput(
            "Only a carrier has a SCAC",
            errors=[field_error(["scac"], "only allowed when business_types includes carrier")],
        )


# -- organisations ----------------------------------------------------------------------------------
async def create_organisation(
    env: Env, actor: Actor, body: OrganisationCreate
) -> tuple[Organisation, User | None]:
    actor.require_operator()
    business_types = sorted({str(b) for b in body.business_types})
    _check_carrier_scac(business_types, body.scac)
    if await env.orgs.by_corporate_number(body.corporate_number):
        raise Conflict(
            "An organisation with this corporate number exists",
            errors=[field_error(["corporate_number"], "already registered", kind="duplicate")],
        )
    now = env.clock.now()
    org = Organisation(
        id=env.random.uuid(),
        name_ja=body.name_ja,
        name_en=body.name_en,
        corporate_number=body.corporate_number,
        business_types=business_types,
        scac=body.scac,
        address=body.address.model_dump(mode="json"),
        naccs_user_codes=list(dict.fromkeys(body.naccs_user_codes)),
        require_totp=body.require_totp,
        created_at=now,
        updated_at=now,
    )
    env.session.add(org)
    await env.session.flush()
    env.audit.record("organisation_created", org_id=org.id, actor_id=actor.id, subject_id=org.id)
    admin = None
    if body.first_admin is not None:
        invite = body.first_admin.model_copy(
            update={"org_id": org.id, "roles": sorted({*body.first_admin.roles, "org_admin"})}
        )
        admin = await invite_user(env, actor, invite, field_prefix=["first_admin"])
    return org, admin


async def visible_organisation(env: Env, actor: Actor, org_id: uuid.UUID) -> Organisation:
    actor.see_org(org_id)
    org = await env.orgs.get(org_id)
    if org is None:
        raise NotFound("No such organisation")
    return org


async def update_organisation(
    env: Env, actor: Actor, org_id: uuid.UUID, body: OrganisationUpdate
) -> Organisation:
    org = await visible_organisation(env, actor, org_id)
    actor.admin_of(org.id, "organisation")
    changes = body.model_dump(exclude_unset=True, mode="json")
    if "business_types" in changes and changes["business_types"] is not None:
        changes["business_types"] = sorted(set(changes["business_types"]))
    merged_types = changes.get("business_types") or list(org.business_types)
    merged_scac = changes["scac"] if "scac" in changes else org.scac
    _check_carrier_scac(merged_types, merged_scac)
    for name, value in changes.items():
        if value is None and name != "scac":
            raise InvalidInput(errors=[field_error([name], "must not be null")])
        setattr(org, name, value)
    org.updated_at = env.clock.now()
    env.audit.record(
        "organisation_updated",
        org_id=org.id,
        actor_id=actor.id,
        subject_id=org.id,
        fields=sorted(changes),
    )
    await env.session.flush()
    return org


# -- users ------------------------------------------------------------------------------------------
async def invite_user(
    env: Env, actor: Actor, body: InviteUser, field_prefix: list[str | int] | None = None
) -> User:
    prefix = field_prefix or []
    if actor.is_operator:
        if body.org_id is None:
            raise InvalidInput(
                errors=[field_error([*prefix, "org_id"], "required for a platform operator")]
            )
        org_id: uuid.UUID | None = body.org_id
    else:
        org_id = body.org_id or actor.org_id
    actor.admin_of(org_id, "organisation")
    org = await env.orgs.get(org_id) if org_id is not None else None
    if org is None:
        raise NotFound("No such organisation")
    if await env.users.by_email(body.email):
        raise Conflict(
            "A user with this e-mail exists",
            errors=[field_error([*prefix, "email"], "already registered", kind="duplicate")],
        )
    now = env.clock.now()
    user = User(
        id=env.random.uuid(),
        org_id=org.id,
        email=body.email,
        display_name=body.display_name,
        locale=body.locale,
        roles=sorted(set(body.roles)),
        status="invited",
        totp_enabled=False,
        created_at=now,
        updated_at=now,
    )
    env.session.add(user)
    await env.session.flush()
    permissions = {**default_form_access(list(org.business_types)), **body.form_permissions}
    await env.users.set_form_permissions(
        user.id, {form: permissions.get(form, "none") for form in FORM_TYPES}
    )
    await send_invitation(env, user, org)
    env.audit.record(
        "user_invited", org_id=org.id, actor_id=actor.id, subject_id=user.id, roles=user.roles
    )
    return user


async def send_invitation(env: Env, user: User, org: Organisation | None) -> str:
    token = env.random.token(32)
    now = env.clock.now()
    await env.secrets.void_open(user.id, INVITATION, now)
    env.session.add(
        OneTimeSecret(
            id=env.random.uuid(),
            user_id=user.id,
            purpose=INVITATION,
            digest=env.box.digest(INVITATION, token),
            created_at=now,
            expires_at=now + timedelta(seconds=env.settings.invitation_ttl_s),
            attempts=0,
        )
    )
    await env.session.flush()
    env.mail(
        invitation_mail(
            to=user.email,
            locale=user.locale,
            display_name=user.display_name,
            org_name_ja=org.name_ja if org else "Minato 運営",
            org_name_en=org.name_en if org else "Minato operations",
            token=token,
            url=f"{env.settings.public_url.rstrip('/')}/invitation?token={token}",
            valid_hours=env.settings.invitation_ttl_s // 3600,
        )
    )
    return token


async def visible_user(env: Env, actor: Actor, user_id: uuid.UUID) -> User:
    """A user the actor may see: themselves, anyone in their org (admins), anyone (operators)."""
    if user_id == actor.id:
        return actor.user
    user = await env.users.get(user_id)
    if user is None or (not actor.is_operator and user.org_id != actor.org_id):
        raise NotFound("No such user")
    if not actor.is_operator and not actor.is_org_admin:
        raise Forbidden("Only an administrator of your organisation may see other users")
    return user


async def managed_user(env: Env, actor: Actor, user_id: uuid.UUID) -> User:
    user = await env.users.get_for_update(user_id)
    if user is None or (not actor.is_operator and user.org_id != actor.org_id):
        raise NotFound("No such user")
    actor.admin_of(user.org_id, "user")
    return user


async def list_users(
    env: Env, actor: Actor, org_id: uuid.UUID | None, limit: int, offset: int
) -> list[User]:
    target = org_id if actor.is_operator and org_id is not None else actor.org_id
    if target is None:
        raise InvalidInput(errors=[field_error(["org_id"], "required for a platform operator")])
    if org_id is not None and org_id != target:
        raise NotFound("No such organisation")
    actor.admin_of(target, "organisation")
    return list(await env.users.list_in_org(target, limit, offset))


async def _admins_left(env: Env, org_id: uuid.UUID, excluding: uuid.UUID) -> int:
    users = await env.users.list_in_org(org_id, 10_000, 0)
    return sum(
        1
        for u in users
        if u.id != excluding and Role.ORG_ADMIN in u.roles and u.status != "deactivated"
    )


async def update_user(env: Env, actor: Actor, user_id: uuid.UUID, body: UserUpdate) -> User:
    if user_id == actor.id and body.roles is None:
        user = await env.users.get_for_update(user_id)  # anyone may edit their own name and locale
        assert user is not None
    else:
        user = await managed_user(env, actor, user_id)
    changes = body.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if value is None:
            raise InvalidInput(errors=[field_error([name], "must not be null")])
    if "roles" in changes:
        roles = sorted(set(changes["roles"]))
        if (
            user.org_id is not None
            and Role.ORG_ADMIN in user.roles
            and Role.ORG_ADMIN not in roles
            and await _admins_left(env, user.org_id, user.id) == 0
        ):
            raise Conflict(
                "The organisation would have no administrator",
                errors=[field_error(["roles"], "the last org_admin cannot give up the role")],
            )
        if roles != sorted(user.roles):
            env.audit.record(
                "user_roles_changed",
                org_id=user.org_id,
                actor_id=actor.id,
                subject_id=user.id,
                before=sorted(user.roles),
                after=roles,
            )
        changes["roles"] = roles
    for name, value in changes.items():
        setattr(user, name, value)
    user.updated_at = env.clock.now()
    await env.session.flush()
    return user


async def deactivate_user(env: Env, actor: Actor, user_id: uuid.UUID) -> User:
    user = await managed_user(env, actor, user_id)
    if user.id == actor.id:
        raise Conflict("You cannot deactivate yourself")
    if user.status != "deactivated":
        user.status = "deactivated"
        user.updated_at = env.clock.now()
        await env.refresh_tokens.revoke_all_for(user)
        env.audit.record(
            "user_deactivated", org_id=user.org_id, actor_id=actor.id, subject_id=user.id
        )
        await env.session.flush()
    return user


async def reactivate_user(env: Env, actor: Actor, user_id: uuid.UUID) -> User:
    user = await managed_user(env, actor, user_id)
    if user.status == "deactivated":
        user.status = "active" if user.password_hash else "invited"
        user.updated_at = env.clock.now()
        env.audit.record(
            "user_reactivated", org_id=user.org_id, actor_id=actor.id, subject_id=user.id
        )
        await env.session.flush()
    return user


async def resend_invitation(env: Env, actor: Actor, user_id: uuid.UUID) -> User:
    user = await managed_user(env, actor, user_id)
    if user.status != "invited":
        raise Conflict("This user has already accepted their invitation")
    now = env.clock.now()
    sent = await env.secrets.count_since(user.id, INVITATION, now - timedelta(hours=1))
    if sent >= env.settings.invitation_max_per_hour:
        raise TooManyAttempts(3600)  # mail is a cost and a nuisance (OWASP API4)
    org = await env.orgs.get(user.org_id) if user.org_id else None
    await send_invitation(env, user, org)
    env.audit.record("invitation_resent", org_id=user.org_id, actor_id=actor.id, subject_id=user.id)
    return user


async def reset_totp(env: Env, actor: Actor, user_id: uuid.UUID) -> User:
    """For a user who lost both the authenticator and the recovery codes: their next login enrols
    again (after the password), and every session ends now."""
    user = await managed_user(env, actor, user_id)
    user.totp_enabled = False
    user.totp_secret_encrypted = None
    user.totp_last_step = None
    user.updated_at = env.clock.now()
    await env.recovery_codes.replace(user.id, [])
    await env.refresh_tokens.revoke_all_for(user)
    env.audit.record("totp_reset", org_id=user.org_id, actor_id=actor.id, subject_id=user.id)
    await env.session.flush()
    return user


# -- form permissions -------------------------------------------------------------------------------
def full_permissions(stored: dict[str, str]) -> dict[str, str]:
    return {form: stored.get(form, "none") for form in FORM_TYPES}


async def get_form_permissions(env: Env, actor: Actor, user_id: uuid.UUID) -> dict[str, str]:
    user = await visible_user(env, actor, user_id)
    return full_permissions(await env.users.form_permissions(user.id))


async def set_form_permissions(
    env: Env, actor: Actor, user_id: uuid.UUID, changes: dict[str, str]
) -> dict[str, str]:
    user = await managed_user(env, actor, user_id)
    before = await env.users.form_permissions(user.id)
    await env.users.set_form_permissions(user.id, changes)
    after = await env.users.form_permissions(user.id)
    changed = {
        form: {"from": before.get(form, "none"), "to": after.get(form, "none")}
        for form in changes
        if before.get(form, "none") != after.get(form, "none")
    }
    if changed:
        env.audit.record(
            "form_permissions_changed",
            org_id=user.org_id,
            actor_id=actor.id,
            subject_id=user.id,
            changes=changed,
        )
    return full_permissions(after)


# -- NACCS credentials ------------------------------------------------------------------------------
def _naccs_context(user_id: uuid.UUID) -> str:
    return f"naccs:{user_id}"


async def _naccs_owner(env: Env, actor: Actor, user_id: uuid.UUID) -> User:
    if user_id == actor.id:
        return actor.user
    return await managed_user(env, actor, user_id)


async def link_naccs(
    env: Env, actor: Actor, user_id: uuid.UUID, body: NaccsCredentialIn
) -> NaccsCredential:
    user = await _naccs_owner(env, actor, user_id)
    payload = json.dumps(
        {"user_code": body.user_code, "identifier": body.identifier, "password": body.password}
    ).encode()
    sealed = env.box.seal(payload, context=_naccs_context(user.id))
    row = await env.naccs.get(user.id)
    now = env.clock.now()
    if row is None:
        row = NaccsCredential(user_id=user.id, sealed=sealed, updated_at=now)
        env.session.add(row)
    else:
        row.sealed = sealed
        row.updated_at = now
    env.audit.record(
        "naccs_credentials_linked", org_id=user.org_id, actor_id=actor.id, subject_id=user.id
    )
    await env.session.flush()
    return row


async def naccs_link(env: Env, actor: Actor, user_id: uuid.UUID) -> NaccsCredential | None:
    user = await visible_user(env, actor, user_id)
    return await env.naccs.get(user.id)


async def unlink_naccs(env: Env, actor: Actor, user_id: uuid.UUID) -> None:
    user = await _naccs_owner(env, actor, user_id)
    if await env.naccs.remove(user.id):
        env.audit.record(
            "naccs_credentials_unlinked", org_id=user.org_id, actor_id=actor.id, subject_id=user.id
        )


async def admin_contacts(env: Env, org_id: uuid.UUID) -> OrgAdminContacts:
    """Who must hear what an organisation's administrator must not miss; active admins only."""
    if await env.orgs.get(org_id) is None:
        raise NotFound("No such organisation")
    admins = await env.users.active_with_role(org_id, Role.ORG_ADMIN.value)
    return OrgAdminContacts(
        org_id=org_id,
        admins=[
            AdminContact(user_id=u.id, email=u.email, display_name=u.display_name, locale=u.locale)
            for u in admins
        ],
    )


async def reveal_naccs(
    env: Env, service_client_id: str, user_id: uuid.UUID
) -> NaccsCredentialSecret:
    """For the NACCS bridge only; the caller was checked to be a service with ``naccs:credentials``."""
    row = await env.naccs.get(user_id)
    user = await env.users.get(user_id)
    if row is None or user is None or user.status != "active":
        raise NotFound("No NACCS credentials for this user")
    data: dict[str, Any] = json.loads(env.box.open(row.sealed, context=_naccs_context(user_id)))
    env.audit.record(
        "naccs_credentials_read", org_id=user.org_id, actor_id=service_client_id, subject_id=user.id
    )
    return NaccsCredentialSecret(
        user_id=user.id,
        naccs_user_id=data["user_code"] + data["identifier"],
        user_code=data["user_code"],
        identifier=data["identifier"],
        password=data["password"],
    )
