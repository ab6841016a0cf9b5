"""Steps the journey tests share: a real user given form rights, linked to NACCS, with a customs
master, sending NACCS forms prepared from the trade."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

import httpx


def with_form_rights(
    gateway: httpx.Client, tokens: Mapping[str, Any], permissions: Mapping[str, str]
) -> dict[str, str]:
    """An organisation admin's headers after granting itself ``permissions`` on form types (they
    are in the token from the next refresh)."""
    user = {"Authorization": f"Bearer {tokens['access_token']}"}
    me = gateway.get("/api/v1/users/me", headers=user).json()
    granted = gateway.patch(
        f"/api/v1/users/{me['id']}/form-permissions",
        json={"permissions": dict(permissions)},
        headers=user,
    )
    assert granted.status_code == 200, granted.text
    refreshed = gateway.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    return {"Authorization": f"Bearer {refreshed.json()['access_token']}"}


def linked_to_naccs(
    gateway: httpx.Client, user: dict[str, str], user_code: str, masters: Mapping[str, str]
) -> dict[str, Any]:
    """The user's NACCS 利用者ID (``user_code`` + 001) linked and its customs ``masters``
    (kind -> CSV) imported; the user as ``/users/me`` shows it."""
    me: dict[str, Any] = gateway.get("/api/v1/users/me", headers=user).json()
    linked = gateway.put(
        f"/api/v1/users/{me['id']}/naccs-credentials",
        json={"user_code": user_code, "identifier": "001", "password": "naccsE2E"},
        headers=user,
    )
    assert linked.status_code == 200, linked.text
    imported_masters(gateway, user, masters)
    return me


def imported_masters(
    gateway: httpx.Client, user: dict[str, str], masters: Mapping[str, str]
) -> None:
    for kind, csv in masters.items():
        imported = gateway.post(
            f"/api/v1/naccs/master/{kind}/import",
            content=csv.encode(),
            headers={**user, "Content-Type": "text/csv"},
        )
        assert imported.status_code == 200, imported.text


def wait_for_send(gateway: httpx.Client, user: dict[str, str], send_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        status: dict[str, Any] = gateway.get(f"/api/v1/naccs/sends/{send_id}", headers=user).json()
        if status["status"] in ("result_stored", "failed"):
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.2)


def sent(
    gateway: httpx.Client, user: dict[str, str], trade_id: str, code: str, body: dict[str, Any]
) -> dict[str, Any]:
    """The NACCS form prepared (``body``: a bundle, entries, or nothing to read the trade's forms),
    ready, sent, and accepted: what NACCS answered."""
    prepared = gateway.put(f"/api/v1/naccs/trades/{trade_id}/forms/{code}", json=body, headers=user)
    assert prepared.status_code in (200, 201), prepared.text
    assert prepared.json()["ready_to_send"] is True, (code, prepared.json()["pending_for_person"])
    queued = gateway.post(f"/api/v1/naccs/trades/{trade_id}/forms/{code}/sends", headers=user)
    assert queued.status_code == 202, queued.text
    result: dict[str, Any] = wait_for_send(gateway, user, queued.json()["id"])["result"]
    assert result["accepted"] is True, (code, result)
    return result


def item(form: dict[str, Any], key: str, index: int | None = None) -> dict[str, Any]:
    found: dict[str, Any] = next(
        i for i in form["items"] if i["key"] == key and i["index"] == index
    )
    return found


def joined(
    gateway: httpx.Client,
    owner: dict[str, str],
    trade_id: str,
    guest: dict[str, str],
    org: str,
    role: str,
) -> None:
    """``org`` invited by the trade's owner in ``role``, and accepting."""
    invited = gateway.post(
        f"/api/v1/trades/{trade_id}/participants",
        json={"org_id": org, "display_name": f"{role} {org[:8]}", "role": role},
        headers={**owner, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert invited.status_code == 201, invited.text
    accepted = gateway.post(f"/api/v1/trades/{trade_id}/participants/me/accept", headers=guest)
    assert accepted.status_code == 200, accepted.text


def filled(
    gateway: httpx.Client,
    who: dict[str, str],
    trade_id: str,
    form_type: str,
    values: dict[str, Any],
) -> dict[str, Any]:
    created = gateway.post(
        f"/api/v1/forms/trades/{trade_id}/documents",
        json={"form_type": form_type, "values": values},
        headers={**who, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert created.status_code == 201, created.text
    document: dict[str, Any] = created.json()
    return document
