"""The export journey in one story, through the gateway and every real process (issue #8).

The forwarder (a real organisation admin with a linked NACCS 利用者ID) opens an export trade and
invites the shipper, the carrier, a customs broker and the terminal. The carrier fills and sends the
booking confirmation, whose vessel and voyage flow into the shipper's S/I as shared items and are
locked there; the forwarder's container receiving slip reaches the terminal's partner client
(CONPAS-style listing for its terminal and gate date) and the terminal's webhook receiver. The ECR is
prefilled from the forms (no bundle), then EDA and EDC; customs time passes at the NACCS stand-in and
the permit comes back: on the trade's timeline, on the S/I's ``naccs_status``, at the shipper's webhook
receiver (verified with ``standardwebhooks``) and in a participant's in-app notifications. An
organisation outside the trade sees none of it, anywhere, and its webhook receiver gets nothing.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared.devstack.stack import NACCS_STANDIN, Stack
from tests.e2e.journey import filled, item, joined, linked_to_naccs, sent, with_form_rights
from tests.e2e.test_import_e2e import bearer
from tests.e2e.test_naccs_e2e import (
    BONDED_AREAS_CSV,
    COMPANIES_CSV,
    EDA_ENTRIES,
    PRODUCTS_CSV,
    VESSELS_CSV,
    an_org_admin,
)
from tests.e2e.test_naccs_forms_e2e import BOOKING_CONFIRMATION, SHIPPING_INSTRUCTIONS
from tests.e2e.test_notifications_e2e import (
    WEBHOOKS,
    notifications_for_tests,
    serving,
    wait_for,
)

BOOKING: dict[str, Any] = {
    **BOOKING_CONFIRMATION,
    "cutOffTimes": {"cyCutOff": "2026-11-29T17:00:00+09:00"},
}
ROLES = ("shipper", "carrier", "customs_broker", "terminal_operator")
TERMINAL = {"code": "1AW61", "name": "OHI CONTAINER TERMINAL", "bondedAreaCode": "1AW61"}
GATE_DATE = "2026-11-27"
CONTAINER_NO = "ONEU1234566"
# The shipper's commercial invoice: the prices EDA declares (its goods lines are the shared commodity).
INVOICE: dict[str, Any] = {
    "invoiceNo": "MD-2026-1199",
    "invoiceDate": "2026-11-20",
    "incoterms": "FOB",
    "currencyCode": "JPY",
    "totalAmount": 18500000,
    "commodity": [
        {
            **SHIPPING_INSTRUCTIONS["commodity"][0],
            "quantity": 80,
            "quantityUnitCode": "PCE",
            "unitPrice": 231250,
            "amount": 18500000,
            "currencyCode": "JPY",
        }
    ],
}
# What only the declarant decides: the declaration kind, and the goods' classification (the product
# master would remember it next time).
CLASSIFIED = {
    **EDA_ENTRIES,
    "lines.0.hs_code": "850152000",
    "lines.0.quantity1": "80",
    "lines.0.quantity1_unit": "NO",
    "lines.0.export_trade_control_code": "99999",
}
RECEIVING_SLIP: dict[str, Any] = {
    "terminal": TERMINAL,
    "plannedDeliveryDate": GATE_DATE,
    "containers": [{"containerNo": CONTAINER_NO, "sizeTypeCode": "45G1"}],
    "truckNumber": "品川 100 あ 12-34",
    "driverName": "港 太郎",
}


class Receivers:
    """One partner endpoint per organisation (``/hook/<name>``), each with its own signing secret;
    what arrives is verified with ``standardwebhooks`` and kept, a bad signature is counted."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}
        self.received: dict[str, list[dict[str, Any]]] = {}
        self.bad_signatures = 0
        self.lock = threading.Lock()

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            name = request.path_params["name"]
            body = await request.body()
            try:
                payload = Webhook(self.secrets[name]).verify(body, dict(request.headers.items()))
            except (KeyError, WebhookVerificationError):
                with self.lock:
                    self.bad_signatures += 1
                return Response(status_code=401)
            with self.lock:
                self.received.setdefault(name, []).append(payload)
            return JSONResponse({"ok": True})

        return Starlette(routes=[Route("/hook/{name}", hook, methods=["POST"])])

    def of_type(self, name: str, event_type: str) -> list[dict[str, Any]]:
        with self.lock:
            return [p for p in self.received.get(name, []) if p["type"] == event_type]

    def subscribe(
        self,
        gateway: httpx.Client,
        base_url: str,
        name: str,
        admin: dict[str, str],
        event_types: list[str],
    ) -> None:
        created = gateway.post(
            WEBHOOKS,
            json={"url": f"{base_url}/hook/{name}", "event_types": event_types},
            headers=admin,
        )
        assert created.status_code == 201, created.text
        self.secrets[name] = created.json()["secret"]


