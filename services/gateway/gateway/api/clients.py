"""``/api/v1/clients``: partner API clients of an organisation (and, for operators, service clients)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from gateway.api.deps import ActorDep, EnvDep, problems
from gateway.db.models import ApiClient
from gateway.domain import clients
from gateway.schemas import ClientCreate, ClientList, ClientOut, ClientWithSecret

router = APIRouter(prefix="/api/v1/clients", tags=["clients"])


def client_out(client: ApiClient) -> ClientOut:
    return ClientOut.model_validate(client, from_attributes=True)


def with_secret(client: ApiClient, secret: str) -> ClientWithSecret:
    return ClientWithSecret(**client_out(client).model_dump(), client_secret=secret)


@router.post(
    "",
    status_code=201,
    response_model=ClientWithSecret,
    responses=problems(401, 403, 404, 422),
    summary="Register an API client; its secret is shown only in this answer",
)
async def create_client(body: ClientCreate, env: EnvDep, actor: ActorDep) -> JSONResponse:
    """Create a client-credentials client (no Idempotency-Key: a replay would need the secret stored)."""
    client, secret = await clients.create_client(env, actor, body)
    return JSONResponse(
        with_secret(client, secret).model_dump(mode="json"),
        status_code=201,
        headers={"Location": f"/api/v1/clients/{client.id}", "Cache-Control": "no-store"},
    )


@router.get(
    "",
    response_model=ClientList,
    responses=problems(401, 403, 404, 422),
    summary="Your organisation's API clients (operators: all, or ?org_id)",
)
async def list_clients(env: EnvDep, actor: ActorDep, org_id: uuid.UUID | None = None) -> ClientList:
    """List API clients without their secrets."""
    rows = await clients.list_clients(env, actor, org_id)
    return ClientList(items=[client_out(c) for c in rows])


@router.get(
    "/{client_id}",
    response_model=ClientOut,
    responses=problems(401, 403, 404, 422),
    summary="One API client",
)
async def get_client(client_id: uuid.UUID, env: EnvDep, actor: ActorDep) -> ClientOut:
    """Read an API client (never its secret)."""
    return client_out(await clients.visible_client(env, actor, client_id))


@router.post(
    "/{client_id}/secret",
    response_model=ClientWithSecret,
    responses=problems(401, 403, 404, 422),
    summary="Issue a new secret (the old one stops working); shown only in this answer",
)
async def rotate_secret(client_id: uuid.UUID, env: EnvDep, actor: ActorDep) -> JSONResponse:
    """Rotate the client secret."""
    client, secret = await clients.rotate_secret(env, actor, client_id)
    return JSONResponse(
        with_secret(client, secret).model_dump(mode="json"), headers={"Cache-Control": "no-store"}
    )


@router.delete(
    "/{client_id}",
    status_code=204,
    responses=problems(401, 403, 404, 422),
    summary="Deactivate an API client: it can get no new tokens",
)
async def deactivate_client(client_id: uuid.UUID, env: EnvDep, actor: ActorDep) -> Response:
    """Deactivate an API client."""
    await clients.deactivate_client(env, actor, client_id)
    return Response(status_code=204)
