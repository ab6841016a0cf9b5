"""The NACCS bridge through real processes: a real user with linked NACCS credentials, the gateway, the
trades service deciding access, the bridge's send queue and output poller, and the NACCS stand-in
receiving bytes and permitting after its delay."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pyotp

from shared.codes import corporate_number_check_digit
from shared.devstack.stack import GATEWAY, NACCS_STANDIN, REPO_ROOT, Stack
from tests.e2e.journey import linked_to_naccs, wait_for_send

PASSWORD = "naccs bridge end to end 2026"
COMPANIES_CSV = (
    "company_id,name_en,corporate_number,postal_code,address1,address2,address3,phone\n"
    'minato-denki,"MINATO DENKI CO., LTD.",4010401034567,1080023,TOKYO TO,MINATO KU,'
    "3-4-1 SHIBAURA,03-5555-0101\n"
)
PRODUCTS_CSV = (
    "product_code,hs_code,quantity_unit1,quantity_unit2,export_control_code\n"
    "SRV-750,850152000,NO,KG,99999\n"
)
BONDED_AREAS_CSV = (
    "code,name,customs_office,customs_department\n1AW61,OHI CONTAINER TERMINAL,1A,61\n"
)
VESSELS_CSV = "name,call_sign,nationality\nONE HARMONY,9V7654,SG\n"
BUNDLE: dict[str, Any] = {
    "SI": {
        "shipper": {"companyId": "minato-denki", "name": "MINATO DENKI CO., LTD."},
        "consignee": {
            "name": "Pacific Motion Supply Inc.",
            "address": "1200 Harbor Blvd, Long Beach, CA, United States",
            "postalCode": "90802",
            "countryCode": "US",
        },
        "bookingNo": "ONEYTYOE12345600",
        "scacCode": "ONEY",
        "vessel": {"name": "ONE HARMONY"},
        "voyageNumber": "025E",
        "finalDestination": {"code": "USLAX", "name": "Los Angeles"},
        "commodity": [{"description": "Industrial AC servo motors"}],
        "totalPackages": 80,
        "totalPackagesUnitCode": "CARTONS",
        "commodityTotalGrossWeight": "3500",
        "commodityTotalGrossWeightUnitCode": "KGS",
        "commodityTotalMeasurement": "20.5",
        "commodityTotalMeasurementUnitCode": "CBM",
        "marksAndNumbers": "PMS LOS ANGELES",
        "incoterms": "FOB",
        "invoiceNo": "MD-2026-1122",
        "carryInDate": "2026-11-27",
    },
    "BK": {
        "bookingNo": "ONEYTYOE12345600",
        "scacCode": "ONEY",
        "vessel": {"name": "ONE HARMONY"},
        "portOfLoading": {"code": "JPTYO"},
        "portOfDischarge": {"code": "USLAX"},
        "estimatedDepartureDate": "2026-12-01",
        "returnFacility": {"bondedAreaCode": "1AW61"},
        "cargoMovementType": "FCL",
        "containerRequests": [{"sizeTypeCode": "45G1", "quantity": 1}],
    },
    "IV": {
        "invoiceNo": "MD-2026-1122",
        "incoterms": "FOB",
        "currencyCode": "JPY",
        "totalAmount": "18500000",
        "commodity": [
            {
                "productCode": "SRV-750",
                "description": "AC servo motor 750W",
                "quantity": 80,
                "quantityUnitCode": "PCS",
                "netWeight": "3360",
                "amount": "18500000",
            }
        ],
    },
}
# What only the customs broker decides (申告種別) and per-broker codes not derivable from the trade.
EDA_ENTRIES = {"declaration_type": "E", "invoice_identification": "B", "price_class": "A"}


def mail_for(stack: Stack, to: str, subject: str, timeout_s: float = 15.0) -> dict[str, Any]:
    sink = stack.processes["smtp-sink"].url
    deadline = time.monotonic() + timeout_s
    while True:
        messages = httpx.get(f"{sink}/messages", params={"to": to}).json()
        found = [m for m in messages if subject in m["subject"]]
        if found:
            return dict(found[-1])
        assert time.monotonic() < deadline, f"no mail about {subject!r} for {to}"
        time.sleep(0.1)


def invitation_code(stack: Stack, to: str, subject: str) -> str:
    body = mail_for(stack, to, subject)["body"]
    return next(
        line.split(": ", 1)[1].strip()
        for line in body.splitlines()
        if line.startswith("Invitation code: ")
    )


def accept_and_enrol(gateway: httpx.Client, token: str) -> dict[str, Any]:
    accepted = gateway.post(
        "/api/v1/auth/invitations/accept", json={"token": token, "password": PASSWORD}
    )
    assert accepted.status_code == 200, accepted.text
    enrolment = accepted.json()["enrolment"]
    enrolled = gateway.post(
        "/api/v1/auth/totp/enrol",
        json={
            "enrolment_token": enrolment["enrolment_token"],
            "code": pyotp.TOTP(enrolment["secret"]).now(),
        },
    )
    assert enrolled.status_code == 200, enrolled.text
    tokens: dict[str, Any] = enrolled.json()["tokens"]
    return tokens


def a_forwarder_admin(gateway: httpx.Client, stack: Stack) -> dict[str, str]:
    """A real organisation admin (operator CLI → organisation → invitation → TOTP)."""
    return {"Authorization": f"Bearer {an_org_admin(gateway, stack, 'forwarder')['access_token']}"}


def an_org_admin(gateway: httpx.Client, stack: Stack, business_type: str) -> dict[str, Any]:
    """The tokens of the first admin of a new organisation of that business type."""
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
    operator = accept_and_enrol(gateway, printed.group(1))
    admin_email = f"admin-{uuid.uuid4().hex[:8]}@minato-e2e.co.jp"
    base = f"{uuid.uuid4().int % 10**12:012d}"
    org = gateway.post(
        "/api/v1/orgs",
        json={
            "name_ja": "ミナト海運株式会社",
            "name_en": "Minato Forwarding K.K.",
            "corporate_number": f"{corporate_number_check_digit(base)}{base}",
            "business_types": [business_type],
            "address": {"line_ja": "東京都港区海岸1-1"},
            "first_admin": {"email": admin_email, "display_name": "管理者", "locale": "en"},
        },
        headers={
            "Authorization": f"Bearer {operator['access_token']}",
            "Idempotency-Key": str(uuid.uuid4()),
        },
    )
    assert org.status_code == 201, org.text
    return accept_and_enrol(gateway, invitation_code(stack, admin_email, "invited"))


@contextlib.contextmanager
def standin_with(stack: Stack, **env: str) -> Iterator[None]:
    """The stand-in restarted with some settings changed (its database, and so its state, stays)."""
    saved = stack.options.extra_env

    def restart(extra: Mapping[str, str]) -> None:
        stack.stop_process(NACCS_STANDIN.name)
        stack.options.extra_env = extra
        stack.start_service(NACCS_STANDIN)
        url = stack.processes[NACCS_STANDIN.name].url
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/readyz").status_code == 200:
                    return
            assert time.monotonic() < deadline, stack.processes[NACCS_STANDIN.name].log_tail()
            time.sleep(0.1)

    restart({**saved, **env})
    try:
        yield
    finally:
        restart(saved)
        stack.options.extra_env = saved


def test_a_linked_user_sends_ecr_eda_edc_and_the_permit_comes_back(
    gateway: httpx.Client, stack: Stack, auth_headers: dict[str, str]
) -> None:
    user = a_forwarder_admin(gateway, stack)
    linked_to_naccs(
        gateway,
        user,
        "MNTFW",
        {
            "companies": COMPANIES_CSV,
            "products": PRODUCTS_CSV,
            "bonded_areas": BONDED_AREAS_CSV,
            "vessels": VESSELS_CSV,
        },
    )

    trade = gateway.post(
        "/api/v1/trades",
        json={"direction": "export", "owner_role": "forwarder", "owner_display_name": "Minato FW"},
        headers={**user, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert trade.status_code == 201, trade.text
    trade_id = trade.json()["id"]

    form = gateway.put(
        f"/api/v1/naccs/trades/{trade_id}/forms/ECR", json={"bundle": BUNDLE}, headers=user
    )
    assert form.status_code == 201, form.text
    assert form.json()["ready_to_send"] is True, form.json()["pending_for_person"]

    # Someone outside the trade (a token of another organisation, signed with the gateway's key, as
    # ``sign_with_gateway_key`` makes them) sees nothing, through the gateway too.
    stranger = auth_headers
    assert (
        gateway.get(f"/api/v1/naccs/trades/{trade_id}/forms/ECR", headers=stranger).status_code
        == 404
    )

    queued = gateway.post(f"/api/v1/naccs/trades/{trade_id}/forms/ECR/sends", headers=user)
    assert queued.status_code == 202, queued.text
    send = queued.json()
    assert send["naccs_user_id"] == "MNTFW001"

    status = wait_for_send(gateway, user, send["id"])
    assert status["status"] == "result_stored", status
    assert status["result"]["accepted"] is True
    control_no = status["result"]["reference_no"]
    ecr = gateway.get(f"/api/v1/naccs/trades/{trade_id}/forms/ECR", headers=user).json()
    assert (ecr["status"], ecr["reference_no"]) == ("accepted", control_no)

    # The stand-in is a separate process; it saw the 入力情報特定番号 exactly once.
    standin = stack.processes["naccs_standin"].url
    receipts = httpx.get(f"{standin}/receipts", params={"input_id_no": send["input_id_no"]}).json()
    assert receipts["count"] == 1
    assert receipts["receipts"][0]["user_id"] == "MNTFW001"
    usage = gateway.get("/api/v1/naccs/usage", headers=user).json()
    assert usage["total"]["accepted"] == 1

    # EDA (filled with ECR's 輸出管理番号) and EDC; customs permits after the stand-in's delay and the
    # bridge picks the 輸出許可通知 up from the stand-in's outbox by itself.
    eda = gateway.put(
        f"/api/v1/naccs/trades/{trade_id}/forms/EDA",
        json={"bundle": BUNDLE, "entries": EDA_ENTRIES},
        headers=user,
    ).json()
    assert eda["ready_to_send"] is True, eda["pending_for_person"]
    eda_send = gateway.post(f"/api/v1/naccs/trades/{trade_id}/forms/EDA/sends", headers=user).json()
    declaration_no = wait_for_send(gateway, user, eda_send["id"])["result"]["reference_no"]
    edc = gateway.put(
        f"/api/v1/naccs/trades/{trade_id}/forms/EDC", json={"bundle": BUNDLE}, headers=user
    ).json()
    assert edc["ready_to_send"] is True, edc["pending_for_person"]
    edc_send = gateway.post(f"/api/v1/naccs/trades/{trade_id}/forms/EDC/sends", headers=user).json()
    assert wait_for_send(gateway, user, edc_send["id"])["result"]["accepted"] is True
    # Customs examines for up to 3 permit delays; the stand-in lets that time pass at once.
    assert httpx.post(f"{standin}/admin/clock", params={"advance_s": 180}).status_code == 200
    deadline = time.monotonic() + 20
    while True:
        forms = gateway.get(f"/api/v1/naccs/trades/{trade_id}/forms", headers=user).json()
        statuses = {f["code"]: f["status"] for f in forms}
        if statuses["EDA"] == "permitted":
            break
        assert time.monotonic() < deadline, statuses
        time.sleep(0.2)
    assert statuses == {"ECR": "accepted", "EDA": "permitted", "EDC": "permitted"}
    messages = gateway.get(f"/api/v1/naccs/trades/{trade_id}/output-messages", headers=user).json()
    assert [(m["output_info_code"], m["subject"]) for m in messages] == [
        ("SAE0030", declaration_no)
    ]

    # The permit is on the trade itself: its timeline shows it (delivered by the bridge's outbox relay
    # to the trades service), and the task rule asked for the CY delivery to be arranged.
    deadline = time.monotonic() + 20
    while True:
        timeline = gateway.get(
            f"/api/v1/trades/{trade_id}/timeline", params={"kind": "naccs.permit"}, headers=user
        ).json()["items"]
        if timeline:
            break
        assert time.monotonic() < deadline, "the permit never reached the trade's timeline"
        time.sleep(0.2)
    assert timeline[0]["source"] == "naccs_bridge"
    assert declaration_no in timeline[0]["summary"]
    tasks = gateway.get(f"/api/v1/trades/{trade_id}/tasks", headers=user).json()
    titles = [task["title"] for task in tasks]
    assert any("CY" in title for title in titles), titles
