"""API clients: partner systems (OAuth2 client credentials, RFC 6749 §4.4) and our own services.

A client secret is 256 bits from a CSPRNG, shown once and stored as a keyed digest (HMAC-SHA256): a
slow password hash would add nothing against brute force of such a secret and would put ~20 ms of CPU
on every token request. Partner clients belong to one organisation and hold partner scopes only;
service clients (kind ``service``) belong to no organisation and are created by platform operators or
provisioned at start for our own services.
"""

from __future__ import annotations

import hmac
import uuid

from gateway.db.models import ApiClient
from gateway.domain.catalogue import INTERNAL_SCOPES, PARTNER_SCOPES, SERVICE_CLIENT_SCOPES
from gateway.domain.context import Actor, Env, Rejected
from gateway.domain.errors import InvalidClient, InvalidScope
from gateway.schemas import ClientCreate, ClientToken
from shared.errors import InvalidInput, NotFound, field_error

SECRET_PREFIX = "mcs_"  # noqa: S105 - a prefix, not a secret
CLIENT_ID_PREFIX = "mc_"
SERVICE_CLIENT_PREFIX = "svc-"


def _new_secret(env: Env) -> str:
    return SECRET_PREFIX + env.random.token(32)


def _digest(env: Env, secret: str) -> str:
    return env.box.digest("client-secret", secret)


async def create_client(env: Env, actor: Actor, body: ClientCreate) -> tuple[ApiClient, str]:
    if body.kind == "service":
        actor.require_operator()
        if body.org_id is not None:
            raise InvalidInput(
                errors=[field_error(["org_id"], "a service client has no organisation")]
            )
        org_id = None
    else:
        if actor.is_operator and body.org_id is None:
            raise InvalidInput(errors=[field_error(["org_id"], "required for a platform operator")])
        org_id = body.org_id or actor.org_id
        actor.admin_of(org_id, "organisation")
        if org_id is None or await env.orgs.get(org_id) is None:
            raise NotFound("No such organisation")
        internal = [s for s in body.scopes if s in INTERNAL_SCOPES]
        if internal:
            raise InvalidInput(
                errors=[
                    field_error(
                        ["scopes", body.scopes.index(s)], f"{s} is for Minato's own services"
                    )
                    for s in internal
                ]
            )
    secret = _new_secret(env)
    client = ApiClient(
        id=env.random.uuid(),
        client_id=CLIENT_ID_PREFIX + env.random.token(12),
        kind=body.kind,
        org_id=org_id,
        name=body.name,
        scopes=sorted(set(body.scopes)),
        secret_digest=_digest(env, secret),
        active=True,
        created_at=env.clock.now(),
    )
    env.session.add(client)
    await env.session.flush()
    env.audit.record(
        "client_created",
        org_id=org_id,
        actor_id=actor.id,
        subject_id=client.id,
        client_id=client.client_id,
        scopes=client.scopes,
    )
    return client, secret


async def visible_client(env: Env, actor: Actor, client_pk: uuid.UUID) -> ApiClient:
    client = await env.clients.get(client_pk)
    if client is None or (not actor.is_operator and client.org_id != actor.org_id):
        raise NotFound("No such client")
    actor.admin_of(client.org_id, "client")
    return client


async def list_clients(env: Env, actor: Actor, org_id: uuid.UUID | None) -> list[ApiClient]:
    if actor.is_operator:
        return list(await env.clients.list(org_id, None))
    if org_id is not None and org_id != actor.org_id:
        raise NotFound("No such organisation")
    actor.admin_of(actor.org_id, "organisation")
    return list(await env.clients.list(actor.org_id, "client"))


async def rotate_secret(env: Env, actor: Actor, client_pk: uuid.UUID) -> tuple[ApiClient, str]:
    client = await visible_client(env, actor, client_pk)
    secret = _new_secret(env)
    client.secret_digest = _digest(env, secret)
    env.audit.record(
        "client_secret_rotated", org_id=client.org_id, actor_id=actor.id, subject_id=client.id
    )
    await env.session.flush()
    return client, secret


async def deactivate_client(env: Env, actor: Actor, client_pk: uuid.UUID) -> None:
    client = await visible_client(env, actor, client_pk)
    if client.active:
        client.active = False
        env.audit.record(
            "client_deactivated", org_id=client.org_id, actor_id=actor.id, subject_id=client.id
        )
        await env.session.flush()


async def client_credentials(
    env: Env, client_id: str, client_secret: str, requested_scope: str | None
) -> ClientToken:
    client = await env.clients.by_client_id(client_id)
    if client is None and not client_id.startswith(SERVICE_CLIENT_PREFIX):
        # A service may name itself by its bare service name ("naccs_bridge"), as deployments list
        # them in GATEWAY_SERVICE_CLIENTS; only service clients answer to that alias.
        alias = await env.clients.by_client_id(SERVICE_CLIENT_PREFIX + client_id)
        client = alias if alias is not None and alias.kind == "service" else None
    presented = _digest(env, client_secret)
    expected = client.secret_digest if client else _digest(env, "no such client")
    if client is None or not hmac.compare_digest(presented, expected) or not client.active:
        if client is not None:
            env.audit.record(
                "client_authentication_failed", org_id=client.org_id, subject_id=client.id
            )
            await env.session.flush()
        raise Rejected(InvalidClient())
    granted = set(client.scopes)
    requested = set(requested_scope.split()) if requested_scope else granted
    if not requested <= granted:
        raise InvalidScope(f"Not granted: {' '.join(sorted(requested - granted))}")
    client.last_used_at = env.clock.now()
    access = env.access_tokens.sign(
        subject=client.client_id,
        kind=client.kind,
        jti=env.random.uuid().hex,
        org_id=client.org_id,
        scopes=sorted(requested),
        extra={"client_id": client.client_id},
    )
    env.audit.record("client_token_issued", org_id=client.org_id, subject_id=client.id)
    return ClientToken(
        access_token=access, expires_in=env.access_tokens.ttl_s, scope=" ".join(sorted(requested))
    )


async def provision_service_clients(env: Env, secrets: dict[str, str]) -> list[str]:
    """Create or update ``svc-<service>`` clients with the given secrets (start-up, idempotent)."""
    provisioned = []
    for name, secret in sorted(secrets.items()):
        service = name.removeprefix(SERVICE_CLIENT_PREFIX)  # "forms" and "svc-forms" are one client
        client_id = SERVICE_CLIENT_PREFIX + service
        scopes = sorted(SERVICE_CLIENT_SCOPES.get(service, ("internal:call",)))
        client = await env.clients.by_client_id(client_id)
        if client is None:
            client = ApiClient(
                id=env.random.uuid(),
                client_id=client_id,
                kind="service",
                org_id=None,
                name=f"Minato {service} service",
                scopes=scopes,
                secret_digest=_digest(env, secret),
                active=True,
                created_at=env.clock.now(),
            )
            env.session.add(client)
        else:
            client.scopes = scopes
            client.secret_digest = _digest(env, secret)
            client.active = True
        provisioned.append(client_id)
    await env.session.flush()
    return provisioned


__all__ = ["PARTNER_SCOPES", "client_credentials", "create_client", "provision_service_clients"]
