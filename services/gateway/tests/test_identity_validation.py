"""Bad input on every identity endpoint is a problem response that names the offending field."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.domain.clients import provision_service_clients

from .conftest import IdentityDriver, Org, identity_env, invite, org_body, unique_email

BAD_ID = "not-a-uuid"


async def test_every_endpoint_names_the_bad_field(
    driver: IdentityDriver, make_org: Any, operator: Any, app: FastAPI, db_session: AsyncSession
) -> None:
    org: Org = await make_org(require_totp=False)
    user_id, _ = await invite(driver, org.admin)
    admin = org.admin.headers
    ops = operator.headers
    await provision_service_clients(identity_env(app, db_session), {"naccs_bridge": "s" * 40})
    bridge = await driver.client.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "svc-naccs_bridge",
            "client_secret": "s" * 40,
        },
    )
    service = {"Authorization": f"Bearer {bridge.json()['access_token']}"}
    user_path = f"/api/v1/users/{user_id}"
    opaque = "x" * 20
    cases: list[tuple[str, str, dict[str, Any], dict[str, str], str]] = [
        ("POST", "/api/v1/auth/login", {"json": {"email": "", "password": "x"}}, {}, "email"),
        (
            "POST",
            "/api/v1/auth/login",
            {"json": {"email": "a@b.jp", "password": "x", "totp_code": "12ab"}},
            {},
            "totp_code",
        ),
        (
            "POST",
            "/api/v1/auth/login",
            {"json": {"email": "a@b.jp", "password": "x", "admin": True}},
            {},
            "admin",
        ),
        (
            "POST",
            "/api/v1/auth/invitations/accept",
            {"json": {"token": "short", "password": "x"}},
            {},
            "token",
        ),
        (
            "POST",
            "/api/v1/auth/totp/enrol",
            {"json": {"enrolment_token": opaque, "code": "1"}},
            {},
            "code",
        ),
        ("POST", "/api/v1/auth/refresh", {"json": {}}, {}, "refresh_token"),
        ("POST", "/api/v1/auth/logout", {"json": {"refresh_token": 5}}, {}, "refresh_token"),
        ("POST", "/api/v1/auth/password-reset", {"json": {"email": ""}}, {}, "email"),
        (
            "POST",
            "/api/v1/auth/password-reset/confirm",
            {"json": {"email": "a@b.jp", "code": "123", "new_password": "x"}},
            {},
            "code",
        ),
        (
            "POST",
            "/api/v1/auth/password",
            {"json": {"current_password": "", "new_password": "x"}},
            admin,
            "current_password",
        ),
        (
            "POST",
            "/api/v1/auth/password",
            {"json": {"current_password": "harbour crane 7 lifts boxes", "new_password": "short"}},
            admin,
            "new_password",
        ),
        (
            "POST",
            "/api/v1/auth/recovery-codes",
            {"json": {"totp_code": "12345"}},
            admin,
            "totp_code",
        ),
        ("POST", "/api/v1/auth/token", {"data": {"client_id": "x"}}, {}, "grant_type"),
        (
            "POST",
            "/api/v1/auth/token",
            {"data": {"grant_type": "client_credentials"}},
            {},
            "client_id",
        ),
        (
            "POST",
            "/api/v1/auth/token",
            {"json": {"grant_type": "client_credentials"}},
            {},
            "header.content-type",
        ),
        (
            "POST",
            "/api/v1/orgs",
            {"json": org_body(corporate_number="1234567890123")},
            ops,
            "corporate_number",
        ),
        (
            "POST",
            "/api/v1/orgs",
            {"json": org_body(business_types=["pirate"])},
            ops,
            "business_types.0",
        ),
        ("POST", "/api/v1/orgs", {"json": org_body(business_types=["carrier"])}, ops, "scac"),
        ("POST", "/api/v1/orgs", {"json": org_body(scac="MAEU")}, ops, "scac"),
        (
            "POST",
            "/api/v1/orgs",
            {"json": org_body(address={"line_ja": "x", "postal_code": "12"})},
            ops,
            "address.postal_code",
        ),
        (
            "POST",
            "/api/v1/orgs",
            {"json": org_body(naccs_user_codes=["abc"])},
            ops,
            "naccs_user_codes.0",
        ),
        (
            "POST",
            "/api/v1/orgs",
            {"json": org_body(first_admin={"email": "nope", "display_name": "x"})},
            ops,
            "first_admin.email",
        ),
        (
            "POST",
            "/api/v1/orgs",
            {"json": org_body()},
            {**ops, "Idempotency-Key": "k" * 300},
            "header.Idempotency-Key",
        ),
        ("GET", "/api/v1/orgs?limit=0", {}, ops, "limit"),
        ("GET", f"/api/v1/orgs/{BAD_ID}", {}, ops, "org_id"),
        (
            "PATCH",
            f"/api/v1/orgs/{org.id}",
            {"json": {"business_types": []}},
            admin,
            "business_types",
        ),
        ("PATCH", f"/api/v1/orgs/{org.id}", {"json": {"name_ja": None}}, admin, "name_ja"),
        ("GET", f"/api/v1/orgs/{org.id}/audit-events?before=yesterday", {}, admin, "before"),
        (
            "POST",
            "/api/v1/users",
            {"json": {"email": "not-an-email", "display_name": "x"}},
            admin,
            "email",
        ),
        (
            "POST",
            "/api/v1/users",
            {"json": {"email": unique_email("v"), "display_name": "x", "roles": ["god"]}},
            admin,
            "roles.0",
        ),
        (
            "POST",
            "/api/v1/users",
            {
                "json": {
                    "email": unique_email("v"),
                    "display_name": "x",
                    "form_permissions": {"UL999": "read"},
                }
            },
            admin,
            "form_permissions.UL999",
        ),
        (
            "POST",
            "/api/v1/users",
            {"json": {"email": unique_email("v"), "display_name": "x", "status": "active"}},
            admin,
            "status",
        ),
        ("GET", "/api/v1/users?offset=-1", {}, admin, "offset"),
        ("GET", f"/api/v1/users/{BAD_ID}", {}, admin, "user_id"),
        ("PATCH", user_path, {"json": {"locale": "fr"}}, admin, "locale"),
        ("POST", f"/api/v1/users/{BAD_ID}/deactivate", {}, admin, "user_id"),
        ("POST", f"/api/v1/users/{BAD_ID}/reactivate", {}, admin, "user_id"),
        ("POST", f"/api/v1/users/{BAD_ID}/invitation", {}, admin, "user_id"),
        ("POST", f"/api/v1/users/{BAD_ID}/totp/reset", {}, admin, "user_id"),
        ("GET", f"/api/v1/users/{BAD_ID}/form-permissions", {}, admin, "user_id"),
        (
            "PATCH",
            f"{user_path}/form-permissions",
            {"json": {"permissions": {"UL040": "write"}}},
            admin,
            "permissions.UL040",
        ),
        (
            "PATCH",
            f"{user_path}/form-permissions",
            {"json": {"permissions": {}}},
            admin,
            "permissions",
        ),
        ("GET", f"/api/v1/users/{BAD_ID}/naccs-credentials", {}, admin, "user_id"),
        (
            "PUT",
            f"{user_path}/naccs-credentials",
            {"json": {"user_code": "abc", "identifier": "001", "password": "p"}},
            admin,
            "user_code",
        ),
        (
            "PUT",
            f"{user_path}/naccs-credentials",
            {"json": {"user_code": "ABCDE", "identifier": "001", "password": "demo-naccs"}},
            admin,
            "password",
        ),
        (
            "PUT",
            f"{user_path}/naccs-credentials",
            {"json": {"user_code": "ABCDE", "identifier": "001", "password": "パスワード"}},
            admin,
            "password",
        ),
        ("DELETE", f"/api/v1/users/{BAD_ID}/naccs-credentials", {}, admin, "user_id"),
        ("POST", "/api/v1/clients", {"json": {"name": "x", "scopes": ["root"]}}, admin, "scopes.0"),
        (
            "POST",
            "/api/v1/clients",
            {"json": {"name": "", "scopes": ["forms:read"]}},
            admin,
            "name",
        ),
        ("GET", f"/api/v1/clients?org_id={BAD_ID}", {}, admin, "org_id"),
        ("GET", f"/api/v1/clients/{BAD_ID}", {}, admin, "client_id"),
        ("POST", f"/api/v1/clients/{BAD_ID}/secret", {}, admin, "client_id"),
        ("DELETE", f"/api/v1/clients/{BAD_ID}", {}, admin, "client_id"),
        ("GET", f"/api/v1/internal/naccs-credentials/{BAD_ID}", {}, service, "user_id"),
    ]
    failures = []
    for method, path, kwargs, headers, field in cases:
        response = await driver.client.request(method, path, headers=headers, **kwargs)
        body = response.json()
        fields = [e.get("field", "") for e in body.get("errors", [])]
        ok = (
            response.status_code in (400, 422)
            and response.headers["content-type"] == "application/problem+json"
            # Query and path parameters are reported as "query.<name>" / "path.<name>".
            and any(
                f.removeprefix("query.").removeprefix("path.") == field or f.startswith(field + ".")
                for f in fields
            )
        )
        if not ok:
            failures.append((method, path, field, response.status_code, fields, body.get("detail")))
    assert failures == [], "\n".join(map(str, failures))


async def test_unknown_ids_are_404_problems(driver: IdentityDriver, make_org: Any) -> None:
    org: Org = await make_org(require_totp=False)
    missing = uuid.uuid4()
    for path in (
        f"/api/v1/users/{missing}",
        f"/api/v1/clients/{missing}",
        f"/api/v1/orgs/{missing}",
    ):
        response = await driver.client.get(path, headers=org.admin.headers)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