def test_the_export_journey_as_each_participant_sees_it(
    gateway: httpx.Client, stack: Stack, sign: Callable[..., str]
) -> None:
    # -- the forwarder: a real admin, who may write the receiving slip and is linked to NACCS ----
    tokens = an_org_admin(gateway, stack, "forwarder")
    forwarder = with_form_rights(
        gateway, tokens, {"UL090": "readwrite", "UL040": "read", "UL050": "read", "UL100": "read"}
    )
    linked_to_naccs(
        gateway,
        forwarder,
        "MNTEJ",
        {
            "companies": COMPANIES_CSV,
            "products": PRODUCTS_CSV,
            "bonded_areas": BONDED_AREAS_CSV,
            "vessels": VESSELS_CSV,
        },
    )

    shipper_org, carrier_org, broker_org, terminal_org, stranger_org = (
        str(uuid.uuid4()) for _ in range(5)
    )
    shipper = bearer(
        sign(
            org=shipper_org,
            roles=["org_admin"],
            btypes=["shipper"],
            forms={"UL040": "readwrite", "UL100": "readwrite", "UL050": "read"},
        )
    )
    carrier = bearer(sign(org=carrier_org, btypes=["carrier"], forms={"UL050": "readwrite"}))
    broker = bearer(
        sign(org=broker_org, btypes=["customs_broker"], forms={"UL040": "read", "UL050": "read"})
    )
    terminal = bearer(
        sign(org=terminal_org, roles=["org_admin"], btypes=["terminal"], forms={"UL090": "read"})
    )
    terminal_client = bearer(
        sign(kind="client", org=terminal_org, scope="receiving-slips:read", sub="conpas-client")
    )
    stranger = bearer(
        sign(
            org=stranger_org,
            roles=["org_admin"],
            forms={"UL040": "readwrite", "UL050": "read", "UL090": "read"},
        )
    )

    receivers = Receivers()
    with serving(receivers.app()) as hooks_url, notifications_for_tests(stack):
        receivers.subscribe(gateway, hooks_url, "shipper", shipper, ["naccs.*"])
        receivers.subscribe(gateway, hooks_url, "terminal", terminal, ["receiving_slip.*"])
        receivers.subscribe(gateway, hooks_url, "stranger", stranger, ["*"])

        # -- the trade and its participants ------------------------------------------------------
        trade = gateway.post(
            "/api/v1/trades",
            json={
                "direction": "export",
                "owner_role": "forwarder",
                "owner_display_name": "Minato FW",
            },
            headers={**forwarder, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert trade.status_code == 201, trade.text
        trade_id = trade.json()["id"]
        guests = ((shipper, shipper_org), (carrier, carrier_org), (broker, broker_org))
        for (guest, org), role in zip((*guests, (terminal, terminal_org)), ROLES, strict=True):
            joined(gateway, forwarder, trade_id, guest, org, role)

        # -- the booking: set once by the carrier, sent, it locks the voyage -----------------------
        booking = filled(gateway, carrier, trade_id, "UL050", BOOKING)
        etag = gateway.get(f"/api/v1/forms/documents/{booking['id']}", headers=carrier).headers[
            "ETag"
        ]
        booked = gateway.post(
            f"/api/v1/forms/documents/{booking['id']}/send",
            headers={**carrier, "If-Match": etag},
        )
        assert booked.status_code == 200, booked.text

        # -- the S/I: the shipper's own data, the voyage already there from the booking -------------
        si = filled(gateway, shipper, trade_id, "UL040", SHIPPING_INSTRUCTIONS)
        assert si["values"]["vessel"] == {"name": "ONE HARMONY"}
        assert si["values"]["voyageNumber"] == "025E"
        assert si["values"]["bookingNo"] == "ONEYTYOE77777700"
        locked = {f["path"]: f["locked_by"] for f in si["locked_fields"]}
        assert locked["vessel.name"] == ["UL050"], locked
        # The booking's lock refuses the shipper's edit of the vessel; nothing is written.
        read = gateway.get(f"/api/v1/forms/documents/{si['id']}", headers=shipper)
        refused = gateway.put(
            f"/api/v1/forms/documents/{si['id']}",
            json={"values": {**read.json()["values"], "vessel": {"name": "ONE HAMBURG"}}},
            headers={**shipper, "If-Match": read.headers["ETag"]},
        )
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "shared_items_locked"
        assert refused.json()["locked_fields"] == ["vessel.name"]
        assert (
            gateway.get(f"/api/v1/forms/documents/{si['id']}", headers=shipper).headers["ETag"]
            == read.headers["ETag"]
        )
        filled(gateway, shipper, trade_id, "UL100", INVOICE)
        # What the shipper set in the S/I (the consignee) is the trade's, as the broker sees it.
        shared = gateway.get(f"/api/v1/forms/trades/{trade_id}/shared-items", headers=broker)
        assert shared.status_code == 200, shared.text
        assert shared.json()["values"]["consignee"]["name"] == "Pacific Motion Supply Inc."
        assert {lock["path"]: lock["locked_by"] for lock in shared.json()["locks"]}[
            "vessel.name"
        ] == ["UL050"]

        # -- the container receiving slip, to the terminal -----------------------------------------
        slip = filled(gateway, forwarder, trade_id, "UL090", RECEIVING_SLIP)
        assert slip["values"]["vessel"] == {"name": "ONE HARMONY"}  # the shared voyage again

        def listed() -> list[dict[str, Any]]:
            response = gateway.get(
                "/api/v1/notifications/partners/terminal/receiving-slips",
                params={"terminal_code": TERMINAL["code"], "date": GATE_DATE},
                headers=terminal_client,
            )
            assert response.status_code == 200, response.text
            items: list[dict[str, Any]] = response.json()["items"]
            return items

        [gate] = wait_for(listed, 20, "the receiving slip at the terminal's listing")
        assert (gate["slip_id"], gate["trade_id"]) == (slip["id"], trade_id)
        assert gate["data"]["bookingNo"] == "ONEYTYOE77777700"
        assert gate["data"]["voyageNumber"] == "025E"
        assert gate["data"]["containers"][0]["containerNo"] == CONTAINER_NO
        [pushed] = wait_for(
            lambda: receivers.of_type("terminal", "receiving_slip.created"),
            20,
            "the receiving slip at the terminal's webhook receiver",
        )
        assert pushed["trade_id"] == trade_id
        assert pushed["data"]["receiving_slip"]["plannedDeliveryDate"] == GATE_DATE
        # Another terminal's gate (or the stranger, not in the trade) lists nothing of it.
        other_gate = gateway.get(
            "/api/v1/notifications/partners/terminal/receiving-slips",
            params={"terminal_code": "1AW99", "date": GATE_DATE},
            headers=terminal_client,
        )
        assert other_gate.json()["items"] == []
        stranger_client = bearer(
            sign(kind="client", org=stranger_org, scope="receiving-slips:read", sub="other-gate")
        )
        strangers_gate = gateway.get(
            "/api/v1/notifications/partners/terminal/receiving-slips",
            params={"terminal_code": TERMINAL["code"], "date": GATE_DATE},
            headers=stranger_client,
        )
        assert strangers_gate.json()["items"] == []

        # -- NACCS: ECR prefilled from the forms, EDA, EDC ------------------------------------------
        prepared = gateway.put(
            f"/api/v1/naccs/trades/{trade_id}/forms/ECR", json={}, headers=forwarder
        )
        assert prepared.status_code == 201, prepared.text
        ecr = prepared.json()
        assert item(ecr, "booking_no")["source"] == "form:BK.bookingNo"
        assert item(ecr, "marks")["source"] == "form:SI.marksAndNumbers"
        assert ecr["pending_for_person"] == ["carry_in.0.carry_in_date"]
        control_no = sent(
            gateway,
            forwarder,
            trade_id,
            "ECR",
            {"entries": {"carry_in.0.carry_in_date": GATE_DATE.replace("-", "")}},
        )["reference_no"]
        declaration_no = sent(gateway, forwarder, trade_id, "EDA", {"entries": CLASSIFIED})[
            "reference_no"
        ]
        assert sent(gateway, forwarder, trade_id, "EDC", {})["reference_no"] == declaration_no

        # -- customs time passes at the stand-in; the permit comes back by itself -----------------
        standin = stack.processes[NACCS_STANDIN.name].url
        assert httpx.post(f"{standin}/admin/clock", params={"advance_s": 180}).status_code == 200

        def permitted() -> dict[str, Any] | None:
            read = gateway.get(f"/api/v1/forms/documents/{si['id']}", headers=shipper)
            assert read.status_code == 200, read.text
            shown = {s["procedure"]: s for s in read.json()["naccs_status"]}
            state = shown.get("export_declaration", {}).get("state")
            return shown if state == "permitted" else None

        shown = wait_for(permitted, 25, "the permit on the shipper's S/I")
        assert shown["export_declaration"]["permit_no"] == declaration_no
        assert shown["export_cargo"]["number"] == control_no

        [permit] = wait_for(
            lambda: receivers.of_type("shipper", "naccs.permit"),
            20,
            "naccs.permit at the shipper's webhook receiver",
        )
        assert (permit["trade_id"], permit["data"]["declaration_no"]) == (trade_id, declaration_no)
        assert permit["data"]["direction"] == "export"

        # -- the timeline shows each step, to every participant ------------------------------------
        def timeline() -> list[tuple[str, str]] | None:
            response = gateway.get(
                f"/api/v1/trades/{trade_id}/timeline", params={"limit": 200}, headers=carrier
            )
            assert response.status_code == 200, response.text
            steps = [(entry["kind"], entry["summary"]) for entry in response.json()["items"]]
            return steps if any(kind == "naccs.permit" for kind, _ in steps) else None

        steps = wait_for(timeline, 20, "the permit on the trade's timeline")
        # Each step of the journey, in the order it happened.
        remaining = iter(steps)
        for kind, words in (
            ("trade.created", "created"),
            *(("participant.added", f"joined as {role}") for role in ROLES),
            ("form.sent", "UL050"),
            ("shared_items.locked", "locked by UL050"),
            ("form.created", "UL040"),
            ("trade.status_changed", "draft → booked"),
            ("receiving_slip.created", "receiving slip"),
            ("naccs.result", f"ECR: export cargo {control_no}"),
            ("naccs.result", f"EDA: export declaration {declaration_no}"),
            ("naccs.result", "EDC"),
            ("naccs.permit", declaration_no),
            ("trade.status_changed", "booked → cleared"),
        ):
            assert any(k == kind and words in summary for k, summary in remaining), (
                kind,
                words,
                steps,
            )

        # -- in-app: the shipper's organisation is told of the permit ------------------------------
        def in_inbox() -> list[dict[str, Any]]:
            inbox = gateway.get("/api/v1/notifications/inbox", headers=shipper)
            assert inbox.status_code == 200, inbox.text
            return [
                n
                for n in inbox.json()["items"]
                if n["type"] == "naccs.permit" and n["trade_id"] == trade_id
            ]

        [notice] = wait_for(in_inbox, 20, "naccs.permit in the shipper's in-app notifications")
        assert notice["title"]
        assert notice["read"] is False
        # The terminal asked for receiving slips only: the permit went to the shipper's receiver.
        assert receivers.of_type("terminal", "naccs.permit") == []

        # -- what each participant sees of the forms ----------------------------------------------
        def form_types(who: dict[str, str]) -> set[str]:
            listed = gateway.get(f"/api/v1/forms/trades/{trade_id}/documents", headers=who)
            assert listed.status_code == 200, listed.text
            return {d["form_type"] for d in listed.json()["items"]}

        assert form_types(forwarder) == {"UL040", "UL050", "UL100", "UL090"}
        assert form_types(shipper) == {"UL040", "UL050", "UL100"}
        assert form_types(broker) == {"UL040", "UL050"}  # what its rights cover
        assert form_types(carrier) == {"UL050"}  # no right on the shipper's S/I
        assert form_types(terminal) == {"UL090"}  # the gate data, nothing else
        for who in (carrier, terminal):  # the S/I is the shipper's, not theirs to read
            assert (
                gateway.get(f"/api/v1/forms/documents/{si['id']}", headers=who).status_code == 404
            )
        # The customs procedure as every participant sees it on the trade's NACCS forms.
        for who in (shipper, broker, forwarder):
            listed = gateway.get(f"/api/v1/naccs/trades/{trade_id}/forms", headers=who)
            assert listed.status_code == 200, listed.text
            assert {f["code"]: f["status"] for f in listed.json()} == {
                "ECR": "accepted",
                "EDA": "permitted",
                "EDC": "permitted",
            }

        # -- someone outside the trade sees none of it, wherever they ask -------------------------
        for path in (
            f"/api/v1/trades/{trade_id}",
            f"/api/v1/trades/{trade_id}/timeline",
            f"/api/v1/forms/trades/{trade_id}/documents",
            f"/api/v1/forms/documents/{si['id']}",
            f"/api/v1/forms/documents/{slip['id']}",
            f"/api/v1/naccs/trades/{trade_id}/forms",
            f"/api/v1/naccs/trades/{trade_id}/forms/ECR",
            f"/api/v1/naccs/trades/{trade_id}/output-messages",
        ):
            response = gateway.get(path, headers=stranger)
            assert response.status_code == 404, (path, response.status_code, response.text)
        # Nor can it write anything into the trade.
        for method, path, body in (
            ("POST", f"/api/v1/forms/trades/{trade_id}/documents", {"form_type": "UL040"}),
            ("PUT", f"/api/v1/naccs/trades/{trade_id}/forms/ECR", {}),
            ("POST", f"/api/v1/trades/{trade_id}/participants/me/accept", None),
        ):
            response = gateway.request(method, path, json=body, headers=stranger)
            assert response.status_code == 404, (path, response.status_code, response.text)
        events = gateway.get(
            "/api/v1/notifications/events", params={"trade_id": trade_id}, headers=stranger
        )
        assert events.status_code == 404, events.text
        inbox = gateway.get("/api/v1/notifications/inbox", headers=stranger).json()["items"]
        assert [n for n in inbox if n["trade_id"] == trade_id] == []
        # Everything the participants' receivers got has been delivered by now; the stranger's none.
        assert receivers.received.get("stranger", []) == []
        assert receivers.bad_signatures == 0
