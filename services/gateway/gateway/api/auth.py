"""``/api/v1/auth``: first login, login, TOTP enrolment, refresh, logout, password reset, client
credentials."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated
from urllib.parse import parse_qs, unquote

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response

from gateway.api.deps import ActorDep, EnvDep, problems, rejection
from gateway.domain import authn, clients
from gateway.domain.context import Rejected
from gateway.domain.errors import InvalidClient, UnsupportedGrantType
from gateway.schemas import (
    Accepted,
    AcceptInvitation,
    ClientToken,
    EnrolTotp,
    EnrolTotpResult,
    LoginRequest,
    LoginResult,
    PasswordChange,
    PasswordResetConfirm,
    PasswordResetRequest,
    RecoveryCodes,
    RecoveryCodesRequest,
    RefreshRequest,
    TokenPair,
)
from shared.errors import InvalidInput, field_error

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post(
    "/login",
    response_model=LoginResult,
    responses=problems(401, 422, 429),
    summary="Sign in with e-mail, password and (when enrolled) a TOTP or recovery code",
)
async def login(request: Request, body: LoginRequest, env: EnvDep) -> LoginResult | Response:
    """Sign in; answers tokens, or a TOTP enrolment when the organisation requires one."""
    try:
        return await authn.login(env, body.email, body.password, body.totp_code, body.recovery_code)
    except Rejected as rejected:
        return rejection(request, rejected.error)


@router.post(
    "/invitations/accept",
    response_model=LoginResult,
    responses=problems(401, 422),
    summary="First login: accept an invitation and set a password",
)
async def accept_invitation(body: AcceptInvitation, env: EnvDep) -> LoginResult:
    """Set the password from a mailed invitation; then tokens or TOTP enrolment."""
    return await authn.accept_invitation(env, body.token, body.password)


@router.post(
    "/totp/enrol",
    response_model=EnrolTotpResult,
    responses=problems(400, 401, 422),
    summary="Confirm TOTP enrolment with a first code; returns tokens and recovery codes",
)
async def enrol_totp(request: Request, body: EnrolTotp, env: EnvDep) -> EnrolTotpResult | Response:
    """Finish TOTP enrolment; recovery codes are shown only in this answer."""
    try:
        return await authn.enrol_totp(env, body.enrolment_token, body.code)
    except Rejected as rejected:
        return rejection(request, rejected.error)


@router.post(
    "/refresh",
    response_model=TokenPair,
    responses=problems(401, 422),
    summary="Exchange a refresh token for new tokens (the old refresh token stops working)",
)
async def refresh(request: Request, body: RefreshRequest, env: EnvDep) -> TokenPair | Response:
    """Rotate a refresh token; a reused one revokes its whole family."""
    try:
        return await authn.refresh(env, body.refresh_token)
    except Rejected as rejected:
        return rejection(request, rejected.error)


@router.post(
    "/logout", status_code=204, responses=problems(422), summary="Revoke a refresh token's family"
)
async def logout(body: RefreshRequest, env: EnvDep) -> Response:
    """Sign out: the refresh token and every token rotated from it stop working."""
    await authn.logout(env, body.refresh_token)
    return Response(status_code=204)


@router.post(
    "/password-reset",
    response_model=Accepted,
    status_code=202,
    responses=problems(422),
    summary="Mail a one-time confirmation code for a password reset",
)
async def request_password_reset(body: PasswordResetRequest, env: EnvDep) -> Accepted:
    """Always accepted, whether or not the e-mail has an account."""
    await authn.request_password_reset(env, body.email)
    return Accepted(detail="If the address has an account, a confirmation code has been sent")


@router.post(
    "/password-reset/confirm",
    status_code=204,
    responses=problems(400, 422, 429),
    summary="Set a new password with the mailed confirmation code",
)
async def confirm_password_reset(
    request: Request, body: PasswordResetConfirm, env: EnvDep
) -> Response:
    """Set a new password with the mailed code; every session is signed out."""
    try:
        await authn.confirm_password_reset(env, body.email, body.code, body.new_password)
    except Rejected as rejected:
        return rejection(request, rejected.error)
    return Response(status_code=204)


@router.post(
    "/password",
    status_code=204,
    responses=problems(401, 422, 429),
    summary="Change your password (signs out every session)",
)
async def change_password(
    request: Request, body: PasswordChange, env: EnvDep, actor: ActorDep
) -> Response:
    """Change the signed-in user's password."""
    try:
        await authn.change_password(env, actor.user, body.current_password, body.new_password)
    except Rejected as rejected:
        return rejection(request, rejected.error)
    return Response(status_code=204)


@router.post(
    "/recovery-codes",
    response_model=RecoveryCodes,
    responses=problems(401, 409, 422, 429),
    summary="Replace your TOTP recovery codes (needs a current confirmation code)",
)
async def regenerate_recovery_codes(
    request: Request, body: RecoveryCodesRequest, env: EnvDep, actor: ActorDep
) -> RecoveryCodes | Response:
    """New single-use recovery codes, shown only in this answer; the old ones stop working."""
    try:
        codes = await authn.regenerate_recovery_codes(env, actor.user, body.totp_code)
    except Rejected as rejected:
        return rejection(request, rejected.error)
    return RecoveryCodes(recovery_codes=codes)


TOKEN_REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["client_credentials"]},
                        "client_id": {"type": "string"},
                        "client_secret": {"type": "string"},
                        "scope": {"type": "string", "description": "space-separated subset"},
                    },
                }
            }
        },
    }
}


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidClient("Malformed Basic credentials") from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise InvalidClient("Malformed Basic credentials")
    # RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
    return unquote(client_id), unquote(secret)


@router.post(
    "/token",
    response_model=ClientToken,
    responses=problems(400, 401, 422),
    summary="OAuth2 client credentials: a token for a partner system or a Minato service",
    openapi_extra=TOKEN_REQUEST_BODY,
)
async def token(
    request: Request,
    env: EnvDep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> ClientToken | Response:
    """RFC 6749 §4.4; credentials by HTTP Basic or in the form body."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise InvalidInput(
            "Send application/x-www-form-urlencoded (RFC 6749 §4.4.2)",
            errors=[
                field_error(["header", "content-type"], "must be application/x-www-form-urlencoded")
            ],
        )
    raw = (await request.body()).decode("utf-8", errors="replace")
    form = {key: values[-1] for key, values in parse_qs(raw, keep_blank_values=True).items()}
    grant_type = form.get("grant_type")
    if not grant_type:
        raise InvalidInput(errors=[field_error(["grant_type"], "required", kind="missing")])
    if grant_type != "client_credentials":
        raise UnsupportedGrantType()
    credentials = _basic_credentials(authorization)
    if credentials is None:
        missing = [name for name in ("client_id", "client_secret") if not form.get(name)]
        if missing:
            raise InvalidInput(
                errors=[
                    field_error([name], "required (or use HTTP Basic)", kind="missing")
                    for name in missing
                ]
            )
        credentials = (form["client_id"], form["client_secret"])
    try:
        return await clients.client_credentials(
            env, credentials[0], credentials[1], form.get("scope")
        )
    except Rejected as rejected:
        return rejection(request, rejected.error)
