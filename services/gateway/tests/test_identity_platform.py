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
from gateway.domain.clients import provision_service_clients
from gateway.keys import KeyRing, generate_key, load_keys
from shared.service_auth import ServiceAuth, ServiceTokenProvider

from .conftest import PASSWORD, IdentityDriver, MailSink, identity_env, settings_for, unique_email


class TestKeyRotation:
    def test_new_key_signs_old_key_stays_published_until_its_tokens_expired(
        self, tmp_path: Path
    ) -> None:
        old = generate_key(tmp_path)
        day = 24 * 3600
        os.utime(tmp_path / f"{old.kid}.pem", (time.time() - 3 * day, time.time() - 3 * day))
        ring = KeyRing.from_dir(
            tmp_path, generate_if_missing=False, rotate_after_s=day, retain_s=day
        )
        assert len(ring.keys) == 2
        assert ring.current.kid != old.kid  # rotated at start: the old key was older than a day
        assert {k["kid"] for k in ring.jwks()["keys"]} == {old.kid, ring.current.kid}
        token = ring.sign({"sub": "x"})
        assert jwt.get_unverified_header(token) == {
            "alg": "RS256",
            "kid": ring.current.kid,
            "typ": "at+jwt",
        }
        # A day after the rotation the old key drops out of the JWKS.
        newest = load_keys(tmp_path)[-1]
        os.utime(tmp_path / f"{newest.kid}.pem", (time.time() - 2 * day, time.time() - 2 * day))
        later = KeyRing.from_dir(tmp_path, generate_if_missing=False, retain_s=day)
        assert [k["kid"] for k in later.jwks()["keys"]] == [newest.kid]

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
