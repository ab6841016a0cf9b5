"""What each command asks the gateway for, given its arguments, and what the operator then sees."""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from click.testing import Result

from minato_cli import session

from .conftest import URL, FakeGateway

Run = Callable[..., Result]
TOKENS = {"access_token": "at-1", "refresh_token": "rt-1", "expires_in": 600}


def logged_in() -> None:
    session.save(URL, session.StoredLogin("ops@example.jp", "at-1", "rt-1", time.time() + 600))


def test_login_keeps_the_tokens_in_a_file_only_the_user_can_read(
    run: Run, fake: FakeGateway, config_home: Path
) -> None:
    fake.on("POST", "/api/v1/auth/login", body={"status": "authenticated", "tokens": TOKENS})
    result = run("login", "--email", "ops@example.jp", input="secret password 1\n")
    assert result.exit_code == 0, result.output
    assert fake.body(fake.sent("POST", "/api/v1/auth/login")[0]) == {
        "email": "ops@example.jp",
        "password": "secret password 1",
    }
    path = config_home / "minato" / "tokens.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())[URL]["access_token"] == "at-1"

    fake.on("GET", "/api/v1/users/me", body={
        "email": "ops@example.jp", "display_name": "Ops", "org_id": None,
        "roles": ["platform_operator"], "totp_enabled": False,
    })  # fmt: skip
    assert run("whoami").exit_code == 0
    assert fake.sent("GET", "/api/v1/users/me")[0].headers["authorization"] == "Bearer at-1"


def test_login_asks_for_the_authenticator_code_when_the_account_has_one(
    run: Run, fake: FakeGateway
) -> None:
    calls: list[dict[str, str]] = []

    def login(request: object) -> object:
        import httpx

        assert isinstance(request, httpx.Request)
        body = json.loads(request.content)
        calls.append(body)
        if "totp_code" not in body:
            return httpx.Response(401, json={"code": "totp_required", "detail": "Code needed"})
        return httpx.Response(200, json={"status": "authenticated", "tokens": TOKENS})

    fake.routes[("POST", "/api/v1/auth/login")] = login  # type: ignore[assignment]
    result = run("login", "--email", "a@b.jp", "--password", "pw-long-enough", input="123456\n")
    assert result.exit_code == 0, result.output
    assert calls[-1]["totp_code"] == "123456"


def test_a_command_without_a_login_says_how_to_log_in(run: Run, fake: FakeGateway) -> None:
    result = run("naccs", "queue")
    assert result.exit_code == 1
    assert "minato login" in result.output
    assert fake.requests == []


def test_minato_token_overrides_the_stored_login(run: Run, fake: FakeGateway) -> None:
    logged_in()
    fake.on("GET", "/api/v1/naccs/queue", body={"depth": 0, "states": [], "items": []})
    assert run("naccs", "queue", env={"MINATO_TOKEN": "from-env"}).exit_code == 0
    assert fake.requests[0].headers["authorization"] == "Bearer from-env"


def test_a_stale_access_token_is_refreshed_and_the_new_pair_kept(
    run: Run, fake: FakeGateway
) -> None:
    session.save(URL, session.StoredLogin("ops@example.jp", "old", "rt-old", time.time() + 5))
    fake.on(
        "POST",
        "/api/v1/auth/refresh",
        body={**TOKENS, "access_token": "new", "refresh_token": "rt-new"},
    )
    fake.on("GET", "/api/v1/naccs/queue", body={"depth": 0, "states": [], "items": []})
    assert run("naccs", "queue").exit_code == 0
    assert fake.body(fake.sent("POST", "/api/v1/auth/refresh")[0]) == {"refresh_token": "rt-old"}
    assert fake.sent("GET", "/api/v1/naccs/queue")[0].headers["authorization"] == "Bearer new"
    stored = session.load(URL)
    assert stored is not None
    assert (stored.access_token, stored.refresh_token) == ("new", "rt-new")


