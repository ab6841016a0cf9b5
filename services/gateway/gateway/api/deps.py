"""Dependencies of the identity routes: the per-request environment, the acting user, and helpers to
answer with a problem while keeping what was written (failure counters, audit, revocations)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import BackgroundTasks, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from gateway.config import Settings
from gateway.domain.clock import Clock, Randomness
from gateway.domain.context import Actor, Env
from gateway.domain.crypto import PasswordHashing, SecretBox
from gateway.domain.idempotency import Idempotency, check_key, fingerprint
from gateway.domain.mail import Mailer
from gateway.domain.tokens import AccessTokens
from shared.auth import PrincipalDep, PrincipalKind
from shared.db import SessionDep
from shared.errors import (
    PROBLEM_SCHEMA,
    AppError,
    Forbidden,
    Unauthenticated,
    problem_body,
    problem_response,
)


@dataclass
class IdentityRuntime:
    """Process-wide parts of identity, made once in ``create_app`` (tests swap the clock)."""

    settings: Settings
    clock: Clock
    random: Randomness
    box: SecretBox
    hashing: PasswordHashing
    access_tokens: AccessTokens
    mailer: Mailer


def runtime(request: Request) -> IdentityRuntime:
    identity: IdentityRuntime = request.app.state.identity
    return identity


def get_env(request: Request, session: SessionDep, background: BackgroundTasks) -> Env:
    rt = runtime(request)
    return Env(
        session=session,
        settings=rt.settings,
        clock=rt.clock,
        random=rt.random,
        box=rt.box,
        hashing=rt.hashing,
        access_tokens=rt.access_tokens,
        ip=request.client.host if request.client else None,
        # Runs after the response is sent, i.e. after the unit of work has committed.
        send_mail=lambda mail: background.add_task(rt.mailer.send, mail),
    )


EnvDep = Annotated[Env, Depends(get_env)]


async def get_actor(env: EnvDep, principal: PrincipalDep) -> Actor:
    if principal.kind is not PrincipalKind.USER:
        raise Forbidden("This endpoint is for signed-in users")
    try:
        user_id = uuid.UUID(principal.subject)
    except ValueError as exc:
        raise Unauthenticated("Token subject is not a user") from exc
    user = await env.users.get(user_id)
    # Re-read on every request: a deactivated user is stopped here at once, token or not.
    if user is None or user.status != "active":
        raise Unauthenticated("This account is not active")
    return Actor(principal, user)


ActorDep = Annotated[Actor, Depends(get_actor)]


def rejection(request: Request, error: AppError) -> Response:
    body = problem_body(
        status=error.status_code,
        code=error.code,
        title=error.title,
        detail=error.detail,
        instance=request.url.path,
        errors=error.errors,
        extra=error.extra,
    )
    return problem_response(body, headers=error.headers)


async def created(
    request: Request,
    env: Env,
    actor: Actor,
    idempotency_key: str | None,
    body: BaseModel,
    produce: Callable[[], Awaitable[tuple[BaseModel, str]]],
) -> JSONResponse:
    """201 with a Location; with an ``Idempotency-Key``, a retry replays the first answer."""
    record = None
    if idempotency_key is not None:
        key = check_key(idempotency_key)
        idem = Idempotency(env.session, env.clock, env.random)
        claimed = await idem.claim(
            f"user:{actor.id}",
            key,
            fingerprint(request.method, request.url.path, body.model_dump(mode="json")),
        )
        if isinstance(claimed, tuple):
            status, stored = claimed
            return JSONResponse(
                stored["body"],
                status_code=status,
                headers={"Location": stored["location"], "Idempotent-Replayed": "true"},
            )
        record = (idem, claimed)
    result, location = await produce()
    payload = result.model_dump(mode="json")
    if record is not None:
        await record[0].complete(record[1], 201, {"body": payload, "location": location})
    return JSONResponse(payload, status_code=201, headers={"Location": location})


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return dict.fromkeys(statuses, PROBLEM_SCHEMA)
