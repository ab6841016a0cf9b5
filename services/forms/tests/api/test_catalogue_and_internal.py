"""The form catalogue API, the OpenAPI document, and the NACCS bridge's bundle endpoint."""

from __future__ import annotations

import httpx

from shared.testing.tokens import TestIssuer

from .conftest import Trade, complete_si, created_form


class TestCatalogue:
    async def test_lists_every_form_type_with_labels_and_roles(
        self, client: httpx.AsyncClient, trade: Trade
    ) -> None:
        response = await client.get("/api/v1/form-types", headers=trade.shipper.headers)
        assert response.status_code == 200
        types = {item["code"]: item for item in response.json()}
        assert len(types) == 37
        si = types["UL040"]
        assert si["name_ja"] == "船積依頼書(S/I)"
        assert si["name_en"] == "Shipping instructions"
        assert si["code_source"] == "cyberport"
        assert si["is_trigger"] is True
        assert "shipper" in si["creators"]
        assert "carrier" in si["receivers"]
        assert types["UL100"]["is_trigger"] is False
        assert {code for code, t in types.items() if t["is_trigger"]} == {
            "UL040",
            "UL050",
            "UL150",
            "UL290",
        }

    async def test_one_form_type_carries_its_json_schema_and_send_guide(
        self, client: httpx.AsyncClient, trade: Trade
    ) -> None:
        response = await client.get("/api/v1/form-types/UL040", headers=trade.shipper.headers)
        assert response.status_code == 200
        detail = response.json()
        schema = detail["json_schema"]
        assert "consignee" in schema["properties"]
        assert schema["additionalProperties"] is False
        required = {item["path"]: item for item in detail["required_for_send"]}
        assert required["consignee.name"]["label_ja"].startswith("荷受人")
        assert required["consignee.name"]["label_en"].startswith("Consignee")
        assert "consignee" in detail["locks"]
        assert detail["requirement_source"]

    async def test_unknown_code_is_404_and_a_token_is_required(
        self, client: httpx.AsyncClient, trade: Trade
    ) -> None:
        missing = await client.get("/api/v1/form-types/XX000", headers=trade.shipper.headers)
        assert missing.status_code == 404
        assert missing.json()["code"] == "form_type_not_found"
        assert (await client.get("/api/v1/form-types")).status_code == 401

    async def test_openapi_describes_every_route(self, client: httpx.AsyncClient) -> None:
        document = (await client.get("/openapi.json")).json()
        paths = document["paths"]
        for path in (
            "/api/v1/form-types",
            "/api/v1/forms/trades/{trade_id}/documents",
            "/api/v1/forms/documents/{form_id}",
            "/api/v1/forms/documents/{form_id}/send",
            "/api/v1/forms/documents/{form_id}/diff",
            "/api/v1/forms/documents/{form_id}/attachments",
            "/api/v1/forms/trades/{trade_id}/dcsa/{kind}",
            "/api/v1/forms/trades/{trade_id}/derivations",
            "/internal/trades/{trade_id}/naccs-bundle",
        ):
            assert path in paths, path