def test_naccs_queue_passes_its_filters_and_prints_depth_states_and_the_oldest(
    run: Run, fake: FakeGateway
) -> None:
    logged_in()
    fake.on("GET", "/api/v1/naccs/queue", body={
        "depth": 2,
        "states": [
            {"status": "queued", "count": 2, "oldest_created_at": "2026-12-04T09:00:00+00:00", "oldest_age_s": 4000},
        ],
        "items": [{
            "id": "s-1", "org_id": "org-1", "trade_id": "t-1", "code": "ECR", "status": "queued",
            "naccs_user_id": "MNTFW001", "attempts": 3, "created_at": "2026-12-04T09:00:00+00:00",
            "last_error": "NACCS unreachable",
        }],
    })  # fmt: skip
    result = run("naccs", "queue", "--state", "queued", "--state", "failed", "--org", "org-1")
    assert result.exit_code == 0, result.output
    params = fake.requests[0].url.params
    assert params.get_list("status") == ["queued", "failed"]
    assert params["org_id"] == "org-1"
    assert "depth (queued + sending + awaiting result): 2" in result.output
    assert "queued  2      2026-12-04 09:00:00Z  66m" in result.output
    assert "NACCS unreachable" in result.output

    as_json = run("naccs", "queue", "--json")
    assert json.loads(as_json.output)["depth"] == 2


def test_an_unknown_state_is_refused_before_any_request(run: Run, fake: FakeGateway) -> None:
    logged_in()
    result = run("naccs", "queue", "--state", "stuck")
    assert result.exit_code == 2
    assert "--state" in result.output
    assert fake.requests == []


