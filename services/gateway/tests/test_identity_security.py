"""Abuse resistance on a real database: TOTP replay, throttling and lockout, no user enumeration,
deactivation, permission changes reaching the token."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pyotp
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.app import create_app
from gateway.domain.clock import FrozenClock
from shared.testing.plugin import asgi_client, use_test_session

from .conftest import (
    PASSWORD,
    IdentityDriver,
    MailSink,
    Org,
    invite,
    settings_for,
    unique_email,
)


async def member_with_totp(driver: IdentityDriver, org: Org) -> tuple[str, str]:
    _, email = await invite(driver, org.admin)
    onboarded = await driver.onboard(email)
    assert onboarded.totp_secret
    return email, onboarded.totp_secret


class TestTotp:
    async def test_a_code_is_never_accepted_twice(
        self, driver: IdentityDriver, make_org: Any
    ) -> None:
        email, secret = await member_with_totp(driver, await make_org())
        driver.clock.advance(30)
        code = driver.totp(secret)
        body = {"email": email, "password": PASSWORD, "totp_code": code}
        first = await driver.client.post("/api/v1/auth/login", json=body)
        assert first.status_code == 200, first.text
        replay = await driver.client.post("/api/v1/auth/login", json=body)
        assert replay.status_code == 401
        assert replay.json()["code"] == "invalid_credentials"
        # Still refused in the next step, where the code is within the drift window.
        driver.clock.advance(30)
        assert (await driver.client.post("/api/v1/auth/login", json=body)).status_code == 401

    async def test_one_step_of_drift_is_accepted_two_are_not(
        self, driver: IdentityDriver, make_org: Any
    ) -> None:
        email, secret = await member_with_totp(driver, await make_org())
        totp = pyotp.TOTP(secret)
        driver.clock.advance(120)
        now = driver.clock.now().timestamp()
        two_ahead = totp.at(now + 60)
        refused = await driver.client.post(
            "/api/v1/auth/login",
            json={"email": email, "password": PASSWORD, "totp_code": two_ahead},
        )
        assert refused.status_code == 401
        one_behind = totp.at(now - 30)
        accepted = await driver.client.post(
            "/api/v1/auth/login",
            json={"email": email, "password": PASSWORD, "totp_code": one_behind},
        )
        assert accepted.status_code == 200, accepted.text

    async def test_recovery_code_works_once(self, driver: IdentityDriver, make_org: Any) -> None:
        org = await make_org()
        _, email = await invite(driver, org.admin)
        onboarded = await driver.onboard(email)
        code = onboarded.recovery_codes[0]
        body = {"email": email, "password": PASSWORD, "recovery_code": code}
        assert (await driver.client.post("/api/v1/auth/login", json=body)).status_code == 200
        assert (await driver.client.post("/api/v1/auth/login", json=body)).status_code == 401

    async def test_recovery_codes_can_be_replaced_with_a_fresh_code(
        self, driver: IdentityDriver, make_org: Any
    ) -> None:
        org = await make_org()
        _, email = await invite(driver, org.admin)
        onboarded = await driver.onboard(email)
        assert onboarded.totp_secret
        c = driver.client
        wrong = await c.post(
            "/api/v1/auth/recovery-codes", json={"totp_code": "000000"}, headers=onboarded.headers
        )
        assert wrong.status_code == 401
        fresh = await c.post(
            "/api/v1/auth/recovery-codes",
            json={"totp_code": await driver.next_totp(onboarded.totp_secret)},
            headers=onboarded.headers,
        )
        assert fresh.status_code == 200, fresh.text
        new_codes = fresh.json()["recovery_codes"]
        assert len(set(new_codes)) == 10
        old = {"email": email, "password": PASSWORD, "recovery_code": onboarded.recovery_codes[1]}
        assert (await c.post("/api/v1/auth/login", json=old)).status_code == 401
        new = {**old, "recovery_code": new_codes[0]}
        assert (await c.post("/api/v1/auth/login", json=new)).status_code == 200

    async def test_admin_reset_makes_the_user_enrol_again(
        self, driver: IdentityDriver, make_org: Any
    ) -> None:
        org = await make_org()
        user_id, email = await invite(driver, org.admin)
        onboarded = await driver.onboard(email)
        reset = await driver.client.post(
            f"/api/v1/users/{user_id}/totp/reset", headers=org.admin.headers
        )
        assert reset.status_code == 200
        assert reset.json()["totp_enabled"] is False
        refreshed = await driver.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": onboarded.tokens["refresh_token"]}
        )
        assert refreshed.status_code == 401
        login = await driver.login(email)
        assert login.json()["status"] == "totp_enrolment_required"

    async def test_org_without_totp_requirement_signs_in_with_password(
        self, driver: IdentityDriver, make_org: Any
    ) -> None:
        org = await make_org(require_totp=False)
        _, email = await invite(driver, org.admin)
        onboarded = await driver.onboard(email)
        assert onboarded.totp_secret is None
        response = await driver.login(email)
        assert response.status_code == 200
        assert response.json()["status"] == "authenticated"


class TestThrottling:
    async def test_account_backs_off_then_locks_even_for_the_right_password(
        self, driver: IdentityDriver, make_org: Any, app: FastAPI, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        org = await make_org(require_totp=False)
        _, email = await invite(driver, org.admin)
        await driver.onboard(email)
        wrong = {"email": email, "password": "wrong password here"}
        for _ in range(5):
            assert (await driver.client.post("/api/v1/auth/login", json=wrong)).status_code == 401
        # The fifth failure locked the account for 30 s: refused before any hashing.
        hashed: list[str] = []
        original = app.state.identity.hashing.verify

        async def counting_verify(stored: str | None, password: str) -> bool:
            hashed.append(password)
            return bool(await original(stored, password))

        monkeypatch.setattr(app.state.identity.hashing, "verify", counting_verify)
        locked = await driver.login(email)
        assert locked.status_code == 429
        assert locked.json()["code"] == "too_many_attempts"
        assert int(locked.headers["retry-after"]) == 30
        assert hashed == []
        # After the delay one more failure doubles it; the delays grow up to the 30-minute lock.
        driver.clock.advance(31)
        assert (await driver.client.post("/api/v1/auth/login", json=wrong)).status_code == 401
        assert (await driver.login(email)).headers["retry-after"] == "60"
        for expected in (120, 240, 480, 960, 1800, 1800):
            driver.clock.advance(10_000)
            await driver.client.post("/api/v1/auth/login", json=wrong)
            assert (await driver.login(email)).headers["retry-after"] == str(expected)
        driver.clock.advance(1801)
        ok = await driver.login(email)
        assert ok.status_code == 200
        # Success resets the counter: four fresh failures do not lock.
        for _ in range(4):
            await driver.client.post("/api/v1/auth/login", json=wrong)
        assert (await driver.login(email)).status_code == 200

    async def test_failures_are_forgotten_after_a_quiet_day_and_idle_rows_pruned(
        self, driver: IdentityDriver, db_session: AsyncSession
    ) -> None:
        ghost = unique_email("forgetful")
        wrong = {"email": ghost, "password": "x" * 12}
        for _ in range(4):
            await driver.client.post("/api/v1/auth/login", json=wrong)
        driver.clock.advance(24 * 3600 + 1)
        # Four old failures plus one new one do not lock: the count started again.
        assert (await driver.client.post("/api/v1/auth/login", json=wrong)).status_code == 401
        assert (await driver.client.post("/api/v1/auth/login", json=wrong)).status_code == 401
        driver.clock.advance(24 * 3600 + 1)
        await driver.client.post(
            "/api/v1/auth/login", json={"email": unique_email("n"), "password": "x" * 12}
        )
        last_failures = (
            (await db_session.execute(text("SELECT last_failure_at FROM auth_throttle")))
            .scalars()
            .all()
        )
        # The idle rows went; only the new failure's account and IP rows remain.
        assert last_failures == [driver.clock.now()] * 2

    async def test_wrong_totp_codes_count_too(self, driver: IdentityDriver, make_org: Any) -> None:
        email, _secret = await member_with_totp(driver, await make_org())
        for _ in range(5):
            response = await driver.client.post(
                "/api/v1/auth/login",
                json={"email": email, "password": PASSWORD, "totp_code": "000000"},
            )
            assert response.status_code in (401, 429)
        assert (await driver.login(email)).status_code == 429

    async def test_one_ip_spraying_many_accounts_is_stopped(
        self,
        database_url: str,
        keys_dir: Any,
        smtp_sink: MailSink,
        clock: FrozenClock,
        db_session: AsyncSession,
    ) -> None:
        application = create_app(
            settings_for(database_url, keys_dir, smtp_sink, ip_max_failures=8), clock=clock
        )
        use_test_session(application, db_session)
        async for client in asgi_client(application):
            for i in range(8):
                response = await client.post(
                    "/api/v1/auth/login",
                    json={"email": unique_email(f"spray{i}"), "password": "Summer2026!!"},
                )
                assert response.status_code == 401
            blocked = await client.post(
                "/api/v1/auth/login", json={"email": unique_email("next"), "password": "x" * 12}
            )
            assert blocked.status_code == 429
            clock.advance(15 * 60 + 1)  # the window ends
            again = await client.post(
                "/api/v1/auth/login", json={"email": unique_email("later"), "password": "x" * 12}
            )
            assert again.status_code == 401

    async def test_replicas_share_the_counters(
        self,
        settings: Any,
        clock: FrozenClock,
        db_session: AsyncSession,
        driver: IdentityDriver,
    ) -> None:
        """Two gateway processes' worth of apps on one database: failures at one lock the other."""
        replica_a, replica_b = create_app(settings, clock=clock), create_app(settings, clock=clock)
        for replica in (replica_a, replica_b):
            use_test_session(replica, db_session)
        email = unique_email("shared")
        wrong = {"email": email, "password": "wrong password here"}
        async for a in asgi_client(replica_a):
            for _ in range(5):
                assert (await a.post("/api/v1/auth/login", json=wrong)).status_code == 401
        async for b in asgi_client(replica_b):
            assert (await b.post("/api/v1/auth/login", json=wrong)).status_code == 429


