"""Key rotation with overlap, the operator CLI, service tokens for our own services, and the
identity routes' documentation."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI

from gateway.admin import create_operator_command
from gateway.app import create_app, reload_keys
from gateway.config import Settings
from gateway.domain.clients import provision_service_clients
from gateway.keys import KeyRing, generate_key, load_keys
from shared.service_auth import ServiceAuth, ServiceTokenProvider

from .conftest import PASSWORD, IdentityDriver, MailSink, identity_env, settings_for, unique_email


def age(keys_dir: Path, kid: str, seconds: float) -> None:
    moment = time.time() - seconds
    os.utime(keys_dir / f"{kid}.pem", (moment, moment))


class TestKeyRotation:
    def test_rotation_at_start_publishes_first_and_signs_later(self, tmp_path: Path) -> None:
        day = 24 * 3600
        old = generate_key(tmp_path)
        age(tmp_path, old.kid, 3 * day)
        ring = KeyRing.from_dir(
            tmp_path,
            generate_if_missing=False,
            rotate_after_s=day,
            retain_s=day,
            publish_ahead_s=120,
        )
        new_kid = load_keys(tmp_path)[-1].kid
        assert new_kid != old.kid
        # Published at once, so every replica and service can verify it ...
        assert {k["kid"] for k in ring.jwks()["keys"]} == {old.kid, new_kid}
        # ... but the old key keeps signing until the new one has been published long enough.
        assert ring.current.kid == old.kid
        age(tmp_path, new_kid, 121)
        ring = KeyRing.from_dir(
            tmp_path, generate_if_missing=False, retain_s=day, publish_ahead_s=120
        )
        assert ring.current.kid == new_kid
        token = ring.sign({"sub": "x"})
        assert jwt.get_unverified_header(token) == {"alg": "RS256", "kid": new_kid, "typ": "at+jwt"}
        assert {k["kid"] for k in ring.jwks()["keys"]} == {old.kid, new_kid}
        # Once every token of the old key has expired, it leaves the JWKS.
        age(tmp_path, new_kid, day + 121)
        later = KeyRing.from_dir(
            tmp_path, generate_if_missing=False, retain_s=day, publish_ahead_s=120
        )
        assert [k["kid"] for k in later.jwks()["keys"]] == [new_kid]

    def test_a_fresh_system_signs_with_its_only_key(self, tmp_path: Path) -> None:
        ring = KeyRing.from_dir(tmp_path, generate_if_missing=True, publish_ahead_s=120)
        assert ring.current.kid == ring.keys[0].kid

    async def test_running_gateway_picks_up_a_rotated_key_without_restart(
        self, database_url: str, smtp_sink: MailSink, tmp_path: Path
    ) -> None:
        app = create_app(
            settings_for(database_url, tmp_path / "keys", smtp_sink, key_publish_ahead_s=60)
        )
        first = app.state.keyring.current.kid
        assert reload_keys(app) is False
        rotated = KeyRing.rotate(tmp_path / "keys")
        assert reload_keys(app) is True
        assert {k["kid"] for k in app.state.keyring.jwks()["keys"]} == {first, rotated.kid}
        assert app.state.keyring.current.kid == first  # not signing yet
        age(tmp_path / "keys", rotated.kid, 61)
        assert reload_keys(app) is True
        assert app.state.keyring.current.kid == rotated.kid
        token = app.state.identity.access_tokens.sign(subject="u", kind="user", jti="j")
        # The swapped verifier (used by the proxy and the routes) accepts the new key's tokens.
        assert (await app.state.token_verifier.verify(token))["sub"] == "u"

    def test_manual_rotation_adds_a_key(self, tmp_path: Path) -> None:
        first = generate_key(tmp_path)
        second = KeyRing.rotate(tmp_path)
        ring = KeyRing.from_dir(tmp_path, generate_if_missing=False)
        assert [k.kid for k in ring.keys] == [first.kid, second.kid]
        assert ring.current.kid == second.kid


async def test_cli_creates_an_invited_operator_who_can_sign_in(
    database_url: str, keys_dir: Path, smtp_sink: MailSink, driver: IdentityDriver
) -> None:
    # The CLI commits to the real database (outside the test transaction), as it would in use.
    email = unique_email("cli-operator")
    settings = settings_for(database_url, keys_dir, smtp_sink)
    _user_id, token = await create_operator_command(settings, email, "運営 太郎", "ja")
    mail = smtp_sink.last(email, "招待")
    assert token in mail["body"]
    assert mail["body"].index("様") < mail["body"].index("Dear")  # Japanese first
    accepted = await driver.client.post(
        "/api/v1/auth/invitations/accept", json={"token": token, "password": PASSWORD}
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "totp_enrolment_required"  # operators need TOTP
    with pytest.raises(Exception, match="already has an account"):
        await create_operator_command(settings, email, "x", "ja")


class TestServiceTokens:
    async def test_provider_fetches_caches_and_renews(
        self, app: FastAPI, db_session: Any, client: httpx.AsyncClient
    ) -> None:
        await provision_service_clients(identity_env(app, db_session), {"trades": "t" * 40})
        now = [1000.0]
        provider = ServiceTokenProvider(
            token_url="http://test/api/v1/auth/token",
            client_id="svc-trades",
            client_secret="t" * 40,
            http_client=client,
            clock=lambda: now[0],
        )
        first = await provider.token()
        assert await provider.token() == first
        assert provider.fetches == 1
        claims = await app.state.token_verifier.verify(first)
        assert claims["kind"] == "service"
        assert claims["sub"] == "svc-trades"
        assert "forms:write" in claims["scope"].split()
        now[0] += 3600 - 59  # within a minute of expiry (test TTL 3600 s): fetch a new one
        await provider.token()
        assert provider.fetches == 2

        # As httpx auth: the service's token reaches the gateway's own routes.
        seen: list[str] = []

        async def record(request: httpx.Request) -> httpx.Response:
            seen.append(request.headers["authorization"])
            return httpx.Response(401 if len(seen) == 1 else 200)

        async with httpx.AsyncClient(
            transport=httpx.MockTransport(record), auth=ServiceAuth(provider)
        ) as caller:
            response = await caller.get("http://svc/x")
        assert response.status_code == 200
        assert len(seen) == 2  # a 401 made it fetch a fresh token and retry once
        assert provider.fetches == 3

    async def test_a_service_may_name_itself_without_the_prefix(
        self, app: FastAPI, db_session: Any, client: httpx.AsyncClient
    ) -> None:
        await provision_service_clients(identity_env(app, db_session), {"svc-forms": "f" * 40})
        for client_id in ("svc-forms", "forms"):
            response = await client.post(
                "/api/v1/auth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": client_id,
                    "client_secret": "f" * 40,
                },
            )
            assert response.status_code == 200, response.text
            claims = await app.state.token_verifier.verify(response.json()["access_token"])
            assert claims["sub"] == "svc-forms"
            assert claims["kind"] == "service"

    async def test_from_env_and_refusal(self, client: httpx.AsyncClient) -> None:
        environ = {
            "X_TOKEN_URL": "http://test/api/v1/auth/token",
            "X_SERVICE_CLIENT_ID": "svc-nope",
            "X_SERVICE_CLIENT_SECRET": "wrong",
        }
        assert ServiceTokenProvider.from_env("Y_", environ) is None
        provider = ServiceTokenProvider.from_env("X_", environ, http_client=client)
        assert provider is not None
        with pytest.raises(Exception, match="refused"):
            await provider.token()


async def test_identity_routes_are_documented(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    ours = {
        (path, method): op
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if path.startswith(("/api/v1/auth", "/api/v1/orgs", "/api/v1/users", "/api/v1/clients"))
    }
    assert len(ours) >= 30
    for (path, method), op in ours.items():
        assert op.get("summary"), (path, method)
        assert op.get("description"), (path, method)
        statuses = set(op["responses"])
        assert statuses & {"200", "201", "202", "204"}, (path, method)
        problems = [s for s in statuses if s.startswith(("4", "5"))]
        assert problems, (path, method)
        for status in problems:
            assert "application/problem+json" in op["responses"][status]["content"], (path, method)


def test_prod_refuses_the_development_secrets_key(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="secrets_key"):
        Settings(environment="prod", keys_dir=tmp_path)
    assert Settings(environment="prod", keys_dir=tmp_path, secrets_key="k" * 40).secrets_key


def test_prod_refuses_dev_service_secrets_and_the_demo_operator(tmp_path: Path) -> None:
    prod = {"environment": "prod", "keys_dir": tmp_path, "secrets_key": "k" * 40}
    with pytest.raises(ValueError, match="service_clients"):
        Settings(**prod, service_clients={"forms": "dev-only-forms-client-secret"})
    with pytest.raises(ValueError, match="demo_operator"):
        Settings(**prod, demo_operator_password="x")
    assert Settings(**prod, service_clients={"forms": "s" * 40}).service_clients
