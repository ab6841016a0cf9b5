"""Identity through real processes: the operator CLI, the real gateway, mail from the real SMTP sink,
tokens that the backend services accept, and a service client reading NACCS credentials."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from typing import Any

import httpx
import pyotp

from shared.codes import corporate_number_check_digit
from shared.devstack.stack import GATEWAY, REPO_ROOT, Stack

PASSWORD = "harbour crane 7 lifts boxes"


def mail_for(stack: Stack, to: str, subject: str, timeout_s: float = 15.0) -> dict[str, Any]:
    """Poll the sink's HTTP listing until the mail has arrived (the gateway sends after commit)."""
    sink = stack.processes["smtp-sink"].url
    deadline = time.monotonic() + timeout_s
    while True:
        messages = httpx.get(f"{sink}/messages", params={"to": to}).json()
        found = [m for m in messages if subject in m["subject"]]
        if found:
            return dict(found[-1])
        assert time.monotonic() < deadline, f"no mail about {subject!r} for {to}"
        time.sleep(0.1)


def line_value(body: str, label: str) -> str:
    return next(
        line.split(": ", 1)[1].strip() for line in body.splitlines() if line.startswith(label)
    )


def next_code(secret: str) -> str:
    # The code of the next 30-s step: accepted within the drift window, and never used before.
    return pyotp.TOTP(secret).at(time.time() + 30)


def accept_and_enrol(gateway: httpx.Client, token: str) -> tuple[str, dict[str, Any]]:
    accepted = gateway.post(
        "/api/v1/auth/invitations/accept", json={"token": token, "password": PASSWORD}
    )
    assert accepted.status_code == 200, accepted.text
    enrolment = accepted.json()["enrolment"]
    secret = enrolment["secret"]
    enrolled = gateway.post(
        "/api/v1/auth/totp/enrol",
        json={"enrolment_token": enrolment["enrolment_token"], "code": pyotp.TOTP(secret).now()},
    )
    assert enrolled.status_code == 200, enrolled.text
    return secret, enrolled.json()["tokens"]


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def test_identity_lifecycle_through_real_processes(gateway: httpx.Client, stack: Stack) -> None:
    # 1. A fresh system: the first operator comes from the CLI, with the gateway's own settings.
    operator_email = f"ops-{uuid.uuid4().hex[:8]}@minato-e2e.co.jp"
    cli = subprocess.run(
        [sys.executable, "-m", "gateway.admin", "create-operator", "--email", operator_email],
        env={**os.environ, **stack.service_env(GATEWAY)},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert cli.returncode == 0, cli.stderr
    printed = re.search(r"invitation code: (\S+)", cli.stdout)
    assert printed
    mailed = line_value(mail_for(stack, operator_email, "招待")["body"], "Invitation code: ")
    assert mailed == printed.group(1)
    _, operator = accept_and_enrol(gateway, mailed)

    # 2. The operator creates an organisation and invites its first admin.
    admin_email = f"admin-{uuid.uuid4().hex[:8]}@minato-e2e.co.jp"
    base = f"{uuid.uuid4().int % 10**12:012d}"
    org = gateway.post(
        "/api/v1/orgs",
        json={
            "name_ja": "港湾テスト株式会社",
            "name_en": "Port Test K.K.",
            "corporate_number": f"{corporate_number_check_digit(base)}{base}",
            "business_types": ["shipper"],
            "address": {"line_ja": "東京都港区海岸1-1"},
            "first_admin": {"email": admin_email, "display_name": "管理者", "locale": "en"},
        },
        headers={**bearer(operator), "Idempotency-Key": str(uuid.uuid4())},
    )
    assert org.status_code == 201, org.text
    admin_token = line_value(mail_for(stack, admin_email, "invited")["body"], "Invitation code: ")
    _, admin = accept_and_enrol(gateway, admin_token)

    # 3. The admin invites a member, who signs in for the first time and enrols TOTP.
    member_email = f"member-{uuid.uuid4().hex[:8]}@minato-e2e.co.jp"
    invited = gateway.post(
        "/api/v1/users",
        json={"email": member_email, "display_name": "担当者"},
        headers=bearer(admin),
    )
    assert invited.status_code == 201, invited.text
    member_token = line_value(mail_for(stack, member_email, "招待")["body"], "Invitation code: ")
    secret, _ = accept_and_enrol(gateway, member_token)

    # 4. Login with e-mail + password + code; the token opens the backend services.
    login = gateway.post(
        "/api/v1/auth/login",
        json={"email": member_email, "password": PASSWORD, "totp_code": next_code(secret)},
    )
    assert login.status_code == 200, login.text
    tokens = login.json()["tokens"]
    assert gateway.get("/api/v1/form-types", headers=bearer(tokens)).status_code == 200
    assert gateway.get("/api/v1/form-types").status_code == 401

    # 5. Refresh rotates; the old token again → the whole family is revoked.
    rotated = gateway.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert rotated.status_code == 200
    reused = gateway.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert reused.status_code == 401
    latest = rotated.json()["refresh_token"]
    assert gateway.post("/api/v1/auth/refresh", json={"refresh_token": latest}).status_code == 401

    # 6. Password reset with the code mailed through the real sink.
    assert (
        gateway.post("/api/v1/auth/password-reset", json={"email": member_email}).status_code == 202
    )
    code = line_value(
        mail_for(stack, member_email, "password reset")["body"], "Confirmation code: "
    )
    new_password = "a brand new quay passphrase"
    reset = gateway.post(
        "/api/v1/auth/password-reset/confirm",
        json={"email": member_email, "code": code, "new_password": new_password},
    )
    assert reset.status_code == 204, reset.text

    # 7. NACCS credentials: linked by the user, readable only with the bridge's service token.
    me = gateway.get("/api/v1/users/me", headers=bearer(rotated.json())).json()
    linked = gateway.put(
        f"/api/v1/users/{me['id']}/naccs-credentials",
        json={"user_code": "E2EAB", "identifier": "001", "password": "naccsSc1"},
        headers=bearer(rotated.json()),
    )
    assert linked.status_code == 200
    assert "naccsSc1" not in linked.text
    bridge = gateway.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "svc-naccs_bridge",
            "client_secret": stack.service_secrets["naccs_bridge"],
        },
    )
    assert bridge.status_code == 200, bridge.text
    revealed = gateway.get(
        f"/api/v1/internal/naccs-credentials/{me['id']}", headers=bearer(bridge.json())
    )
    assert revealed.status_code == 200
    assert revealed.json()["naccs_user_id"] == "E2EAB001"