class TestNoEnumeration:
    async def test_unknown_email_and_wrong_password_look_the_same(
        self, driver: IdentityDriver, make_org: Any
    ) -> None:
        org = await make_org(require_totp=False)
        _, email = await invite(driver, org.admin)
        await driver.onboard(email)

        async def attempt(address: str) -> tuple[httpx.Response, float]:
            started = time.perf_counter()
            response = await driver.client.post(
                "/api/v1/auth/login", json={"email": address, "password": "not the password!"}
            )
            return response, time.perf_counter() - started

        known, unknown = [], []
        for _ in range(4):  # interleaved, so warm-up and noise hit both alike
            known.append(await attempt(email))
            unknown.append(await attempt(unique_email("nobody")))
        strip = {"request_id", "instance"}
        bodies = {
            str(sorted((k, v) for k, v in r.json().items() if k not in strip))
            for r, _ in known + unknown
        }
        assert len(bodies) == 1
        assert {r.status_code for r, _ in known + unknown} == {401}
        # Both paths run one argon2id verification, so neither is markedly faster.
        known_time = sorted(t for _, t in known)[1]
        unknown_time = sorted(t for _, t in unknown)[1]
        assert unknown_time > known_time * 0.5
        assert known_time > unknown_time * 0.5

    async def test_invited_and_deactivated_accounts_answer_like_unknown(
        self, driver: IdentityDriver, make_org: Any
    ) -> None:
        org = await make_org(require_totp=False)
        _, invited_email = await invite(driver, org.admin)
        user_id, email = await invite(driver, org.admin)
        await driver.onboard(email)
        deactivate = await driver.client.post(
            f"/api/v1/users/{user_id}/deactivate", headers=org.admin.headers
        )
        assert deactivate.status_code == 200
        for address in (invited_email, email, unique_email("ghost")):
            response = await driver.login(address)
            assert response.status_code == 401
            assert response.json()["code"] == "invalid_credentials"

    async def test_unknown_emails_lock_exactly_like_known_ones(
        self, driver: IdentityDriver
    ) -> None:
        ghost = unique_email("ghost")
        for _ in range(5):
            await driver.client.post(
                "/api/v1/auth/login", json={"email": ghost, "password": "x" * 12}
            )
        assert (await driver.login(ghost)).status_code == 429

    async def test_password_reset_answers_the_same_and_mails_only_real_accounts(
        self, driver: IdentityDriver, make_org: Any
    ) -> None:
        org = await make_org(require_totp=False)
        _, email = await invite(driver, org.admin)
        await driver.onboard(email)
        ghost = unique_email("ghost")
        real = await driver.client.post("/api/v1/auth/password-reset", json={"email": email})
        fake = await driver.client.post("/api/v1/auth/password-reset", json={"email": ghost})
        assert real.status_code == fake.status_code == 202
        assert real.json() == fake.json()
        assert driver.sink.messages(ghost) == []
        assert driver.sink.last(email, "password reset")

    async def test_reset_codes_are_limited_per_hour_and_per_attempts(
        self, driver: IdentityDriver, make_org: Any
    ) -> None:
        org = await make_org(require_totp=False)
        _, email = await invite(driver, org.admin)
        await driver.onboard(email)
        for _ in range(5):
            await driver.client.post("/api/v1/auth/password-reset", json={"email": email})
        assert len([m for m in driver.sink.messages(email) if "reset" in m["subject"]]) == 3
        bad = {"email": email, "code": "00000000", "new_password": "long enough passphrase 1"}
        statuses = [
            (await driver.client.post("/api/v1/auth/password-reset/confirm", json=bad)).status_code
            for _ in range(6)
        ]
        assert statuses[:5] == [400] * 5
        assert statuses[5] == 429  # the shared account throttle


