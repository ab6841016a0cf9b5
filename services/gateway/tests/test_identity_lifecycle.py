"""The whole lifecycle on a real database with real mail: invite → first login → TOTP enrolment →
login with a code → refresh → reuse detected → password reset by mailed code."""

from __future__ import annotations

import httpx
import jwt
from fastapi import FastAPI

from gateway.domain.clock import FrozenClock
from shared.auth import FormAccess, PrincipalKind, principal_from_claims

from .conftest import PASSWORD, IdentityDriver, Org, bearer, invite


async def test_full_lifecycle(
    driver: IdentityDriver, make_org, client: httpx.AsyncClient, app: FastAPI, clock: FrozenClock
) -> None:
    org: Org = await make_org(require_totp=True)
    user_id, email = await invite(
        driver, org.admin, locale="en", form_permissions={"UL040": "read"}
    )

    mail = driver.sink.last(email, "invited")
    assert "You are invited to Minato" in mail["subject"]
    assert "招待" in mail["subject"]
    assert mail["body"].index("Dear") < mail["body"].index("様")  # English first for locale en

    # First login: password policy, then TOTP enrolment because the organisation requires it.
    token = driver.invitation_token(email)
    weak = await client.post(
        "/api/v1/auth/invitations/accept", json={"token": token, "password": "password1234"}
    )
    assert weak.status_code == 422
    assert weak.json()["errors"][0]["field"] == "password"
    accepted = await client.post(
        "/api/v1/auth/invitations/accept", json={"token": token, "password": PASSWORD}
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "totp_enrolment_required"
    enrolment = accepted.json()["enrolment"]
    assert enrolment["otpauth_uri"].startswith("otpauth://totp/Minato:")
    again = await client.post(
        "/api/v1/auth/invitations/accept", json={"token": token, "password": PASSWORD}
    )
    assert again.status_code == 401  # one-time
    enrolled = await client.post(
        "/api/v1/auth/totp/enrol",
        json={
            "enrolment_token": enrolment["enrolment_token"],
            "code": driver.totp(enrolment["secret"]),
        },
    )
    assert enrolled.status_code == 200, enrolled.text
    assert len(enrolled.json()["recovery_codes"]) == 10
    secret = enrolment["secret"]

    # Later logins: e-mail + password + code.
    without_code = await client.post(
        "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
    )
    assert without_code.status_code == 401
    assert without_code.json()["code"] == "totp_required"
    login = await driver.login(email, totp_secret=secret)
    assert login.status_code == 200, login.text
    tokens = login.json()["tokens"]

    # The access token carries what services read, and they read it with the shared verifier.
    claims = await app.state.token_verifier.verify(tokens["access_token"])
    principal = principal_from_claims(claims)
    assert principal.subject == user_id
    assert principal.kind is PrincipalKind.USER
    assert principal.org_id == org.id
    assert principal.business_types == {"forwarder", "customs_broker"}
    assert principal.form_access("UL040") is FormAccess.READ  # the invitation's override
    assert principal.form_access("MX290") is FormAccess.READWRITE  # forwarder default
    assert jwt.get_unverified_header(tokens["access_token"])["kid"] == app.state.keyring.current.kid
    assert (await driver.me(bearer(tokens)))["email"] == email

    # Refresh rotates; the old refresh token, presented again, revokes the whole family.
    first_refresh = tokens["refresh_token"]
    rotated = await client.post("/api/v1/auth/refresh", json={"refresh_token": first_refresh})
    assert rotated.status_code == 200
    second_refresh = rotated.json()["refresh_token"]
    assert second_refresh != first_refresh
    reused = await client.post("/api/v1/auth/refresh", json={"refresh_token": first_refresh})
    assert reused.status_code == 401
    assert reused.json()["code"] == "invalid_token"
    family_gone = await client.post("/api/v1/auth/refresh", json={"refresh_token": second_refresh})
    assert family_gone.status_code == 401

    # Password reset by a mailed one-time code; every session ends.
    fresh = (await driver.login(email, totp_secret=secret)).json()["tokens"]
    requested = await client.post("/api/v1/auth/password-reset", json={"email": email})
    assert requested.status_code == 202
    reset_mail = driver.sink.last(email, "password reset")
    assert "パスワード再設定" in reset_mail["subject"]
    code = next(
        line.split(": ", 1)[1].strip()
        for line in reset_mail["body"].splitlines()
        if line.startswith("Confirmation code: ")
    )
    new_password = "new quay gantry 2026 works"
    confirmed = await client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"email": email, "code": code, "new_password": new_password},
    )
    assert confirmed.status_code == 204, confirmed.text
    replayed = await client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"email": email, "code": code, "new_password": "another long passphrase 9"},
    )
    assert replayed.status_code == 400
    assert (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": fresh["refresh_token"]})
    ).status_code == 401
    assert (await driver.login(email, totp_secret=secret)).status_code == 401  # old password
    assert (await driver.login(email, new_password, totp_secret=secret)).status_code == 200

    # Logout revokes the family.
    session = (await driver.login(email, new_password, totp_secret=secret)).json()["tokens"]
    assert (
        await client.post("/api/v1/auth/logout", json={"refresh_token": session["refresh_token"]})
    ).status_code == 204
    assert (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    ).status_code == 401

    # The org admin reads it all in the audit log.
    events = await client.get(f"/api/v1/orgs/{org.id}/audit-events", headers=org.admin.headers)
    assert events.status_code == 200
    names = {e["event"] for e in events.json()["items"]}
    assert {
        "user_invited",
        "invitation_accepted",
        "totp_enrolled",
        "login_succeeded",
        "refresh_token_reused",
        "password_reset_requested",
        "password_reset",
        "login_failed",
        "logout",
    } <= names
