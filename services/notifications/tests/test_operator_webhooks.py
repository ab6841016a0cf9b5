"""Platform operators (no organisation of their own) look at an organisation's webhook deliveries and
replay them, naming the organisation; they cannot change its endpoints, and others cannot borrow the
parameter to reach another organisation."""

from __future__ import annotations

import uuid
from typing import Any

from .test_webhooks import create_endpoint, publish


def operator(tokens: Any) -> dict[str, str]:
    headers: dict[str, str] = tokens.issuer.auth(
        kind="user", roles=["platform_operator"], subject=f"ops-{uuid.uuid4()}"
    )
    return headers


async def test_an_operator_reads_deliveries_and_replays_for_the_organisation_it_names(
    live: Any, tokens: Any, trades: Any, receiver: Any, make_envelope: Any
) -> None:
    org = uuid.uuid4()
    trade = trades.add_trade(org)
    endpoint = await create_endpoint(live, tokens, org, receiver.url)
    receiver.secrets = [endpoint["secret"]]
    body = make_envelope(trade_id=trade)
    await publish(live, tokens, body)
    await live.drain()
    base = "/api/v1/notifications/webhooks"
    ops = operator(tokens)

    listed = await live.client.get(base, params={"org_id": str(org)}, headers=ops)
    assert [e["id"] for e in listed.json()] == [endpoint["id"]]
    log = await live.client.get(
        f"{base}/{endpoint['id']}/deliveries", params={"org_id": str(org)}, headers=ops
    )
    assert [(d["event_id"], d["status"]) for d in log.json()["items"]] == [
        (body["id"], "delivered")
    ]
    replayed = await live.client.post(
        f"{base}/{endpoint['id']}/replay",
        params={"org_id": str(org)},
        json={"event_id": body["id"]},
        headers=ops,
    )
    assert replayed.status_code == 202, replayed.text
    assert replayed.json() == {"scheduled": 1}
    await live.drain()
    assert [r["headers"]["webhook-id"] for r in receiver.requests] == [body["id"], body["id"]]

    # Another organisation's id finds nothing; without one the operator is told to name it.
    elsewhere = await live.client.get(
        f"{base}/{endpoint['id']}/deliveries", params={"org_id": str(uuid.uuid4())}, headers=ops
    )
    assert elsewhere.status_code == 404
    unnamed = await live.client.get(base, headers=ops)
    assert unnamed.status_code == 422
    assert [e["field"] for e in unnamed.json()["errors"]] == ["query.org_id"]
    # Changing the organisation's endpoints stays with the organisation.
    changed = await live.client.patch(
        f"{base}/{endpoint['id']}",
        params={"org_id": str(org)},
        json={"enabled": False},
        headers=ops,
    )
    assert changed.status_code == 403


async def test_an_org_admin_cannot_reach_another_organisation_with_org_id(
    live: Any, tokens: Any, receiver: Any
) -> None:
    org, other = uuid.uuid4(), uuid.uuid4()
    await create_endpoint(live, tokens, other, receiver.url)
    response = await live.client.get(
        "/api/v1/notifications/webhooks", params={"org_id": str(other)}, headers=tokens.admin(org)
    )
    assert response.status_code == 404
    own = await live.client.get(
        "/api/v1/notifications/webhooks", params={"org_id": str(org)}, headers=tokens.admin(org)
    )
    assert own.json() == []
