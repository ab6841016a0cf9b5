"""Form documents: idempotent create, ETag edits, validation, statuses, versions, lists, events."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from .conftest import Trade, complete_si, create_form, created_form, outbox_events, outbox_topics


def doc_url(form_id: str, suffix: str = "") -> str:
    return f"/api/v1/forms/documents/{form_id}{suffix}"


async def etag_of(client: httpx.AsyncClient, trade: Trade, form_id: str) -> str:
    response = await client.get(doc_url(form_id), headers=trade.shipper.headers)
    assert response.status_code == 200, response.text
    return response.headers["etag"]


async def count(session: AsyncSession, table: str, trade_id: str) -> int:
    column = "trade_id" if table != "form_version" else "form_id"
    if table == "form_version":
        statement = (
            "SELECT count(*) FROM form_version v JOIN form_document d ON d.id = v.form_id "
            "WHERE d.trade_id = :t"
        )
    else:
        statement = f"SELECT count(*) FROM {table} WHERE {column} = :t"
    return int((await session.execute(text(statement), {"t": trade_id})).scalar_one())


class TestCreate:
    async def test_create_is_idempotent_per_trade_type_and_custom_id(
        self, client: httpx.AsyncClient, trade: Trade, db_session: AsyncSession
    ) -> None:
        first = await create_form(client, trade, trade.shipper, "UL040", complete_si())
        assert first.status_code == 201
        assert first.headers["etag"] == first.json()["etag"]
        assert first.headers["location"] == doc_url(first.json()["id"])

        again = await create_form(client, trade, trade.forwarder, "UL040", {"bookingNo": "OTHER"})
        assert again.status_code == 200
        assert again.json()["id"] == first.json()["id"]
        assert again.json()["values"]["bookingNo"] == "BKG123"  # the existing form, unchanged

        second_slip = await create_form(client, trade, trade.shipper, "UL090", custom_id="CNTR-2")
        first_slip = await create_form(client, trade, trade.shipper, "UL090", custom_id="CNTR-1")
        assert second_slip.status_code == first_slip.status_code == 201
        assert second_slip.json()["id"] != first_slip.json()["id"]
        assert await count(db_session, "form_document", trade.id) == 3

    async def test_idempotency_key_replays_the_first_answer(
        self, client: httpx.AsyncClient, trade: Trade, db_session: AsyncSession
    ) -> None:
        body = {"form_type": "UL100", "values": {"invoiceNo": "INV-1"}}
        headers = {**trade.shipper.headers, "Idempotency-Key": "create-invoice-1"}
        first = await client.post(trade.documents, json=body, headers=headers)
        replay = await client.post(trade.documents, json=body, headers=headers)
        assert first.status_code == replay.status_code == 201
        assert replay.json() == first.json()
        assert replay.headers["idempotent-replayed"] == "true"
        assert replay.headers["etag"] == first.headers["etag"]

        other = await client.post(trade.documents, json={**body, "custom_id": "B"}, headers=headers)
        assert other.status_code == 422
        assert other.json()["code"] == "idempotency_key_reused"
        assert await count(db_session, "form_document", trade.id) == 1
        assert (await outbox_topics(db_session, trade.id)).count("form.created") == 1

    async def test_invalid_codes_are_refused_by_field_and_nothing_is_written(
        self, client: httpx.AsyncClient, trade: Trade, db_session: AsyncSession
    ) -> None:
        values = complete_si() | {
            "containers": [{"containerNo": "MSCU6634871", "sizeTypeCode": "22X1"}],
            "portOfLoading": {"code": "JPTY"},
        }
        response = await create_form(client, trade, trade.shipper, "UL040", values)
        assert response.status_code == 422
        problem = response.json()
        assert problem["code"] == "form_values_invalid"
        fields = {error["field"]: error for error in problem["errors"]}
        assert fields["values.containers[0].containerNo"]["type"] == "container_number_check_digit"
        assert fields["values.containers[0].containerNo"]["pointer"] == (
            "/values/containers/0/containerNo"
        )
        assert "values.containers[0].sizeTypeCode" in fields
        assert "values.portOfLoading.code" in fields
        assert all(error["message_ja"] for error in problem["errors"])
        for table in ("form_document", "trade_shared_items", "outbox_message", "form_version"):
            assert await count(db_session, table, trade.id) == 0, table

    async def test_unknown_form_type_and_unknown_fields_name_the_field(
        self, client: httpx.AsyncClient, trade: Trade
    ) -> None:
        response = await create_form(client, trade, trade.shipper, "UL999")
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "form_type"
        typo = await create_form(client, trade, trade.shipper, "UL040", {"shiper": {"name": "x"}})
        assert typo.status_code == 422
        assert typo.json()["errors"][0]["field"] == "values.shiper"

    async def test_values_are_normalised_by_the_form_schema(
        self, client: httpx.AsyncClient, trade: Trade
    ) -> None:
        form = await created_form(
            client, trade, trade.shipper, "UL040", {"bookingNo": "  BKG9  ", "totalPackages": "12"}
        )
        assert form["values"]["bookingNo"] == "BKG9"
        assert form["values"]["totalPackages"] == 12


class TestEdit:
    async def test_edit_needs_if_match_412_when_stale_428_when_missing(
        self, client: httpx.AsyncClient, trade: Trade, db_session: AsyncSession
    ) -> None:
        form = await created_form(client, trade, trade.shipper, "UL040", complete_si())
        etag = form["etag"]
        missing = await client.put(
            doc_url(form["id"]), json={"values": complete_si()}, headers=trade.shipper.headers
        )
        assert missing.status_code == 428

        alice = complete_si() | {"bookingNo": "BKG-A"}
        bob = complete_si() | {"bookingNo": "BKG-B"}
        first = await client.put(
            doc_url(form["id"]),
            json={"values": alice},
            headers={**trade.shipper.headers, "If-Match": etag},
        )
        second = await client.put(
            doc_url(form["id"]),
            json={"values": bob},
            headers={**trade.forwarder.headers, "If-Match": etag},
        )
        assert first.status_code == 200
        assert first.json()["version"] == 2
        assert first.headers["etag"] != etag
        assert second.status_code == 412
        assert second.json()["current_etag"] == first.headers["etag"]
        current = await client.get(doc_url(form["id"]), headers=trade.shipper.headers)
        assert current.json()["values"]["bookingNo"] == "BKG-A"
        assert (await outbox_topics(db_session, trade.id)).count("form.updated") == 1

    async def test_an_edit_that_changes_nothing_makes_no_version(
        self, client: httpx.AsyncClient, trade: Trade
    ) -> None:
        form = await created_form(client, trade, trade.shipper, "UL040", complete_si())
        same = await client.put(
            doc_url(form["id"]),
            json={"values": form["values"]},
            headers={**trade.shipper.headers, "If-Match": form["etag"]},
        )
        assert same.status_code == 200
        assert same.json()["version"] == 1
        assert same.headers["etag"] == form["etag"]

    async def test_invalid_edit_changes_nothing(
        self, client: httpx.AsyncClient, trade: Trade, db_session: AsyncSession
    ) -> None:
        form = await created_form(client, trade, trade.shipper, "UL040", complete_si())
        bad = complete_si() | {"shipper": {"name": "X", "corporateNumber": "8000012050002"}}
        response = await client.put(
            doc_url(form["id"]),
            json={"values": bad},
            headers={**trade.shipper.headers, "If-Match": form["etag"]},
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "values.shipper.corporateNumber"
        assert await etag_of(client, trade, form["id"]) == form["etag"]
        assert await outbox_topics(db_session, trade.id) == [
            "form.created",
            "shared_items.updated",
        ]


class TestStatus:
    async def test_send_needs_a_clean_report_which_names_the_fields(
        self, client: httpx.AsyncClient, trade: Trade
    ) -> None:
        form = await created_form(client, trade, trade.shipper, "UL040", {"bookingNo": "B1"})
        report = await client.get(doc_url(form["id"], "/validation"), headers=trade.shipper.headers)
        assert report.status_code == 200
        assert report.json()["can_save_draft"] is True
        assert report.json()["can_send"] is False
        missing = {issue["path"] for issue in report.json()["missing"]}
        assert {"shipper.name", "consignee.name"} <= missing

        refused = await client.post(
            doc_url(form["id"], "/send"),
            headers={**trade.shipper.headers, "If-Match": form["etag"]},
        )
        assert refused.status_code == 422
        assert refused.json()["code"] == "form_not_ready_to_send"
        fields = {error["field"] for error in refused.json()["errors"]}
        assert {"values.shipper.name", "values.consignee.name"} <= fields
        assert (await client.get(doc_url(form["id"]), headers=trade.shipper.headers)).json()[
            "status"
        ] == "draft"

    async def test_draft_sent_acknowledged_unsent_cancelled(
        self, client: httpx.AsyncClient, trade: Trade, db_session: AsyncSession
    ) -> None:
        form = await created_form(client, trade, trade.shipper, "UL040", complete_si())

        async def step(org_headers: dict[str, str], action: str) -> httpx.Response:
            etag = await etag_of(client, trade, form["id"])
            return await client.post(
                doc_url(form["id"], f"/{action}"), headers={**org_headers, "If-Match": etag}
            )

        assert (await step(trade.shipper.headers, "send")).json()["status"] == "sent"
        own_ack = await step(trade.shipper.headers, "acknowledge")
        assert own_ack.status_code == 409
        acknowledged = await step(trade.carrier.headers, "acknowledge")
        assert acknowledged.json()["status"] == "acknowledged"
        assert (await step(trade.shipper.headers, "send")).status_code == 409
        assert (await step(trade.shipper.headers, "unsend")).json()["status"] == "draft"
        assert (await step(trade.carrier.headers, "cancel")).status_code == 403
        assert (await step(trade.shipper.headers, "cancel")).json()["status"] == "cancelled"
        edit = await client.put(
            doc_url(form["id"]),
            json={"values": complete_si()},
            headers={
                **trade.shipper.headers,
                "If-Match": await etag_of(client, trade, form["id"]),
            },
        )
        assert edit.status_code == 409

        topics = await outbox_topics(db_session, trade.id)
        for topic in ("form.created", "form.sent", "form.acknowledged", "form.unsent",
                      "form.cancelled"):  # fmt: skip
            assert topic in topics
        sent = next(
            e for e in await outbox_events(db_session, trade.id) if e["topic"] == "form.sent"
        )
        assert sent["version"] == 1
        assert sent["payload"]["form_id"] == form["id"]
        assert sent["payload"]["form_type"] == "UL040"
        assert sent["payload"]["status"] == "sent"
        assert sent["payload"]["actor"]["org_id"] == trade.shipper.id

    async def test_only_the_creating_organisation_deletes(
        self, client: httpx.AsyncClient, trade: Trade, db_session: AsyncSession
    ) -> None:
        form = await created_form(client, trade, trade.shipper, "UL100", {"invoiceNo": "I-1"})
        by_other = await client.delete(
            doc_url(form["id"]), headers={**trade.forwarder.headers, "If-Match": form["etag"]}
        )
        assert by_other.status_code == 403
        assert by_other.json()["code"] == "not_creating_organisation"
        deleted = await client.delete(
            doc_url(form["id"]), headers={**trade.shipper.headers, "If-Match": form["etag"]}
        )
        assert deleted.status_code == 204
        gone = await client.get(doc_url(form["id"]), headers=trade.shipper.headers)
        assert gone.status_code == 404
        assert "form.deleted" in await outbox_topics(db_session, trade.id)
        # The custom id is free again: a new form of that type can be created.
        again = await create_form(client, trade, trade.shipper, "UL100")
        assert again.status_code == 201


class TestVersions:
    async def test_every_change_is_a_version_and_any_two_can_be_compared(
        self, client: httpx.AsyncClient, trade: Trade
    ) -> None:
        form = await created_form(client, trade, trade.shipper, "UL040", complete_si())
        v2_values = complete_si()
        v2_values["commodity"][0]["grossWeight"] = 12500
        v2_values["notifyParty"] = {"name": "ACME Logistics"}
        v2_values["marksAndNumbers"] = None
        v2 = await client.put(
            doc_url(form["id"]),
            json={"values": v2_values},
            headers={**trade.shipper.headers, "If-Match": form["etag"]},
        )
        assert v2.status_code == 200
        sent = await client.post(
            doc_url(form["id"], "/send"),
            headers={**trade.shipper.headers, "If-Match": v2.headers["etag"]},
        )
        assert sent.status_code == 422  # marks are required: the report blocks the send

        versions = await client.get(doc_url(form["id"], "/versions"), headers=trade.carrier.headers)
        assert [(v["version"], v["change"]) for v in versions.json()] == [
            (1, "created"),
            (2, "updated"),
        ]
        first = await client.get(doc_url(form["id"], "/versions/1"), headers=trade.carrier.headers)
        assert first.json()["values"]["marksAndNumbers"] == "ACME HAMBURG 1-400"

        diff = await client.get(
            doc_url(form["id"], "/diff"), params={"from": 1, "to": 2}, headers=trade.carrier.headers
        )
        assert diff.status_code == 200
        changes = {c["path"]: c for c in diff.json()["changes"]}
        assert changes["commodity[0].grossWeight"] == {
            "path": "commodity[0].grossWeight",
            "op": "changed",
            "before": 12000,
            "after": 12500,
        }
        assert changes["notifyParty.name"]["op"] == "added"
        assert changes["marksAndNumbers"]["op"] == "removed"
        assert len(changes) == 3

        backwards = await client.get(
            doc_url(form["id"], "/diff"), params={"from": 2, "to": 1}, headers=trade.carrier.headers
        )
        assert {c["path"]: c["op"] for c in backwards.json()["changes"]}["marksAndNumbers"] == (
            "added"
        )
        missing = await client.get(
            doc_url(form["id"], "/diff"), params={"from": 1, "to": 9}, headers=trade.carrier.headers
        )
        assert missing.status_code == 404

    async def test_versions_cannot_be_rewritten(
        self, client: httpx.AsyncClient, trade: Trade, db_session: AsyncSession
    ) -> None:
        form = await created_form(client, trade, trade.shipper, "UL040", complete_si())
        savepoint = await db_session.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):
            await db_session.execute(
                text("UPDATE form_version SET values = '{}' WHERE form_id = :f"),
                {"f": form["id"]},
            )
        await savepoint.rollback()
        with pytest.raises(DBAPIError, match="append-only"):
            async with db_session.begin_nested():
                await db_session.execute(
                    text("DELETE FROM form_version WHERE form_id = :f"), {"f": form["id"]}
                )


class TestList:
    async def test_keyset_pages_and_filters(self, client: httpx.AsyncClient, trade: Trade) -> None:
        ids = []
        for index in range(5):
            form = (
                await created_form(
                    client, trade, trade.shipper, "UL090", {"bookingNo": f"B{index}"}
                )
                if index == 0
                else (
                    await create_form(client, trade, trade.shipper, "UL090", custom_id=f"C{index}")
                ).json()
            )
            ids.append(form["id"])
        invoice = await created_form(client, trade, trade.shipper, "UL100")

        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 2, "form_type": "UL090"}
            if cursor:
                params["cursor"] = cursor
            page = await client.get(trade.documents, params=params, headers=trade.shipper.headers)
            assert page.status_code == 200
            seen += [item["id"] for item in page.json()["items"]]
            cursor = page.json()["next_cursor"]
            if cursor is None:
                break
        assert seen == ids

        both = await client.get(
            trade.documents, params={"form_type": ["UL090", "UL100"]}, headers=trade.shipper.headers
        )
        assert len(both.json()["items"]) == 6
        by_custom = await client.get(
            trade.documents, params={"custom_id": "C3"}, headers=trade.shipper.headers
        )
        assert [item["id"] for item in by_custom.json()["items"]] == [ids[3]]
        drafts = await client.get(
            trade.documents, params={"status": "sent"}, headers=trade.shipper.headers
        )
        assert drafts.json()["items"] == []
        assert invoice["id"] not in seen

        bad = await client.get(
            trade.documents, params={"cursor": "!!"}, headers=trade.shipper.headers
        )
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "query.cursor"


class TestReceivingSlipEvents:
    async def test_ul090_emits_its_own_events_with_the_gate_data(
        self, client: httpx.AsyncClient, trade: Trade, db_session: AsyncSession
    ) -> None:
        slip = await created_form(
            client,
            trade,
            trade.forwarder,
            "UL090",
            {"bookingNo": "BKG1", "containers": [{"containerNo": "MSCU6634879"}]},
        )
        await client.put(
            doc_url(slip["id"]),
            json={"values": {"bookingNo": "BKG1", "truckNumber": "品川 100 あ 12-34"}},
            headers={**trade.forwarder.headers, "If-Match": slip["etag"]},
        )
        events = await outbox_events(db_session, trade.id)
        topics = [e["topic"] for e in events]
        assert topics.count("receiving_slip.created") == 1
        assert topics.count("receiving_slip.updated") == 1
        created = next(e for e in events if e["topic"] == "receiving_slip.created")
        assert created["payload"]["receiving_slip"]["containers"] == [
            {"containerNo": "MSCU6634879"}
        ]
        updated = next(e for e in events if e["topic"] == "receiving_slip.updated")
        assert updated["payload"]["changed_paths"] == ["truckNumber"]


class TestConditionalRead:
    async def test_if_none_match_with_the_current_etag_is_304(
        self, client: httpx.AsyncClient, trade: Trade
    ) -> None:
        form = await created_form(client, trade, trade.shipper, "UL040", complete_si())
        unchanged = await client.get(
            doc_url(form["id"]), headers={**trade.shipper.headers, "If-None-Match": form["etag"]}
        )
        assert unchanged.status_code == 304
        assert unchanged.content == b""
        await created_form(client, trade, trade.shipper, "UL150", {"consignee": {"name": "New"}})
        changed = await client.get(
            doc_url(form["id"]), headers={**trade.shipper.headers, "If-None-Match": form["etag"]}
        )
        assert changed.status_code == 200  # a shared item changed through another form
        assert changed.json()["values"]["consignee"] == {"name": "New"}


class TestChangedSince:
    async def test_updated_since_lists_what_changed(
        self, client: httpx.AsyncClient, trade: Trade
    ) -> None:
        first = await created_form(client, trade, trade.shipper, "UL100", {"invoiceNo": "I-1"})
        await created_form(client, trade, trade.shipper, "UL120", {"invoiceNo": "I-1"})
        edited = await client.put(
            doc_url(first["id"]),
            json={"values": {"invoiceNo": "I-2"}},
            headers={
                **trade.shipper.headers,
                "If-Match": await etag_of(client, trade, first["id"]),
            },
        )
        since = edited.json()["updated_at"]
        changed = await client.get(
            trade.documents, params={"updated_since": since}, headers=trade.shipper.headers
        )
        assert [item["id"] for item in changed.json()["items"]] == [first["id"]]
        naive = await client.get(
            trade.documents,
            params={"updated_since": "2026-11-22T09:00:00"},
            headers=trade.shipper.headers,
        )
        assert naive.status_code == 422
        assert naive.json()["errors"][0]["field"] == "query.updated_since"