class TestNaccsBundle:
    async def test_service_token_with_forms_read_gets_the_trades_forms(
        self, client: httpx.AsyncClient, trade: Trade, token_issuer: TestIssuer
    ) -> None:
        await created_form(client, trade, trade.shipper, "UL040", complete_si())
        await created_form(client, trade, trade.shipper, "UL100", {"invoiceNo": "INV-7"})
        url = f"/internal/trades/{trade.id}/naccs-bundle"
        bridge = token_issuer.auth(
            subject="svc-naccs_bridge", kind="service", scopes=["forms:read"]
        )
        response = await client.get(url, headers=bridge)
        assert response.status_code == 200, response.text
        bundle = response.json()
        assert bundle["SI"]["consignee"] == {"name": "ACME GmbH"}
        assert bundle["IV"]["invoiceNo"] == "INV-7"
        assert bundle["IV"]["consignee"] == {"name": "ACME GmbH"}  # shared items merged in
        assert bundle["shared"]["bookingNo"] == "BKG123"
        assert "BL" not in bundle

    async def test_an_invoice_lines_product_code_reaches_the_bridge_and_the_other_forms(
        self, client: httpx.AsyncClient, trade: Trade, token_issuer: TestIssuer
    ) -> None:
        # The bridge looks the product code up in the product master (classification, statistical
        # units, control codes): entered once on the invoice, it prefills the declaration lines.
        await created_form(
            client,
            trade,
            trade.shipper,
            "UL100",
            {
                "invoiceNo": "INV-9",
                "commodity": [{"productCode": " SRV-750 ", "description": "Servo motor"}],
            },
        )
        bridge = token_issuer.auth(
            subject="svc-naccs_bridge", kind="service", scopes=["forms:read"]
        )
        bundle = (
            await client.get(f"/internal/trades/{trade.id}/naccs-bundle", headers=bridge)
        ).json()
        assert bundle["IV"]["commodity"][0]["productCode"] == "SRV-750"
        # A goods line is a shared item: the S/I made afterwards starts with the same code.
        si = await created_form(client, trade, trade.shipper, "UL040", {})
        assert si["values"]["commodity"][0]["productCode"] == "SRV-750"
        too_long = await client.post(
            trade.documents,
            json={
                "form_type": "UL120",
                "values": {"commodity": [{"productCode": "X" * 65}]},
            },
            headers=trade.shipper.headers,
        )
        assert too_long.status_code == 422, too_long.text
        assert too_long.json()["errors"][0]["field"] == "values.commodity[0].productCode"

    async def test_a_cancelled_form_feeds_nothing_and_a_live_one_of_its_type_takes_over(
        self, client: httpx.AsyncClient, trade: Trade, token_issuer: TestIssuer
    ) -> None:
        withdrawn = await created_form(
            client, trade, trade.shipper, "UL100", {"invoiceNo": "INV-WITHDRAWN"}
        )
        form_url = f"/api/v1/forms/documents/{withdrawn['id']}"
        etag = (await client.get(form_url, headers=trade.shipper.headers)).headers["ETag"]
        cancelled = await client.post(
            f"{form_url}/cancel", headers={**trade.shipper.headers, "If-Match": etag}
        )
        assert cancelled.json()["status"] == "cancelled", cancelled.text
        bridge = token_issuer.auth(
            subject="svc-naccs_bridge", kind="service", scopes=["forms:read"]
        )
        url = f"/internal/trades/{trade.id}/naccs-bundle"
        assert "IV" not in (await client.get(url, headers=bridge)).json()

        await client.post(
            trade.documents,
            json={"form_type": "UL100", "custom_id": "REISSUED", "values": {"invoiceNo": "INV-8"}},
            headers=trade.shipper.headers,
        )
        assert (await client.get(url, headers=bridge)).json()["IV"]["invoiceNo"] == "INV-8"

    async def test_users_and_unscoped_services_are_refused(
        self, client: httpx.AsyncClient, trade: Trade, token_issuer: TestIssuer
    ) -> None:
        url = f"/internal/trades/{trade.id}/naccs-bundle"
        assert (await client.get(url, headers=trade.shipper.headers)).status_code == 403
        other = token_issuer.auth(subject="svc-x", kind="service", scopes=["internal:call"])
        assert (await client.get(url, headers=other)).status_code == 403
        bridge = token_issuer.auth(
            subject="svc-naccs_bridge", kind="service", scopes=["forms:read"]
        )
        assert (await client.get(url, headers=bridge)).status_code == 404  # no forms yet


async def test_the_json_schema_carries_ja_en_labels(
    client: httpx.AsyncClient, trade: Trade
) -> None:
    schema = (await client.get("/api/v1/form-types/UL040", headers=trade.shipper.headers)).json()[
        "json_schema"
    ]
    assert schema["properties"]["consignee"]["label_ja"] == "荷受人"
    assert schema["properties"]["consignee"]["label_en"] == "Consignee"
