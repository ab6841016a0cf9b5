"""Partner and service clients (OAuth2 client credentials), their scopes, and NACCS credentials that
only the NACCS bridge's service token can read back."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.domain.clients import provision_service_clients
from shared.auth import PrincipalKind, principal_from_claims

from .conftest import IdentityDriver, Org, identity_env, invite

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def client_token(
    client: httpx.AsyncClient, client_id: str, secret: str, scope: str | None = None
) -> httpx.Response:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    if scope:
        form["scope"] = scope
    return await client.post("/api/v1/auth/token", data=form)


class TestPartnerClients:
    async def test_client_credentials_flow_and_scopes(
        self, driver: IdentityDriver, make_org: Any, app: FastAPI
    ) -> None:
        org: Org = await make_org(require_totp=False)
        c = driver.client
        created = await c.post(
            "/api/v1/clients",
            json={"name": "TradeWaltz bridge", "scopes": ["si:push", "forms:read"]},
            headers=org.admin.headers,
        )
        assert created.status_code == 201, created.text
        assert created.headers["cache-control"] == "no-store"
        body = created.json()
        secret = body["client_secret"]
        assert body["org_id"] == org.id
        # Shown once: never again.
        fetched = await c.get(f"/api/v1/clients/{body['id']}", headers=org.admin.headers)
        assert "client_secret" not in fetched.json()
        assert secret not in (await c.get("/api/v1/clients", headers=org.admin.headers)).text

        token = await client_token(c, body["client_id"], secret)
        assert token.status_code == 200, token.text
        assert token.json()["scope"] == "forms:read si:push"
        principal = principal_from_claims(
            await app.state.token_verifier.verify(token.json()["access_token"])
        )
        assert principal.kind is PrincipalKind.CLIENT
        assert principal.org_id == org.id
        assert principal.scopes == {"si:push", "forms:read"}

        # A subset may be asked for; more than granted may not.
        narrow = await client_token(c, body["client_id"], secret, "forms:read")
        assert narrow.json()["scope"] == "forms:read"
        wide = await client_token(c, body["client_id"], secret, "forms:read webhooks:manage")
        assert wide.status_code == 400
        assert wide.json()["error"] == "invalid_scope"

        # HTTP Basic works too; a wrong secret does not.
        basic = base64.b64encode(f"{body['client_id']}:{secret}".encode()).decode()
        via_basic = await c.post(
            "/api/v1/auth/token",
            content="grant_type=client_credentials",
            headers={**FORM, "Authorization": f"Basic {basic}"},
        )
        assert via_basic.status_code == 200
        wrong = await client_token(c, body["client_id"], secret + "x")
        assert wrong.status_code == 401
        assert wrong.json()["error"] == "invalid_client"
        unknown = await client_token(c, "mc_nope", secret)
        assert unknown.json() == {**wrong.json(), "request_id": unknown.json()["request_id"]}

        # A partner token is no user: it cannot manage identity.
        partner = {"Authorization": f"Bearer {token.json()['access_token']}"}
        assert (await c.get("/api/v1/users/me", headers=partner)).status_code == 403

        # Rotation: the old secret stops working. Deactivation: no more tokens.
        rotated = await c.post(f"/api/v1/clients/{body['id']}/secret", headers=org.admin.headers)
        new_secret = rotated.json()["client_secret"]
        assert (await client_token(c, body["client_id"], secret)).status_code == 401
        assert (await client_token(c, body["client_id"], new_secret)).status_code == 200
        assert (
            await c.delete(f"/api/v1/clients/{body['id']}", headers=org.admin.headers)
        ).status_code == 204
        assert (await client_token(c, body["client_id"], new_secret)).status_code == 401

    async def test_partner_clients_cannot_hold_internal_scopes(
        self, driver: IdentityDriver, make_org: Any
    ) -> None:
        org: Org = await make_org(require_totp=False)
        refused = await driver.client.post(
            "/api/v1/clients",
            json={"name": "sneaky", "scopes": ["forms:read", "naccs:credentials"]},
            headers=org.admin.headers,
        )
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == "scopes.1"
        service = await driver.client.post(
            "/api/v1/clients",
            json={"name": "sneaky", "scopes": ["forms:read"], "kind": "service"},
            headers=org.admin.headers,
        )
        assert service.status_code == 403


NACCS_PASSWORD = "Nc-P8831"


class TestNaccsCredentials:
    async def test_never_returned_only_to_the_bridge(
        self,
        driver: IdentityDriver,
        make_org: Any,
        operator: Any,
        app: FastAPI,
        db_session: AsyncSession,
    ) -> None:
        org: Org = await make_org(require_totp=False)
        user_id, email = await invite(driver, org.admin)
        user = await driver.onboard(email)
        c = driver.client
        seen: list[str] = []

        async def call(method: str, path: str, **kwargs: Any) -> httpx.Response:
            response = await c.request(method, path, **kwargs)
            seen.append(response.text + json.dumps(dict(response.headers)))
            return response

        linked = await call(
            "PUT",
            f"/api/v1/users/{user_id}/naccs-credentials",
            json={"user_code": "KX7Q2", "identifier": "901", "password": NACCS_PASSWORD},
            headers=user.headers,
        )
        assert linked.status_code == 200
        assert linked.json()["linked"] is True
        await call("GET", f"/api/v1/users/{user_id}/naccs-credentials", headers=org.admin.headers)
        await call("GET", f"/api/v1/users/{user_id}", headers=org.admin.headers)
        await call("GET", "/api/v1/users", headers=org.admin.headers)
        await call("GET", "/api/v1/users/me", headers=user.headers)
        await call("GET", f"/api/v1/orgs/{org.id}/audit-events", headers=org.admin.headers)
        await call("GET", "/openapi.json")
        # The user and the admin cannot use the internal endpoint, whatever they hold.
        for headers in (user.headers, org.admin.headers, operator.headers):
            denied = await call(
                "GET", f"/api/v1/internal/naccs-credentials/{user_id}", headers=headers
            )
            assert denied.status_code == 403
        for text_ in seen:
            assert NACCS_PASSWORD not in text_
            assert "KX7Q2" not in text_
        # At rest: sealed, not readable in the database.
        raw = (
            (await db_session.execute(text("SELECT sealed FROM naccs_credential"))).scalars().all()
        )
        assert raw
        assert all(NACCS_PASSWORD.encode() not in bytes(r) for r in raw)

        # A partner client with every partner scope still cannot read them.
        partner = await c.post(
            "/api/v1/clients",
            json={"name": "p", "scopes": ["forms:read"]},
            headers=org.admin.headers,
        )
        partner_token = await client_token(
            c, partner.json()["client_id"], partner.json()["client_secret"]
        )
        denied = await c.get(
            f"/api/v1/internal/naccs-credentials/{user_id}",
            headers={"Authorization": f"Bearer {partner_token.json()['access_token']}"},
        )
        assert denied.status_code == 403

        # The NACCS bridge's provisioned service client can.
        await provision_service_clients(
            identity_env(app, db_session), {"naccs_bridge": "bridge-secret-" + "x" * 20}
        )
        bridge = await client_token(c, "svc-naccs_bridge", "bridge-secret-" + "x" * 20)
        assert bridge.status_code == 200, bridge.text
        assert "naccs:credentials" in bridge.json()["scope"].split()
        revealed = await c.get(
            f"/api/v1/internal/naccs-credentials/{user_id}",
            headers={"Authorization": f"Bearer {bridge.json()['access_token']}"},
        )
        assert revealed.status_code == 200
        assert revealed.json()["naccs_user_id"] == "KX7Q2901"
        assert revealed.json()["password"] == NACCS_PASSWORD
        audit = await c.get(
            f"/api/v1/orgs/{org.id}/audit-events",
            params={"event": "naccs_credentials_read"},
            headers=org.admin.headers,
        )
        assert audit.json()["items"][0]["actor_id"] == "svc-naccs_bridge"

        # The operator can create a service client; other service clients lack the scope.
        trades = await c.post(
            "/api/v1/clients",
            json={"name": "trades", "scopes": ["internal:call"], "kind": "service"},
            headers=operator.headers,
        )
        assert trades.status_code == 201
        trades_token = await client_token(
            c, trades.json()["client_id"], trades.json()["client_secret"]
        )
        denied = await c.get(
            f"/api/v1/internal/naccs-credentials/{user_id}",
            headers={"Authorization": f"Bearer {trades_token.json()['access_token']}"},
        )
        assert denied.status_code == 403


class TestAdminContacts:
    """The notifications service mails an org's administrators what they must not miss."""

    async def test_only_the_notifications_service_reads_active_admins(
        self,
        driver: IdentityDriver,
        make_org: Any,
        app: FastAPI,
        db_session: AsyncSession,
    ) -> None:
        org: Org = await make_org(require_totp=False)
        c = driver.client
        second_admin_id, second_admin_email = await invite(
            driver, org.admin, "admin2", roles=["org_admin"], locale="en"
        )
        await driver.onboard(second_admin_email)
        _, member_email = await invite(driver, org.admin)
        await driver.onboard(member_email)
        path = f"/api/v1/internal/orgs/{org.id}/admin-contacts"

        # Users, admins included, cannot list them through the internal endpoint.
        assert (await c.get(path, headers=org.admin.headers)).status_code == 403

        await provision_service_clients(
            identity_env(app, db_session),
            {"notifications": "notif-secret-" + "x" * 20, "trades": "trades-secret-" + "x" * 20},
        )
        other = await client_token(c, "svc-trades", "trades-secret-" + "x" * 20)
        denied = await c.get(
            path, headers={"Authorization": f"Bearer {other.json()['access_token']}"}
        )
        assert denied.status_code == 403

        token = await client_token(c, "svc-notifications", "notif-secret-" + "x" * 20)
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        listed = await c.get(path, headers=headers)
        assert listed.status_code == 200, listed.text
        assert listed.headers["cache-control"] == "no-store"
        by_email = {a["email"]: a for a in listed.json()["admins"]}
        assert set(by_email) == {org.admin.email, second_admin_email}
        assert by_email[second_admin_email]["locale"] == "en"
        assert by_email[second_admin_email]["user_id"] == second_admin_id

        # A deactivated admin is no longer told anything.
        off = await c.post(f"/api/v1/users/{second_admin_id}/deactivate", headers=org.admin.headers)
        assert off.status_code == 200, off.text
        listed = await c.get(path, headers=headers)
        assert [a["email"] for a in listed.json()["admins"]] == [org.admin.email]

        unknown = await c.get(
            "/api/v1/internal/orgs/00000000-0000-4000-8000-000000000000/admin-contacts",
            headers=headers,
        )
        assert unknown.status_code == 404
        assert unknown.headers["content-type"].startswith("application/problem+json")
