"""DCSA import/export through the API, derivation with provenance, organisation templates."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx

from .conftest import Trade, complete_si, create_form, created_form

DCSA_EXAMPLES = Path(__file__).resolve().parents[5] / "shared" / "interop" / "dcsa"


def example(name: str) -> dict[str, Any]:
    path = DCSA_EXAMPLES / name
    assert path.exists(), f"DCSA example fixtures expected beside the repository: {path}"
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


class TestDcsa:
    async def test_shipping_instructions_round_trip_through_the_api(
        self, client: httpx.AsyncClient, trade: Trade
    ) -> None:
        payload = example("si/ebl303_create-si_regular.json")
        imported = await client.post(
            f"/api/v1/forms/trades/{trade.id}/dcsa/shipping-instructions",
            json=payload,
            headers=trade.shipper.headers,
        )
        assert imported.status_code == 201, imported.text
        form = imported.json()
        assert form["form_type"] == "UL040"
        assert form["values"]["dcsaOriginal"] == payload
        assert form["values"]["shipper"]["name"] == "DCSA CTK"
        assert form["values"]["commodity"][0]["hsCode"] == "640510"

        exported = await client.get(
            f"/api/v1/forms/documents/{form['id']}/dcsa", headers=trade.carrier.headers
        )
        assert exported.status_code == 200
        assert exported.json() == payload

        # The shared items flowed on: a B/L created now shows the imported shipper.
        bl = await created_form(client, trade, trade.carrier, "UL150")
        assert bl["values"]["shipper"]["name"] == "DCSA CTK"

        # An edit shows in the export; what we do not model survives.
        values = copy.deepcopy(form["values"])
        values["shipper"]["name"] = "DCSA CTK Japan"
        edited = await client.put(
            f"/api/v1/forms/documents/{form['id']}",
            json={"values": values},
            headers={**trade.shipper.headers, "If-Match": (await client.get(
                f"/api/v1/forms/documents/{form['id']}", headers=trade.shipper.headers
            )).headers["etag"]},
        )  # fmt: skip
        assert edited.status_code == 200, edited.text
        again = (
            await client.get(
                f"/api/v1/forms/documents/{form['id']}/dcsa", headers=trade.shipper.headers
            )
        ).json()
        assert again["documentParties"]["shipper"]["partyName"] == "DCSA CTK Japan"
        assert again["isCargoDeliveredInICS2Zone"] is False
        assert again["invoicePayableAt"] == payload["invoicePayableAt"]

    async def test_a_second_import_updates_the_form_and_needs_if_match(
        self, client: httpx.AsyncClient, trade: Trade
    ) -> None:
        payload = example("si/ebl303_create-si_regular.json")
        url = f"/api/v1/forms/trades/{trade.id}/dcsa/shipping-instructions"
        first = await client.post(url, json=payload, headers=trade.shipper.headers)
        update = copy.deepcopy(payload)
        update["documentParties"]["shipper"]["partyName"] = "DCSA CTK (updated)"
        missing = await client.post(url, json=update, headers=trade.shipper.headers)
        assert missing.status_code == 428
        updated = await client.post(
            url, json=update, headers={**trade.shipper.headers, "If-Match": first.headers["etag"]}
        )
        assert updated.status_code == 200
        assert updated.json()["id"] == first.json()["id"]
        assert updated.json()["values"]["shipper"]["name"] == "DCSA CTK (updated)"

    async def test_booking_import_makes_the_booking_request(
        self, client: httpx.AsyncClient, trade: Trade
    ) -> None:
        payload = example("booking/bkg204_create-booking_dry.json")
        imported = await client.post(
            f"/api/v1/forms/trades/{trade.id}/dcsa/booking",
            json=payload,
            headers=trade.shipper.headers,
        )
        assert imported.status_code == 201, imported.text
        assert imported.json()["form_type"] == "MX010"
        exported = await client.get(
            f"/api/v1/forms/documents/{imported.json()['id']}/dcsa", headers=trade.shipper.headers
        )
        assert exported.json() == payload

    async def test_invalid_codes_in_a_dcsa_document_are_refused_by_field(
        self, client: httpx.AsyncClient, trade: Trade
    ) -> None:
        payload = example("si/ebl303_create-si_regular.json")
        payload["consignmentItems"][0]["HSCodes"] = ["64"]
        response = await client.post(
            f"/api/v1/forms/trades/{trade.id}/dcsa/shipping-instructions",
            json=payload,
            headers=trade.shipper.headers,
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "values.commodity[0].hsCode"

    async def test_an_si_that_dcsa_would_refuse_is_not_exported_unless_asked(
        self, client: httpx.AsyncClient, trade: Trade
    ) -> None:
        draft = await created_form(client, trade, trade.shipper, "UL040", {"bookingNo": "B1"})
        url = f"/api/v1/forms/documents/{draft['id']}/dcsa"
        refused = await client.get(url, headers=trade.shipper.headers)
        assert refused.status_code == 422
        assert refused.json()["code"] == "dcsa_export_invalid"
        assert refused.json()["errors"]
        assert all(error["type"] == "dcsa" for error in refused.json()["errors"])
        anyway = await client.get(
            url, params={"allow_invalid": "true"}, headers=trade.shipper.headers
        )
        assert anyway.status_code == 200

    async def test_forms_without_a_dcsa_shape_are_not_exported(
        self, client: httpx.AsyncClient, trade: Trade
    ) -> None:
        invoice = await created_form(client, trade, trade.shipper, "UL100")
        response = await client.get(
            f"/api/v1/forms/documents/{invoice['id']}/dcsa", headers=trade.shipper.headers
        )
        assert response.status_code == 422
        assert response.json()["code"] == "not_dcsa_exportable"


class TestDerivation:
    async def test_receiving_slip_from_the_si_with_field_provenance(
        self, client: httpx.AsyncClient, trade: Trade
    ) -> None:
        si_values = complete_si() | {
            "containers": [{"containerNo": "MSCU6634879", "sizeTypeCode": "45G1"}],
            "vessel": {"name": "ONE HARMONY"},
            "voyageNumber": "012E",
        }
        si = await created_form(client, trade, trade.shipper, "UL040", si_values)
        preview = await client.get(
            f"/api/v1/forms/trades/{trade.id}/derivations/preview",
            params={"form_type": "UL090"},
            headers=trade.forwarder.headers,
        )
        assert preview.status_code == 200, preview.text
        assert preview.json()["values"]["containers"][0]["containerNo"] == "MSCU6634879"
        assert preview.json()["derived_from"] == [si["id"]]
        listing = await client.get(trade.documents, headers=trade.forwarder.headers)
        assert [item["form_type"] for item in listing.json()["items"]] == ["UL040"]  # nothing made
        unknown = await client.get(
            f"/api/v1/forms/trades/{trade.id}/derivations/preview",
            params={"form_type": "UL999"},
            headers=trade.forwarder.headers,
        )
        assert unknown.status_code == 422

        response = await client.post(
            f"/api/v1/forms/trades/{trade.id}/derivations",
            json={"form_type": "UL090"},
            headers=trade.forwarder.headers,
        )
        assert response.status_code == 201, response.text
        derived = response.json()
        assert derived["created"] is True
        assert derived["derived_from"] == [si["id"]]
        document = derived["document"]
        assert document["form_type"] == "UL090"
        assert document["values"]["containers"][0]["containerNo"] == "MSCU6634879"
        origin = document["provenance"]["containers[0].containerNo"]
        assert origin == {
            "source": "derivation",
            "source_form_id": si["id"],
            "source_form_type": "UL040",
            "source_path": "containers[0].containerNo",
            "rule": "copied",
        }

        again = await client.post(
            f"/api/v1/forms/trades/{trade.id}/derivations",
            json={"form_type": "UL090"},
            headers=trade.forwarder.headers,
        )
        assert again.status_code == 200
        assert again.json()["document"]["id"] == document["id"]

    async def test_no_upstream_form_is_a_problem(
        self, client: httpx.AsyncClient, trade: Trade
    ) -> None:
        response = await client.post(
            f"/api/v1/forms/trades/{trade.id}/derivations",
            json={"form_type": "UL090"},
            headers=trade.forwarder.headers,
        )
        assert response.status_code == 422
        assert response.json()["code"] == "no_derivation_route"

    async def test_upstream_forms_the_caller_cannot_read_are_not_used(
        self, client: httpx.AsyncClient, trade: Trade
    ) -> None:
        await created_form(client, trade, trade.shipper, "UL040", complete_si())
        response = await client.post(
            f"/api/v1/forms/trades/{trade.id}/derivations",
            json={"form_type": "UL090"},
            headers=trade.forwarder.with_forms(UL040="none"),
        )
        assert response.status_code == 422


class TestTemplates:
    async def test_save_a_form_as_template_and_create_from_it_in_another_trade(
        self, client: httpx.AsyncClient, trade: Trade, trades_client: httpx.AsyncClient
    ) -> None:
        si_values = complete_si() | {"documentNo": "SI-0001"}
        si = await created_form(client, trade, trade.shipper, "UL040", si_values)
        saved = await client.post(
            f"/api/v1/forms/documents/{si['id']}/templates",
            json={"name": "ACME Hamburg"},
            headers=trade.shipper.headers,
        )
        assert saved.status_code == 201, saved.text
        template = saved.json()
        assert "documentNo" not in template["values"]
        duplicate = await client.post(
            f"/api/v1/forms/documents/{si['id']}/templates",
            json={"name": "ACME Hamburg"},
            headers=trade.shipper.headers,
        )
        assert duplicate.status_code == 409

        listed = await client.get(
            "/api/v1/forms/templates", params={"form_type": "UL040"}, headers=trade.shipper.headers
        )
        assert [t["id"] for t in listed.json()] == [template["id"]]
        others = await client.get("/api/v1/forms/templates", headers=trade.carrier.headers)
        assert others.json() == []  # templates belong to one organisation

        new_trade = await trades_client.post(
            "/api/v1/trades",
            json={"direction": "export", "owner_role": "shipper", "owner_display_name": "M"},
            headers=trade.shipper.headers,
        )
        assert new_trade.status_code == 201, new_trade.text
        created = await client.post(
            f"/api/v1/forms/trades/{new_trade.json()['id']}/documents",
            json={
                "form_type": "UL040",
                "template_id": template["id"],
                "values": {"bookingNo": "BKG-NEW"},
            },
            headers=trade.shipper.headers,
        )
        assert created.status_code == 201, created.text
        values = created.json()["values"]
        assert values["consignee"] == {"name": "ACME GmbH"}
        assert values["bookingNo"] == "BKG-NEW"
        provenance = created.json()["provenance"]
        assert provenance["consignee.name"] == {"source": "template", "template_id": template["id"]}
        assert "bookingNo" not in provenance

        from_carrier = await create_form(
            client, trade, trade.carrier, "UL040", custom_id="2", template_id=template["id"]
        )
        assert from_carrier.status_code == 404

        deleted = await client.delete(
            f"/api/v1/forms/templates/{template['id']}", headers=trade.shipper.headers
        )
        assert deleted.status_code == 204
