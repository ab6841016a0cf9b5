"""Object-level access on every call: trade participation (asked of the real trades service) and the
token's per-form-type permission (none / read / readwrite)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from forms.app import create_app
from forms.clients.service_token import StaticToken
from forms.config import Settings
from shared.testing.plugin import asgi_client, use_test_session
from shared.testing.tokens import TestIssuer

from .conftest import Trade, complete_si, created_form

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


async def every_call(
    client: httpx.AsyncClient, trade: Trade, form: dict[str, Any], headers: dict[str, str]
) -> dict[str, int]:
    """Status of each endpoint touching the trade or the form, for these headers."""
    doc = f"/api/v1/forms/documents/{form['id']}"
    edit = {**headers, "If-Match": form["etag"]}
    calls: dict[str, Callable[[], Any]] = {
        "list": lambda: client.get(trade.documents, headers=headers),
        "create": lambda: client.post(
            trade.documents, json={"form_type": "UL150"}, headers=headers
        ),
        "shared-items": lambda: client.get(
            f"/api/v1/forms/trades/{trade.id}/shared-items", headers=headers
        ),
        "derive": lambda: client.post(
            f"/api/v1/forms/trades/{trade.id}/derivations",
            json={"form_type": "UL090"},
            headers=headers,
        ),
        "dcsa-import": lambda: client.post(
            f"/api/v1/forms/trades/{trade.id}/dcsa/shipping-instructions",
            json={},
            headers=headers,
        ),
        "read": lambda: client.get(doc, headers=headers),
        "update": lambda: client.put(doc, json={"values": {}}, headers=edit),
        "send": lambda: client.post(f"{doc}/send", headers=edit),
        "delete": lambda: client.delete(doc, headers=edit),
        "validation": lambda: client.get(f"{doc}/validation", headers=headers),
        "versions": lambda: client.get(f"{doc}/versions", headers=headers),
        "version": lambda: client.get(f"{doc}/versions/1", headers=headers),
        "diff": lambda: client.get(f"{doc}/diff?from=1&to=1", headers=headers),
        "dcsa-export": lambda: client.get(f"{doc}/dcsa?allow_invalid=true", headers=headers),
        "template": lambda: client.post(f"{doc}/templates", json={"name": "t"}, headers=headers),
        "attachments": lambda: client.get(f"{doc}/attachments", headers=headers),
        "upload": lambda: client.post(
            f"{doc}/attachments?file_name=a.png",
            content=PNG,
            headers={**headers, "Content-Type": "image/png"},
        ),
    }
    return {name: (await call()).status_code for name, call in calls.items()}


class TestTradeParticipation:
    async def test_a_non_participant_gets_404_everywhere(
        self, client: httpx.AsyncClient, trade: Trade
    ) -> None:
        form = await created_form(client, trade, trade.shipper, "UL040", complete_si())
        statuses = await every_call(client, trade, form, trade.outsider.headers)
        assert set(statuses.values()) == {404}, statuses

    async def test_a_removed_participant_loses_access_at_once(
        self, client: httpx.AsyncClient, trades_client: httpx.AsyncClient, trade: Trade
    ) -> None:
        form = await created_form(client, trade, trade.shipper, "UL040", complete_si())
        url = f"/api/v1/forms/documents/{form['id']}"
        assert (await client.get(url, headers=trade.carrier.headers)).status_code == 200
        removed = await trades_client.delete(
            f"/api/v1/trades/{trade.id}/participants/{trade.carrier.id}",
            headers=trade.shipper.headers,
        )
        assert removed.status_code == 200, removed.text
        assert (await client.get(url, headers=trade.carrier.headers)).status_code == 404
        listing = await client.get(trade.documents, headers=trade.carrier.headers)
        assert listing.status_code == 404
        assert listing.json()["code"] == "trade_not_found"

    async def test_an_unknown_trade_is_404(self, client: httpx.AsyncClient, trade: Trade) -> None:
        response = await client.get(
            "/api/v1/forms/trades/00000000-0000-0000-0000-000000000001/documents",
            headers=trade.shipper.headers,
        )
        assert response.status_code == 404

    async def test_tokens_are_required_and_must_name_an_organisation(
        self, client: httpx.AsyncClient, trade: Trade, token_issuer: TestIssuer
    ) -> None:
        assert (await client.get(trade.documents)).status_code == 401
        service = token_issuer.auth(subject="svc-x", kind="service")
        assert (await client.get(trade.documents, headers=service)).status_code == 403


class TestFormTypePermission:
    @pytest.mark.parametrize(
        ("access", "expected"),
        [
            (
                "none",
                {
                    "read": 404, "validation": 404, "versions": 404, "version": 404, "diff": 404,
                    "dcsa-export": 404, "template": 404, "attachments": 404, "upload": 404,
                    "update": 404, "send": 404, "delete": 404, "dcsa-import": 404,
                },
            ),
            (
                "read",
                {
                    "read": 200, "validation": 200, "versions": 200, "version": 200, "diff": 200,
                    "dcsa-export": 200, "template": 201, "attachments": 200, "upload": 403,
                    "update": 403, "send": 403, "delete": 403, "dcsa-import": 403,
                },
            ),
        ],
    )  # fmt: skip
    async def test_none_hides_the_forms_and_read_allows_no_writes(
        self,
        client: httpx.AsyncClient,
        trade: Trade,
        access: str,
        expected: dict[str, int],
    ) -> None:
        form = await created_form(client, trade, trade.shipper, "UL040", complete_si())
        headers = trade.forwarder.with_forms(UL040=access)
        statuses = await every_call(client, trade, form, headers)
        assert {name: statuses[name] for name in expected} == expected
        listing = await client.get(trade.documents, headers=headers)
        listed = [item["form_type"] for item in listing.json()["items"]]
        assert ("UL040" in listed) is (access != "none")

    async def test_readwrite_may_edit_and_send(
        self, client: httpx.AsyncClient, trade: Trade
    ) -> None:
        form = await created_form(client, trade, trade.shipper, "UL040", complete_si())
        headers = trade.forwarder.with_forms(UL040="readwrite")
        edited = await client.put(
            f"/api/v1/forms/documents/{form['id']}",
            json={"values": complete_si() | {"bookingNo": "BKG-F"}},
            headers={**headers, "If-Match": form["etag"]},
        )
        assert edited.status_code == 200
        sent = await client.post(
            f"/api/v1/forms/documents/{form['id']}/send",
            headers={**headers, "If-Match": edited.headers["etag"]},
        )
        assert sent.status_code == 200

    async def test_permission_is_per_form_type(
        self, client: httpx.AsyncClient, trade: Trade
    ) -> None:
        si = await created_form(client, trade, trade.shipper, "UL040", complete_si())
        invoice = await created_form(client, trade, trade.shipper, "UL100", {"invoiceNo": "I"})
        headers = trade.carrier.with_forms(UL100="none", UL040="read")
        assert (
            await client.get(f"/api/v1/forms/documents/{invoice['id']}", headers=headers)
        ).status_code == 404
        assert (
            await client.get(f"/api/v1/forms/documents/{si['id']}", headers=headers)
        ).status_code == 200
        created = await client.post(
            trade.documents, json={"form_type": "UL100", "custom_id": "2"}, headers=headers
        )
        assert created.status_code == 404
        read_only = await client.post(
            trade.documents, json={"form_type": "UL040", "custom_id": "2"}, headers=headers
        )
        assert read_only.status_code == 403
        assert read_only.json()["code"] == "form_type_read_only"


async def test_when_the_trades_service_is_unreachable_nothing_is_shown(
    settings: Settings,
    token_issuer: TestIssuer,
    db_session: AsyncSession,
    service_token: StaticToken,
    trade: Trade,
) -> None:
    """Fail closed: no answer about the trade means no forms, as a 502 problem."""
    app = create_app(
        settings.model_copy(update={"trades_url": "http://127.0.0.1:9", "trades_timeout_s": 0.5}),
        token_verifier=token_issuer.verifier(),
        service_token=service_token,
    )
    use_test_session(app, db_session)
    async for client in asgi_client(app):
        response = await client.get(trade.documents, headers=trade.shipper.headers)
        assert response.status_code == 502
        assert response.json()["code"] == "upstream_unavailable"


class TestPartnerClients:
    """Partner systems act for their organisation with scopes, not per-form rights."""

    def client_headers(self, issuer: TestIssuer, org_id: str, *scopes: str) -> dict[str, str]:
        return issuer.auth(subject="mc_partner", kind="client", org_id=org_id, scopes=scopes)

    async def test_scopes_decide_what_a_partner_client_may_do(
        self, client: httpx.AsyncClient, trade: Trade, token_issuer: TestIssuer
    ) -> None:
        si = await created_form(client, trade, trade.shipper, "UL040", complete_si())
        slip = await created_form(client, trade, trade.shipper, "UL090", {"bookingNo": "B1"})
        url = f"/api/v1/forms/documents/{si['id']}"
        slip_url = f"/api/v1/forms/documents/{slip['id']}"
        org = trade.forwarder.id

        nothing = self.client_headers(token_issuer, org, "trades:read")
        assert (await client.get(url, headers=nothing)).status_code == 404

        slips_only = self.client_headers(token_issuer, org, "receiving-slips:read")
        assert (await client.get(url, headers=slips_only)).status_code == 404
        assert (await client.get(slip_url, headers=slips_only)).status_code == 200
        listed = await client.get(trade.documents, headers=slips_only)
        assert [item["form_type"] for item in listed.json()["items"]] == ["UL090"]

        reader = self.client_headers(token_issuer, org, "forms:read")
        read = await client.get(url, headers=reader)
        assert read.status_code == 200
        etag = read.headers["etag"]
        write = await client.put(url, json={"values": {}}, headers={**reader, "If-Match": etag})
        assert write.status_code == 403

        writer = self.client_headers(token_issuer, org, "forms:write")
        edited = await client.put(
            url,
            json={"values": complete_si() | {"bookingNo": "BKG-PARTNER"}},
            headers={**writer, "If-Match": etag},
        )
        assert edited.status_code == 200, edited.text

        outsider = self.client_headers(token_issuer, trade.outsider.id, "forms:write")
        assert (await client.get(url, headers=outsider)).status_code == 404
