"""Authentication in every service, and object-level access across services, with real processes.

Each service verifies tokens itself (not only the gateway), so these call the services directly as
well as through the gateway.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable

import httpx
import pytest

from shared.devstack.stack import Stack

# One operation per service that needs a user token and touches no trade.
PROTECTED = {
    "trades": "/api/v1/trades",
    "forms": "/api/v1/forms/templates",
    "naccs_bridge": "/api/v1/naccs/usage",
    "notifications": "/api/v1/notifications/inbox",
}


def b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def bad_tokens(sign: Callable[..., str]) -> dict[str, str]:
    good = sign(org=str(uuid.uuid4()))
    header, _payload, signature = good.split(".")
    now = int(time.time())
    return {
        "expired": sign(iat=now - 900, exp=now - 600),
        "tampered": f"{header}.{b64({'sub': 'admin', 'aud': 'minato', 'iss': 'minato-gateway', 'exp': now + 300, 'iat': now, 'org': 'other'})}.{signature}",
        "wrong audience": sign(aud="another-system"),
        "wrong issuer": sign(iss="https://evil.example"),
        "alg none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64({'sub': 'x', 'aud': 'minato', 'iss': 'minato-gateway', 'exp': now + 300, 'iat': now})}.",
    }


@pytest.mark.parametrize("service", sorted(PROTECTED))
def test_every_service_rejects_bad_tokens_itself(
    stack: Stack, sign: Callable[..., str], service: str
) -> None:
    url = stack.processes[service].url + PROTECTED[service]
    good = sign(org=str(uuid.uuid4()))
    assert httpx.get(url, headers={"Authorization": f"Bearer {good}"}).status_code == 200
    for name, token in bad_tokens(sign).items():
        response = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, (service, name, response.text)
        assert response.json()["code"] == "unauthenticated", (service, name)
    assert httpx.get(url).status_code == 401


def test_a_non_participant_sees_404_for_the_trade_and_everything_under_it(
    gateway: httpx.Client, sign: Callable[..., str]
) -> None:
    owner = {"Authorization": f"Bearer {sign(org=str(uuid.uuid4()))}"}
    stranger_token = sign(org=str(uuid.uuid4()), forms={"UL040": "readwrite", "UL150": "readwrite"})
    stranger = {"Authorization": f"Bearer {stranger_token}"}
    created = gateway.post(
        "/api/v1/trades",
        json={"direction": "export", "owner_role": "shipper", "owner_display_name": "Owner"},
        headers={**owner, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert created.status_code == 201, created.text
    trade_id = created.json()["id"]
    assert gateway.get(f"/api/v1/trades/{trade_id}", headers=owner).status_code == 200
    paths = [
        f"/api/v1/trades/{trade_id}",
        f"/api/v1/trades/{trade_id}/participants",
        f"/api/v1/trades/{trade_id}/timeline",
        f"/api/v1/trades/{trade_id}/tasks",
        f"/api/v1/trades/{trade_id}/threads",
        f"/api/v1/forms/trades/{trade_id}/documents",
        f"/api/v1/naccs/trades/{trade_id}/forms",
    ]
    for path in paths:
        response = gateway.get(path, headers=stranger)
        assert response.status_code == 404, (path, response.status_code, response.text)
        assert response.json()["code"].endswith("not_found"), (path, response.json())
    # Writing is refused the same way, and nothing is written.
    response = gateway.post(
        f"/api/v1/forms/trades/{trade_id}/documents",
        json={"form_type": "UL040", "values": {}},
        headers={**stranger, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 404, response.text
    owners_view = gateway.get(f"/api/v1/forms/trades/{trade_id}/documents", headers=owner)
    assert owners_view.status_code in (200, 404), owners_view.text
    if owners_view.status_code == 200:
        assert owners_view.json()["items"] == []