def test_a_problem_answer_shows_its_code_each_field_and_the_request_id(
    run: Run, fake: FakeGateway
) -> None:
    logged_in()
    fake.on("POST", "/api/v1/orgs", status=422, body={
        "type": "https://minato.dev/problems/invalid_input", "title": "Invalid input",
        "status": 422, "code": "invalid_input", "detail": "Check the fields",
        "errors": [{"field": "body.corporate_number", "message": "check digit does not match"}],
        "request_id": "req-42",
    })  # fmt: skip
    result = run(
        "org", "create", "--name-ja", "港", "--name-en", "Minato", "--corporate-number", "1234567890123",
        "--type", "forwarder", "--address", "東京都港区", "--admin-email", "a@b.jp", "--admin-name", "A",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "422 invalid_input: Check the fields" in result.output
    assert "body.corporate_number: check digit does not match" in result.output
    assert "req-42" in result.output
    assert "Traceback" not in result.output


def test_org_create_sends_the_organisation_and_its_first_admin_and_prints_the_invitation(
    run: Run, fake: FakeGateway
) -> None:
    logged_in()
    fake.on("POST", "/api/v1/orgs", status=201, body={
        "id": "org-9", "name_en": "Minato Carrier", "name_ja": "港海運", "business_types": ["carrier", "nvocc"],
        "first_admin": {"id": "u-1", "email": "admin@carrier.jp", "status": "invited"},
    })  # fmt: skip
    result = run(
        "org", "create", "--name-ja", "港海運", "--name-en", "Minato Carrier",
        "--corporate-number", "7000012050002", "--type", "carrier", "--type", "nvocc",
        "--scac", "MNTC", "--address", "東京都港区海岸1-1", "--no-require-totp",
        "--admin-email", "admin@carrier.jp", "--admin-name", "管理者", "--admin-locale", "en",
        "--idempotency-key", "retry-1",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    request = fake.sent("POST", "/api/v1/orgs")[0]
    assert request.headers["idempotency-key"] == "retry-1"
    body = fake.body(request)
    assert body["business_types"] == ["carrier", "nvocc"]
    assert (body["scac"], body["require_totp"]) == ("MNTC", False)
    assert body["first_admin"] == {
        "email": "admin@carrier.jp",
        "display_name": "管理者",
        "locale": "en",
    }
    assert "admin@carrier.jp (u-1), status invited: invitation mailed" in result.output


def test_health_exits_non_zero_and_names_the_service_that_is_down(
    run: Run, fake: FakeGateway
) -> None:
    fake.on("GET", "/readyz", body={"status": "ok", "checks": {"database": "ok"}})
    fake.on("GET", "/health/services", status=503, body={
        "status": "degraded",
        "services": {
            "trades": {"status": "ok", "checks": {"database": "ok"}},
            "naccs_bridge": {"status": "unreachable"},
        },
    })  # fmt: skip
    result = run("health")
    assert result.exit_code == 1
    assert "NOT READY: naccs_bridge" in result.output
    assert "gateway       ok           database=ok" in result.output


def test_health_is_not_ready_when_the_gateway_cannot_list_the_services(
    run: Run, fake: FakeGateway
) -> None:
    fake.on("GET", "/readyz", body={"status": "ok", "checks": {"database": "ok"}})
    fake.routes[("GET", "/health/services")] = lambda _request: httpx.Response(
        503, text="Service Unavailable"
    )
    result = run("health")
    assert result.exit_code == 1
    assert "NOT READY: services" in result.output
    assert "unknown (HTTP 503)" in result.output


def test_health_without_a_gateway_says_so(run: Run, fake: FakeGateway) -> None:
    def refuse(request: object) -> object:
        import httpx

        raise httpx.ConnectError("connection refused")

    fake.routes[("GET", "/readyz")] = refuse  # type: ignore[assignment]
    result = run("health")
    assert result.exit_code == 1
    assert f"Cannot reach the gateway at {URL}" in result.output


def test_replay_needs_an_event_or_a_range_with_a_time_zone(run: Run, fake: FakeGateway) -> None:
    logged_in()
    nothing = run("webhooks", "replay")
    assert nothing.exit_code == 2
    assert "--event ID, or --from TIME" in nothing.output
    both = run(
        "webhooks",
        "replay",
        "--event",
        "0b7c8a63-1f49-4b9e-9a55-1f0d3f8f7a10",
        "--from",
        "2026-12-04T00:00:00Z",
    )
    assert both.exit_code == 2
    naive = run("webhooks", "replay", "--from", "2026-12-04T09:00:00")
    assert naive.exit_code == 2
    assert "no time zone" in naive.output
    assert fake.requests == []


def test_replay_of_a_range_goes_to_every_enabled_subscription(run: Run, fake: FakeGateway) -> None:
    logged_in()
    org = "5f0c1c2e-8b1a-4a5e-9a3c-0d6a1f2b3c4d"
    fake.on("GET", "/api/v1/notifications/webhooks", body=[
        {"id": "e-1", "url": "https://a.example/hook", "enabled": True},
        {"id": "e-2", "url": "https://b.example/hook", "enabled": False},
        {"id": "e-3", "url": "https://c.example/hook", "enabled": True},
    ])  # fmt: skip
    fake.on("POST", "/api/v1/notifications/webhooks/e-1/replay", status=202, body={"scheduled": 3})
    fake.on("POST", "/api/v1/notifications/webhooks/e-3/replay", status=202, body={"scheduled": 1})
    result = run(
        "webhooks", "replay", "--org", org, "--from", "2026-12-04T09:00:00+09:00", "--to", "2026-12-04T12:00:00Z"
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    replays = [r for r in fake.requests if r.url.path.endswith("/replay")]
    assert [r.url.path.split("/")[-2] for r in replays] == ["e-1", "e-3"]
    assert all(r.url.params["org_id"] == org for r in replays)
    assert fake.body(replays[0]) == {
        "since": "2026-12-04T09:00:00+09:00",
        "until": "2026-12-04T12:00:00+00:00",
    }
    assert "4 deliveries scheduled" in result.output


def test_deliveries_of_one_subscription_with_filters(run: Run, fake: FakeGateway) -> None:
    logged_in()
    sub = "0b7c8a63-1f49-4b9e-9a55-1f0d3f8f7a10"
    fake.on(
        "GET",
        f"/api/v1/notifications/webhooks/{sub}",
        body={"id": sub, "url": "https://a.example/h", "enabled": True},
    )
    fake.on("GET", f"/api/v1/notifications/webhooks/{sub}/deliveries", body={"items": [{
        "id": "d-1", "endpoint_id": sub, "event_id": "ev-1", "event_type": "trade.updated",
        "is_replay": False, "status": "failed", "attempt_count": 8, "last_status_code": 500,
        "last_error": None, "created_at": "2026-12-04T09:00:00+00:00",
    }], "next_cursor": None})  # fmt: skip
    result = run("webhooks", "deliveries", "--subscription", sub, "--status", "failed")
    assert result.exit_code == 0, result.output
    listing = fake.sent("GET", f"/api/v1/notifications/webhooks/{sub}/deliveries")[0]
    assert listing.url.params["status"] == "failed"
    assert "trade.updated" in result.output
    assert "500" in result.output