class TestDeactivationAndPermissions:
    async def test_deactivation_stops_the_user_at_once(
        self, driver: IdentityDriver, make_org: Any
    ) -> None:
        org = await make_org(require_totp=False)
        user_id, email = await invite(driver, org.admin)
        user = await driver.onboard(email)
        assert (
            await driver.client.get("/api/v1/users/me", headers=user.headers)
        ).status_code == 200
        await driver.client.post(f"/api/v1/users/{user_id}/deactivate", headers=org.admin.headers)
        me = await driver.client.get("/api/v1/users/me", headers=user.headers)
        assert me.status_code == 401
        refreshed = await driver.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": user.tokens["refresh_token"]}
        )
        assert refreshed.status_code == 401
        # Reactivated, they sign in again (the old refresh token stays revoked).
        await driver.client.post(f"/api/v1/users/{user_id}/reactivate", headers=org.admin.headers)
        assert (await driver.login(email)).status_code == 200

    async def test_permission_change_reaches_the_next_token(
        self, driver: IdentityDriver, make_org: Any, app: FastAPI
    ) -> None:
        org = await make_org(require_totp=False)
        user_id, email = await invite(driver, org.admin)
        user = await driver.onboard(email)
        claims = await app.state.token_verifier.verify(user.tokens["access_token"])
        assert claims["forms"]["UL040"] == "readwrite"
        changed = await driver.client.patch(
            f"/api/v1/users/{user_id}/form-permissions",
            json={"permissions": {"UL040": "none", "UL150": "readwrite"}},
            headers=org.admin.headers,
        )
        assert changed.status_code == 200
        permissions = changed.json()["permissions"]
        assert permissions["UL040"] == "none"
        assert permissions["UL150"] == "readwrite"
        refreshed = await driver.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": user.tokens["refresh_token"]}
        )
        claims = await app.state.token_verifier.verify(refreshed.json()["access_token"])
        assert "UL040" not in claims["forms"]
        assert claims["forms"]["UL150"] == "readwrite"
        audit = await driver.client.get(
            f"/api/v1/orgs/{org.id}/audit-events",
            params={"event": "form_permissions_changed"},
            headers=org.admin.headers,
        )
        (event,) = audit.json()["items"]
        assert event["details"]["changes"]["UL040"] == {"from": "readwrite", "to": "none"}

    async def test_a_member_cannot_manage_users(
        self, driver: IdentityDriver, make_org: Any
    ) -> None:
        org = await make_org(require_totp=False)
        _, email = await invite(driver, org.admin)
        member = await driver.onboard(email)
        listing = await driver.client.get("/api/v1/users", headers=member.headers)
        assert listing.status_code == 403
        invited = await driver.client.post(
            "/api/v1/users",
            json={"email": unique_email("x"), "display_name": "x"},
            headers=member.headers,
        )
        assert invited.status_code == 403
        # ... and cannot give themselves roles.
        me = await driver.me(member.headers)
        escalate = await driver.client.patch(
            f"/api/v1/users/{me['id']}", json={"roles": ["org_admin"]}, headers=member.headers
        )
        assert escalate.status_code == 403

    async def test_the_last_admin_keeps_the_role(
        self, driver: IdentityDriver, make_org: Any
    ) -> None:
        org = await make_org(require_totp=False)
        response = await driver.client.patch(
            f"/api/v1/users/{org.admin.id}", json={"roles": ["member"]}, headers=org.admin.headers
        )
        assert response.status_code == 409
        assert response.json()["errors"][0]["field"] == "roles"


