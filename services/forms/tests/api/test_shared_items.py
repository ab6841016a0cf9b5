"""Shared items (the trade's root document) and the edit locks of sent trigger forms."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from .conftest import Trade, complete_si, created_form, outbox_events, outbox_topics


async def read(client: httpx.AsyncClient, trade: Trade, form_id: str) -> httpx.Response:
    response = await client.get(f"/api/v1/forms/documents/{form_id}", headers=trade.shipper.headers)
    assert response.status_code == 200, response.text
    return response


async def put(
    client: httpx.AsyncClient, trade: Trade, form_id: str, values: dict[str, Any], **headers: str
) -> httpx.Response:
    etag = (await read(client, trade, form_id)).headers["etag"]
    return await client.put(
        f"/api/v1/forms/documents/{form_id}",
        json={"values": values},
        headers={**trade.shipper.headers, "If-Match": etag, **headers},
    )


async def act(client: httpx.AsyncClient, trade: Trade, form_id: str, action: str) -> httpx.Response:
    etag = (await read(client, trade, form_id)).headers["etag"]
    return await client.post(
        f"/api/v1/forms/documents/{form_id}/{action}",
        headers={**trade.shipper.headers, "If-Match": etag},
    )


class TestSharedValues:
    async def test_editing_the_consignee_in_the_si_changes_it_in_the_bl_draft(
        self, client: httpx.AsyncClient, trade: Trade, db_session: AsyncSession
    ) -> None:
        si = await created_form(client, trade, trade.shipper, "UL040", complete_si())
        bl = await created_form(client, trade, trade.shipper, "UL150")
        assert bl["values"]["consignee"] == {"name": "ACME GmbH"}

        edited = complete_si() | {"consignee": {"name": "ACME Hamburg GmbH", "city": "Hamburg"}}
        response = await put(client, trade, si["id"], edited)
        assert response.status_code == 200, response.text

        bl_now = (await read(client, trade, bl["id"])).json()
        assert bl_now["values"]["consignee"] == {"name": "ACME Hamburg GmbH", "city": "Hamburg"}
        shared = await client.get(
            f"/api/v1/forms/trades/{trade.id}/shared-items", headers=trade.carrier.headers
        )
        assert shared.json()["values"]["consignee"]["name"] == "ACME Hamburg GmbH"
        update = [
            e for e in await outbox_events(db_session, trade.id)
            if e["topic"] == "shared_items.updated"
        ][-1]  # fmt: skip
        assert update["payload"]["paths"] == ["consignee.city", "consignee.name"]
        assert update["payload"]["form_id"] == si["id"]
        assert update["payload"]["shared_items_version"] == shared.json()["version"]

    async def test_form_only_fields_stay_on_their_form(
        self, client: httpx.AsyncClient, trade: Trade
    ) -> None:
        await created_form(client, trade, trade.shipper, "UL040", complete_si())
        invoice = await created_form(
            client,
            trade,
            trade.shipper,
            "UL100",
            {
                "invoiceNo": "INV-1",
                "commodity": [{"description": "Shoes - black", "unitPrice": 12}],
            },
        )
        si = await client.get(trade.documents, headers=trade.shipper.headers)
        si_id = next(item["id"] for item in si.json()["items"] if item["form_type"] == "UL040")
        si_view = (await read(client, trade, si_id)).json()["values"]
        assert "unitPrice" not in si_view["commodity"][0]
        assert "invoiceNo" not in si_view
        invoice_view = (await read(client, trade, invoice["id"])).json()["values"]
        assert invoice_view["commodity"][0]["unitPrice"] == 12
        assert invoice_view["commodity"][0]["hsCode"] == "640510"  # shared, from the S/I

    async def test_a_stale_copy_read_before_another_form_changed_a_shared_item_is_412(
        self, client: httpx.AsyncClient, trade: Trade
    ) -> None:
        si = await created_form(client, trade, trade.shipper, "UL040", complete_si())
        bl = await created_form(client, trade, trade.shipper, "UL150")
        stale_bl = await read(client, trade, bl["id"])
        assert (
            await put(client, trade, si["id"], complete_si() | {"consignee": {"name": "X"}})
        ).status_code == 200

        response = await client.put(
            f"/api/v1/forms/documents/{bl['id']}",
            json={"values": stale_bl.json()["values"]},
            headers={**trade.shipper.headers, "If-Match": stale_bl.headers["etag"]},
        )
        assert response.status_code == 412
        assert (await read(client, trade, bl["id"])).json()["values"]["consignee"] == {"name": "X"}


class TestLocks:
    async def test_sent_si_locks_its_items_in_the_bl_but_not_in_itself_and_unsend_releases(
        self, client: httpx.AsyncClient, trade: Trade, db_session: AsyncSession
    ) -> None:
        si = await created_form(client, trade, trade.shipper, "UL040", complete_si())
        bl = await created_form(client, trade, trade.shipper, "UL150")
        sent = await act(client, trade, si["id"], "send")
        assert sent.status_code == 200, sent.text
        assert sent.json()["status"] == "sent"

        bl_view = (await read(client, trade, bl["id"])).json()
        locked = {item["path"]: item["locked_by"] for item in bl_view["locked_fields"]}
        assert locked["consignee.name"] == ["UL040"]
        assert locked["shipper.name"] == ["UL040"]

        changed = bl_view["values"] | {
            "consignee": {"name": "Someone Else"},
            "shipper": {"name": "Other Shipper", "addressLines": ["1-1 Kaigan, Minato-ku"]},
        }
        events_before = await outbox_topics(db_session, trade.id)
        bl_etag = (await read(client, trade, bl["id"])).headers["etag"]
        refused = await put(client, trade, bl["id"], changed)
        assert refused.status_code == 409, refused.text
        assert (await read(client, trade, bl["id"])).headers["etag"] == bl_etag  # nothing written
        assert await outbox_topics(db_session, trade.id) == events_before
        problem = refused.json()
        assert problem["code"] == "shared_items_locked"
        assert problem["locked_fields"] == ["consignee.name", "shipper.name"]
        assert {e["field"] for e in problem["errors"]} == {
            "values.consignee.name",
            "values.shipper.name",
        }
        assert all(e["locked_by"] == ["UL040"] for e in problem["errors"])
        assert "UL040" in problem["errors"][0]["message_ja"]
        assert (await read(client, trade, bl["id"])).json()["values"]["consignee"] == {
            "name": "ACME GmbH"
        }

        # Fields the S/I left empty are not locked: the B/L may fill them.
        notify = bl_view["values"] | {"notifyParty": {"name": "ACME Logistics"}}
        assert (await put(client, trade, bl["id"], notify)).status_code == 200

        # The trigger form itself stays editable, and its edit flows to the B/L.
        si_edit = complete_si() | {"consignee": {"name": "ACME Hamburg GmbH"}}
        assert (await put(client, trade, si["id"], si_edit)).status_code == 200
        assert (await read(client, trade, bl["id"])).json()["values"]["consignee"] == {
            "name": "ACME Hamburg GmbH"
        }

        unsent = await act(client, trade, si["id"], "unsend")
        assert unsent.json()["status"] == "draft"
        assert (await read(client, trade, bl["id"])).json()["locked_fields"] == []
        assert (await put(client, trade, bl["id"], changed)).status_code == 200

        topics = await outbox_topics(db_session, trade.id)
        assert topics.count("shared_items.locked") >= 1
        assert "shared_items.unlocked" in topics
        events = await outbox_events(db_session, trade.id)
        locked_event = next(e for e in events if e["topic"] == "shared_items.locked")
        assert locked_event["version"] == 1
        assert "consignee.name" in locked_event["payload"]["paths"]
        assert locked_event["payload"]["form_type"] == "UL040"

    async def test_creating_a_form_that_contradicts_a_lock_writes_nothing(
        self, client: httpx.AsyncClient, trade: Trade, db_session: AsyncSession
    ) -> None:
        si = await created_form(client, trade, trade.shipper, "UL040", complete_si())
        assert (await act(client, trade, si["id"], "send")).status_code == 200
        before = await outbox_topics(db_session, trade.id)

        response = await client.post(
            trade.documents,
            json={"form_type": "UL150", "values": {"consignee": {"name": "Other"}}},
            headers=trade.carrier.headers,
        )
        assert response.status_code == 409
        assert response.json()["locked_fields"] == ["consignee.name"]
        listing = await client.get(trade.documents, headers=trade.shipper.headers)
        assert [item["form_type"] for item in listing.json()["items"]] == ["UL040"]
        assert await outbox_topics(db_session, trade.id) == before

        # The same value as the lock is no change: the B/L can be created with it.
        same = await client.post(
            trade.documents,
            json={"form_type": "UL150", "values": {"consignee": {"name": "ACME GmbH"}}},
            headers=trade.carrier.headers,
        )
        assert same.status_code == 201, same.text

    async def test_among_many_forms_only_sent_triggers_lock_and_a_create_finds_its_custom_id(
        self, client: httpx.AsyncClient, trade: Trade
    ) -> None:
        """A create or an edit reads only the trade's sent trigger forms and the form it names:
        what it answers must be what reading every form gave."""
        drafts = [
            await client.post(
                trade.documents,
                json={"form_type": code, "custom_id": f"draft-{n}", "values": {}},
                headers=trade.shipper.headers,
            )
            for n, code in enumerate(["UL150", "UL050", "UL100", "UL150", "UL040", "UL120"])
        ]
        assert all(d.status_code == 201 for d in drafts), [d.text for d in drafts]
        si = await created_form(client, trade, trade.shipper, "UL040", complete_si())
        assert (await act(client, trade, si["id"], "send")).status_code == 200
        etag = (await read(client, trade, si["id"])).headers["etag"]
        acknowledged = await client.post(
            f"/api/v1/forms/documents/{si['id']}/acknowledge",
            headers={**trade.carrier.headers, "If-Match": etag},
        )
        assert acknowledged.status_code == 200, acknowledged.text
        assert acknowledged.json()["status"] == "acknowledged"  # still holds its locks

        refused = await client.post(
            trade.documents,
            json={"form_type": "UL150", "custom_id": "new", "values": {"consignee": {"name": "X"}}},
            headers=trade.carrier.headers,
        )
        assert refused.status_code == 409, refused.text
        assert refused.json()["locked_fields"] == ["consignee.name"]

        again = await client.post(
            trade.documents,
            json={"form_type": "UL150", "custom_id": "draft-3", "values": {}},
            headers=trade.shipper.headers,
        )
        assert again.status_code == 200, again.text
        assert again.json()["id"] == drafts[3].json()["id"]
        locked = {item["path"]: item["locked_by"] for item in again.json()["locked_fields"]}
        assert locked["consignee.name"] == ["UL040"]

        created = await client.post(
            trade.documents,
            json={"form_type": "UL150", "custom_id": "new", "values": {}},
            headers=trade.carrier.headers,
        )
        assert created.status_code == 201, created.text
        assert created.json()["values"]["consignee"] == {"name": "ACME GmbH"}
        assert {item["path"] for item in created.json()["locked_fields"]} >= {
            "consignee.name",
            "shipper.name",
        }
        # A draft edited under the lock is refused on the locked field only.
        draft_bl = drafts[0].json()["id"]
        view = (await read(client, trade, draft_bl)).json()
        assert {item["path"] for item in view["locked_fields"]} >= {"consignee.name"}
        edited = await put(client, trade, draft_bl, view["values"] | {"consignee": {"name": "Y"}})
        assert edited.status_code == 409, edited.text
        filled = await put(client, trade, draft_bl, view["values"] | {"notifyParty": {"name": "N"}})
        assert filled.status_code == 200, filled.text

        # Cancelled, the S/I holds nothing any more.
        etag = (await read(client, trade, si["id"])).headers["etag"]
        cancelled = await client.post(
            f"/api/v1/forms/documents/{si['id']}/cancel",
            headers={**trade.shipper.headers, "If-Match": etag},
        )
        assert cancelled.status_code == 200, cancelled.text
        assert (await read(client, trade, draft_bl)).json()["locked_fields"] == []
        shared = await client.get(
            f"/api/v1/forms/trades/{trade.id}/shared-items", headers=trade.shipper.headers
        )
        assert shared.json()["locks"] == []

    async def test_deleting_the_sent_trigger_releases_its_locks(
        self, client: httpx.AsyncClient, trade: Trade
    ) -> None:
        si = await created_form(client, trade, trade.shipper, "UL040", complete_si())
        bl = await created_form(client, trade, trade.shipper, "UL150")
        assert (await act(client, trade, si["id"], "send")).status_code == 200
        etag = (await read(client, trade, si["id"])).headers["etag"]
        deleted = await client.delete(
            f"/api/v1/forms/documents/{si['id']}",
            headers={**trade.shipper.headers, "If-Match": etag},
        )
        assert deleted.status_code == 204
        bl_view = (await read(client, trade, bl["id"])).json()
        assert bl_view["locked_fields"] == []
        assert bl_view["values"]["consignee"] == {"name": "ACME GmbH"}  # the shared value stays

    async def test_shared_items_endpoint_lists_locks_with_their_holders(
        self, client: httpx.AsyncClient, trade: Trade
    ) -> None:
        si = await created_form(client, trade, trade.shipper, "UL040", complete_si())
        assert (await act(client, trade, si["id"], "send")).status_code == 200
        response = await client.get(
            f"/api/v1/forms/trades/{trade.id}/shared-items", headers=trade.forwarder.headers
        )
        locks = {lock["path"]: lock for lock in response.json()["locks"]}
        assert locks["marksAndNumbers"]["locked_by"] == ["UL040"]
        assert locks["marksAndNumbers"]["holder_form_ids"] == [si["id"]]


class TestSharedItemsVisibility:
    async def test_the_root_document_shows_only_groups_of_readable_form_types(
        self, client: httpx.AsyncClient, trade: Trade
    ) -> None:
        values = complete_si() | {"containers": [{"containerNo": "MSCU6634879"}]}
        await created_form(client, trade, trade.shipper, "UL040", values)
        url = f"/api/v1/forms/trades/{trade.id}/shared-items"
        nothing = dict.fromkeys(trade.carrier.forms, "none")
        hidden = await client.get(url, headers=trade.carrier.with_forms(**nothing))
        assert hidden.status_code == 200
        assert hidden.json()["values"] == {}

        invoice_only = await client.get(
            url, headers=trade.carrier.with_forms(**(nothing | {"UL100": "read"}))
        )
        shown = invoice_only.json()["values"]
        assert shown["consignee"] == {"name": "ACME GmbH"}
        assert "commodity" in shown
        assert "containers" not in shown  # the invoice does not carry containers


class TestEachTriggerLocksItsOwnSet:
    async def test_a_sent_booking_confirmation_locks_the_voyage_not_the_parties(
        self, client: httpx.AsyncClient, trade: Trade
    ) -> None:
        confirmation = {
            "bookingNo": "BKG123",
            "scacCode": "ONEY",
            "vessel": {"name": "ONE HARMONY"},
            "voyageNumber": "012E",
            "portOfLoading": {"code": "JPTYO"},
            "portOfDischarge": {"code": "DEHAM"},
            "estimatedDepartureDate": "2026-12-01",
            "containerRequests": [{"sizeTypeCode": "45G1", "quantity": 1}],
            "cutOffTimes": {"cyCutOff": "2026-11-29T17:00:00+09:00"},
            "consignee": {"name": "ACME GmbH"},
        }
        ul050 = await created_form(client, trade, trade.carrier, "UL050", confirmation)
        etag = (await read(client, trade, ul050["id"])).headers["etag"]
        sent = await client.post(
            f"/api/v1/forms/documents/{ul050['id']}/send",
            headers={**trade.carrier.headers, "If-Match": etag},
        )
        assert sent.status_code == 200, sent.text

        si = await created_form(client, trade, trade.shipper, "UL040")
        moved = si["values"] | {"vessel": {"name": "ONE HAMBURG"}}
        refused = await put(client, trade, si["id"], moved)
        assert refused.status_code == 409
        assert refused.json()["locked_fields"] == ["vessel.name"]
        renamed = si["values"] | {"consignee": {"name": "ACME Hamburg GmbH"}}
        assert (await put(client, trade, si["id"], renamed)).status_code == 200
