"""Object-level access: one organisation's admin neither sees nor manages another's users, clients,
organisation or audit log (404, never 403, and nothing changes)."""

from __future__ import annotations

from typing import Any

from .conftest import IdentityDriver, Org, invite, unique_email


async def test_org_a_admin_cannot_reach_org_b(driver: IdentityDriver, make_org: Any) -> None:
    org_a: Org = await make_org(require_totp=False)
    org_b: Org = await make_org(require_totp=False)
    b_user, _ = await invite(driver, org_b.admin)
    b_client = await driver.client.post(
        "/api/v1/clients",
        json={"name": "B's TMS", "scopes": ["forms:read"]},
        headers=org_b.admin.headers,
    )
    assert b_client.status_code == 201
    b_client_id = b_client.json()["id"]
    a = org_a.admin.headers
    c = driver.client
    attempts = [
        ("GET", f"/api/v1/orgs/{org_b.id}", None),
        ("PATCH", f"/api/v1/orgs/{org_b.id}", {"name_en": "Taken over"}),
        ("GET", f"/api/v1/orgs/{org_b.id}/audit-events", None),
        ("GET", f"/api/v1/users?org_id={org_b.id}", None),
        ("GET", f"/api/v1/users/{b_user}", None),
        ("PATCH", f"/api/v1/users/{b_user}", {"roles": ["org_admin"]}),
        ("POST", f"/api/v1/users/{b_user}/deactivate", None),
        ("POST", f"/api/v1/users/{b_user}/reactivate", None),
        ("POST", f"/api/v1/users/{b_user}/invitation", None),
        ("POST", f"/api/v1/users/{b_user}/totp/reset", None),
        ("GET", f"/api/v1/users/{b_user}/form-permissions", None),
        (
            "PATCH",
            f"/api/v1/users/{b_user}/form-permissions",
            {"permissions": {"UL040": "readwrite"}},
        ),
        ("GET", f"/api/v1/users/{b_user}/naccs-credentials", None),
        (
            "PUT",
            f"/api/v1/users/{b_user}/naccs-credentials",
            {"user_code": "ABCDE", "identifier": "001", "password": "p"},
        ),
        ("DELETE", f"/api/v1/users/{b_user}/naccs-credentials", None),
        ("GET", f"/api/v1/clients/{b_client_id}", None),
        ("POST", f"/api/v1/clients/{b_client_id}/secret", None),
        ("DELETE", f"/api/v1/clients/{b_client_id}", None),
        ("GET", f"/api/v1/clients?org_id={org_b.id}", None),
        (
            "POST",
            "/api/v1/users",
            {"email": unique_email("x"), "display_name": "x", "org_id": org_b.id},
        ),
        ("POST", "/api/v1/clients", {"name": "x", "scopes": ["forms:read"], "org_id": org_b.id}),
    ]
    for method, path, body in attempts:
        response = await c.request(method, path, json=body, headers=a)
        assert response.status_code == 404, (method, path, response.status_code, response.text)
        assert response.json()["code"] == "not_found"

    # Nothing changed on B's side, and A's lists hold only A's objects.
    b_view = await c.get(f"/api/v1/users/{b_user}", headers=org_b.admin.headers)
    assert b_view.json()["status"] == "invited"
    assert b_view.json()["roles"] == ["member"]
    client_view = await c.get(f"/api/v1/clients/{b_client_id}", headers=org_b.admin.headers)
    assert client_view.json()["active"] is True
    assert (await c.get(f"/api/v1/orgs/{org_b.id}", headers=org_b.admin.headers)).json()[
        "name_en"
    ] != "Taken over"
    a_users = (await c.get("/api/v1/users", headers=a)).json()["items"]
    assert {u["org_id"] for u in a_users} == {org_a.id}
    assert (await c.get("/api/v1/clients", headers=a)).json()["items"] == []
    assert [o["id"] for o in (await c.get("/api/v1/orgs", headers=a)).json()["items"]] == [org_a.id]


async def test_operator_sees_every_org_but_admins_cannot_create_orgs(
    driver: IdentityDriver, make_org: Any, operator: Any
) -> None:
    org: Org = await make_org(require_totp=False)
    listing = await driver.client.get("/api/v1/orgs", headers=operator.headers)
    assert org.id in {o["id"] for o in listing.json()["items"]}
    users = await driver.client.get(f"/api/v1/users?org_id={org.id}", headers=operator.headers)
    assert [u["id"] for u in users.json()["items"]] == [org.admin.id]
    refused = await driver.client.post(
        "/api/v1/orgs",
        json={
            "name_ja": "x",
            "name_en": "x",
            "corporate_number": "2021001052596",
            "business_types": ["shipper"],
            "address": {"line_ja": "x"},
        },
        headers=org.admin.headers,
    )
    assert refused.status_code == 403