async def test_invitation_resends_are_limited(driver: IdentityDriver, make_org: Any) -> None:
    org = await make_org(require_totp=False)
    user_id, email = await invite(driver, org.admin)
    statuses = [
        (
            await driver.client.post(
                f"/api/v1/users/{user_id}/invitation", headers=org.admin.headers
            )
        ).status_code
        for _ in range(5)
    ]
    assert statuses == [200, 200, 200, 200, 429]  # five invitations an hour, the first included
    # Only the newest invitation works: a too-short password tells a live token (422, the policy
    # speaks) from a dead one (401) without using it up.
    tokens = [
        line.split(": ", 1)[1]
        for m in driver.sink.messages(email)
        for line in m["body"].splitlines()
        if line.startswith("Invitation code: ")
    ]
    assert len(tokens) == 5
    live = []
    for token in tokens:
        response = await driver.client.post(
            "/api/v1/auth/invitations/accept", json={"token": token, "password": "short"}
        )
        assert response.status_code in (401, 422)
        if response.status_code == 422:
            live.append(token)
    assert len(live) == 1
    accepted = await driver.client.post(
        "/api/v1/auth/invitations/accept", json={"token": live[0], "password": PASSWORD}
    )
    assert accepted.status_code == 200
    driver.clock.advance(3601)
    done = await driver.client.post(
        f"/api/v1/users/{user_id}/invitation", headers=org.admin.headers
    )
    assert done.status_code == 409  # accepted already


async def test_idempotent_invitation(driver: IdentityDriver, make_org: Any) -> None:
    org = await make_org(require_totp=False)
    email = unique_email("idem")
    body = {"email": email, "display_name": "冪等 太郎"}
    headers = {**org.admin.headers, "Idempotency-Key": "invite-1"}
    first = await driver.client.post("/api/v1/users", json=body, headers=headers)
    second = await driver.client.post("/api/v1/users", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert len(driver.sink.messages(email)) == 1
    other = await driver.client.post(
        "/api/v1/users", json={**body, "display_name": "別人"}, headers=headers
    )
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
