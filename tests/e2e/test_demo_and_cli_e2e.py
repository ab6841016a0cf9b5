"""The demo world and the operator's ``minato`` command against the real processes.

Seeding runs twice (the second run finds everything and changes nothing), every demo login signs in,
the trades stand where the summary says; then the installed ``minato`` program logs in as a platform
operator, checks health, creates an organisation with its first admin (and shows a refused one's
problem), and reads the NACCS send queue the demo filled.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pyotp

from shared.codes import corporate_number_check_digit
from shared.devstack.demo import DEMO_PASSWORD, ORGS, TRADES, DemoWorld
from shared.devstack.stack import GATEWAY, REPO_ROOT, Stack

OPERATOR_PASSWORD = "operator console end to end 2026"
MINATO = str(Path(sys.executable).with_name("minato"))


def an_operator(gateway: httpx.Client, stack: Stack) -> dict[str, Any]:
    """A platform operator made as in production (gateway.admin → invitation → TOTP)."""
    email = f"ops-{uuid.uuid4().hex[:8]}@minato-e2e.co.jp"
    made = subprocess.run(
        [sys.executable, "-m", "gateway.admin", "create-operator", "--email", email],
        env={**os.environ, **stack.service_env(GATEWAY)},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    code = re.search(r"invitation code: (\S+)", made.stdout)
    assert code
    accepted = gateway.post(
        "/api/v1/auth/invitations/accept",
        json={"token": code.group(1), "password": OPERATOR_PASSWORD},
    ).json()
    enrolment = accepted["enrolment"]
    enrolled = gateway.post(
        "/api/v1/auth/totp/enrol",
        json={
            "enrolment_token": enrolment["enrolment_token"],
            "code": pyotp.TOTP(enrolment["secret"]).now(),
        },
    )
    assert enrolled.status_code == 200, enrolled.text
    return {"email": email, **enrolled.json()}


def minato(home: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CONFIG_HOME": str(home), "MINATO_URL": url}
    env.pop("MINATO_TOKEN", None)
    return subprocess.run(
        [MINATO, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_demo_world_seeds_twice_harmlessly_and_the_operator_cli_runs_against_it(
    gateway: httpx.Client, stack: Stack, tmp_path: Path
) -> None:
    operator = an_operator(gateway, stack)
    token = operator["tokens"]["access_token"]
    mail = stack.processes["smtp-sink"].url

    first_lines: list[str] = []
    first = DemoWorld(
        gateway,
        operator_token=token,
        mail_url=mail,
        naccs_standin_url=stack.processes["naccs_standin"].url,
        say=first_lines.append,
        permit_timeout_s=60,
    )
    first.seed()
    assert any("export permitted" in line for line in first_lines), first_lines
    again_lines: list[str] = []
    again = DemoWorld(gateway, operator_token=token, mail_url=mail, say=again_lines.append)
    again.seed()
    # The second run found every organisation, login and trade, and sent nothing to NACCS again.
    assert (again.org_ids, again.trade_ids) == (first.org_ids, first.trade_ids)
    assert [line for line in again_lines if "ready in" not in line] == []

    for org in ORGS:
        login = gateway.post(
            "/api/v1/auth/login", json={"email": org.email, "password": DEMO_PASSWORD}
        )
        assert login.status_code == 200, (org.email, login.text)
        assert login.json()["status"] == "authenticated"
    forwarder = first.tokens["forwarder"]
    statuses = {
        trade.reference: gateway.get(
            f"/api/v1/trades/{first.trade_ids[trade.reference]}", headers=forwarder
        ).json()["status"]
        for trade in TRADES
    }
    assert statuses == {
        "DEMO-EXP-1-BOOKED": "booked",
        "DEMO-EXP-2-SI": "documents",
        "DEMO-EXP-3-ECR": "documents",
        "DEMO-EXP-4-PERMIT": "cleared",  # the permit moved it (trades' status rule)
        "DEMO-IMP-5-AN": "arrived",
    }
    # The carrier's A/N reached the forwarder's view of the import trade, sent.
    an_forms = gateway.get(
        f"/api/v1/forms/trades/{first.trade_ids['DEMO-IMP-5-AN']}/documents", headers=forwarder
    ).json()["items"]
    assert [(f["form_type"], f["status"]) for f in an_forms] == [("UL290", "sent")]

    # -- the operator's command line, the real program over HTTP ----------------------------------
    url = stack.gateway_url
    recovery_code = operator["recovery_codes"][0]
    login = minato(
        tmp_path,
        url,
        "login",
        "--email",
        operator["email"],
        "--password",
        OPERATOR_PASSWORD,
        "--recovery-code",
        recovery_code,
    )
    assert login.returncode == 0, login.stderr
    token_file = tmp_path / "minato" / "tokens.json"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600

    healthy = minato(tmp_path, url, "health")
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "all ready" in healthy.stdout
    # A service down (exit 1, named) is in cli/tests: stopping and restarting one here costs more
    # time than it tells.

    base = f"{uuid.uuid4().int % 10**12:012d}"
    admin_email = f"admin-{uuid.uuid4().hex[:8]}@cli-e2e.co.jp"
    created = minato(
        tmp_path, url, "org", "create",
        "--name-ja", "港倉庫株式会社", "--name-en", "Minato Soko K.K.",
        "--corporate-number", f"{corporate_number_check_digit(base)}{base}",
        "--type", "warehouse", "--address", "東京都品川区八潮2-1",
        "--admin-email", admin_email, "--admin-name", "倉庫管理者",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert f"first admin: {admin_email}" in created.stdout
    assert "status invited: invitation mailed" in created.stdout
    invited = httpx.get(f"{mail}/messages", params={"to": admin_email}).json()
    assert invited, "the first admin's invitation was not mailed"
    refused = minato(
        tmp_path, url, "org", "create",
        "--name-ja", "港", "--name-en", "Minato", "--corporate-number", "1234567890123",
        "--type", "trucker", "--address", "東京都", "--admin-email", "a@cli-e2e.co.jp",
        "--admin-name", "A",
    )  # fmt: skip
    assert refused.returncode == 1
    assert "corporate_number" in refused.stderr

    queue = minato(tmp_path, url, "naccs", "queue", "--org", first.org_ids["forwarder"], "--json")
    assert queue.returncode == 0, queue.stderr
    overview = json.loads(queue.stdout)
    assert overview["depth"] == 0
    assert [(s["status"], s["count"]) for s in overview["states"]] == [("result_stored", 4)]
    assert sorted(i["code"] for i in overview["items"]) == ["ECR", "ECR", "EDA", "EDC"]
    table = minato(tmp_path, url, "naccs", "queue", "--state", "result_stored")
    assert "result_stored" in table.stdout
    assert "MNTFW001" in table.stdout
