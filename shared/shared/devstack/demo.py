"""The demo world of ``make demo``: organisations of every business type, a login for each, and trades
at different stages, all made through the gateway's public API as a person would make them.

Idempotent: every step first looks whether its result is already there (an organisation by its
法人番号, a trade by its house reference, a participant, a status, a form, a NACCS form's state), so a
second run changes nothing and a run that was interrupted finishes the rest.

Development only. It needs a platform operator's token (``make demo`` logs in as the operator the
gateway seeds in dev, an account that cannot exist in production: the gateway refuses its setting
there), it reads invitation codes from the dev mail sink, and it refuses any gateway not on this
machine.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from shared.codes import corporate_number_check_digit

# Every demo user signs in with this password; TOTP is off for the demo organisations
# (``require_totp: false``, which any organisation may choose), so the e-mail and this suffice.
DEMO_PASSWORD = "harbour-demo-2026"  # noqa: S105 - a published dev-only login
DEMO_DOMAIN = "demo.minato.dev"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

Say = Callable[[str], None]


class DemoError(RuntimeError):
    """The demo world could not be made; the message says which step and why."""


@dataclass(frozen=True)
class DemoOrg:
    key: str  # the login's subdomain: admin@<key>.demo.minato.dev
    name_ja: str
    name_en: str
    corporate_base: str  # 12 digits; the check digit is computed
    business_type: str
    trade_role: str  # its role when it joins a trade
    scac: str | None = None
    naccs_user_code: str | None = None

    @property
    def corporate_number(self) -> str:
        return f"{corporate_number_check_digit(self.corporate_base)}{self.corporate_base}"

    @property
    def email(self) -> str:
        return f"admin@{self.key}.{DEMO_DOMAIN}"


ORGS: tuple[DemoOrg, ...] = (
    DemoOrg(
        "shipper", "港電機株式会社", "Minato Denki Co., Ltd.", "090000000001", "shipper", "shipper"
    ),
    DemoOrg(
        "forwarder",
        "港フォワーディング株式会社",
        "Minato Forwarding K.K.",
        "090000000002",
        "forwarder",
        "forwarder",
        naccs_user_code="MNTFW",
    ),
    DemoOrg(
        "broker",
        "港通関株式会社",
        "Minato Customs Brokerage K.K.",
        "090000000003",
        "customs_broker",
        "customs_broker",
        naccs_user_code="MNTCB",
    ),
    DemoOrg(
        "carrier",
        "港海運株式会社",
        "Minato Line K.K.",
        "090000000004",
        "carrier",
        "carrier",
        scac="MNLU",
    ),
    DemoOrg(
        "nvocc", "港エクスプレス株式会社", "Minato Express K.K.", "090000000005", "nvocc", "nvocc"
    ),
    DemoOrg(
        "warehouse",
        "大井倉庫株式会社",
        "Ohi Warehouse K.K.",
        "090000000006",
        "warehouse",
        "warehouse",
    ),
    DemoOrg(
        "trucker", "港運送株式会社", "Minato Trucking K.K.", "090000000007", "trucker", "trucker"
    ),
    DemoOrg(
        "terminal",
        "大井コンテナターミナル株式会社",
        "Ohi Container Terminal K.K.",
        "090000000008",
        "terminal_operator",
        "terminal_operator",
    ),
    DemoOrg(
        "port",
        "東京港管理事務所",
        "Port of Tokyo Office",
        "090000000009",
        "port_authority",
        "consignee",
    ),
)
BY_KEY = {org.key: org for org in ORGS}
SHIPPER = BY_KEY["shipper"]

VESSEL = {"name": "MINATO MARU", "call_sign": "7JMN2"}
# The forwarder's NACCS master data (its customs software's tables): the shipper, the product, the
# bonded area the container goes to, the vessel.
MASTER_CSV = {
    "companies": (
        "company_id,name_en,corporate_number,postal_code,address1,address2,address3,phone\n"
        f'minato-denki,"MINATO DENKI CO., LTD.",{SHIPPER.corporate_number},1080023,TOKYO TO,'
        "MINATO KU,3-4-1 SHIBAURA,03-5555-0101\n"
    ),
    "products": (
        "product_code,hs_code,quantity_unit1,quantity_unit2,export_control_code\n"
        "SRV-750,850152000,NO,KG,99999\n"
    ),
    "bonded_areas": "code,name,customs_office,customs_department\n1AW61,OHI CONTAINER TERMINAL,1A,61\n",
    "vessels": f"name,call_sign,nationality\n{VESSEL['name']},{VESSEL['call_sign']},JP\n",
}
# What only the customs broker decides for an export declaration (申告種別 etc.).
EDA_ENTRIES = {"declaration_type": "E", "invoice_identification": "B", "price_class": "A"}


def export_bundle(booking_no: str, invoice_no: str) -> dict[str, Any]:
    """The forms a NACCS export declaration reads (S/I, booking, invoice), as the bridge takes them."""
    return {
        "SI": {
            "shipper": {"companyId": "minato-denki", "name": "MINATO DENKI CO., LTD."},
            "consignee": {
                "name": "Pacific Motion Supply Inc.",
                "address": "1200 Harbor Blvd, Long Beach, CA, United States",
                "postalCode": "90802",
                "countryCode": "US",
            },
            "bookingNo": booking_no,
            "scacCode": "MNLU",
            "vessel": {"name": VESSEL["name"]},
            "voyageNumber": "101E",
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
            "invoiceNo": invoice_no,
            "carryInDate": "2026-12-10",
        },
        "BK": {
            "bookingNo": booking_no,
            "scacCode": "MNLU",
            "vessel": {"name": VESSEL["name"]},
            "portOfLoading": {"code": "JPTYO"},
            "portOfDischarge": {"code": "USLAX"},
            "estimatedDepartureDate": "2026-12-14",
            "returnFacility": {"bondedAreaCode": "1AW61"},
            "cargoMovementType": "FCL",
            "containerRequests": [{"sizeTypeCode": "45G1", "quantity": 1}],
        },
        "IV": {
            "invoiceNo": invoice_no,
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


def shipping_instructions(booking_no: str, invoice_no: str) -> dict[str, Any]:
    """The shipper's S/I (UL040) in the forms service, the same cargo as the NACCS bundle."""
    return {
        "shipper": {"name": "MINATO DENKI CO., LTD.", "corporateNumber": SHIPPER.corporate_number},
        "consignee": {
            "name": "Pacific Motion Supply Inc.",
            "addressLines": ["1200 Harbor Blvd"],
            "city": "Long Beach",
            "postalCode": "90802",
            "countryCode": "US",
        },
        "bookingNo": booking_no,
        "scacCode": "MNLU",
        "vessel": {"name": VESSEL["name"]},
        "voyageNumber": "101E",
        "portOfLoading": {"code": "JPTYO"},
        "portOfDischarge": {"code": "USLAX"},
        "commodity": [
            {
                "description": "Industrial AC servo motors",
                "packages": 80,
                "packageUnitCode": "CT",
                "grossWeight": 3500,
                "grossWeightUnitCode": "KGM",
            }
        ],
        "marksAndNumbers": "PMS LOS ANGELES",
        "totalPackages": 80,
        "totalPackagesUnitCode": "CT",
        "commodityTotalGrossWeight": 3500,
        "commodityTotalGrossWeightUnitCode": "KGM",
        "invoiceNo": invoice_no,
    }


ARRIVAL_NOTICE: dict[str, Any] = {
    "billOfLading": {"blNo": "MNLUSGNE00020100"},
    "shipper": {
        "name": "SAIGON WOOD FURNITURE CO., LTD.",
        "addressLines": ["12 Nguyen Hue Street", "District 1"],
        "city": "Ho Chi Minh City",
        "postalCode": "700000",
        "countryCode": "VN",
    },
    "consignee": {
        "name": "MINATO DENKI CO., LTD.",
        "corporateNumber": SHIPPER.corporate_number,
        "addressLines": ["3-4-1 Shibaura", "Minato-ku"],
        "city": "Tokyo",
        "countryCode": "JP",
    },
    "vessel": {"name": VESSEL["name"]},
    "voyageNumber": "102N",
    "portOfLoading": {"code": "VNSGN"},
    "portOfDischarge": {"code": "JPTYO"},
    "estimatedArrivalDate": "2026-12-12",
    "commodity": [
        {
            "description": "Wooden dining chairs",
            "packages": 300,
            "packageUnitCode": "CT",
            "grossWeight": 2100,
            "grossWeightUnitCode": "KGM",
        }
    ],
    "marksAndNumbers": "MD TOKYO 1-300",
    "totalPackages": 300,
    "totalPackagesUnitCode": "CT",
    "commodityTotalGrossWeight": 2100,
    "commodityTotalGrossWeightUnitCode": "KGM",
    "containers": [{"containerNo": "MNLU1234563", "sizeTypeCode": "45G1"}],
    "storageFacility": {"name": "OHI CONTAINER TERMINAL", "bondedAreaCode": "1AW61"},
    "charges": [{"description": "Ocean freight", "amount": 1850, "currencyCode": "USD"}],
    "freeTimeExpiryDate": "2026-12-19",
}


@dataclass(frozen=True)
class DemoTrade:
    reference: str  # the forwarder's house reference: how a second run finds the trade
    stage: str  # what a newcomer sees, for the summary
    direction: str
    statuses: tuple[str, ...]  # the path from draft to where the trade stands
    participants: tuple[str, ...]  # organisations invited by the forwarder (the owner)
    booking_no: str | None = None
    bl_no: str | None = None
    invoice_no: str = ""
    shipping_instructions: bool = False
    naccs: tuple[str, ...] = ()  # NACCS procedures sent, in order (ECR, EDA, EDC)
    arrival_notice: bool = False
    fields: Mapping[str, Any] = field(default_factory=dict)


EXPORT_FIELDS = {
    "carrier_scac": "MNLU",
    "vessel": VESSEL,
    "voyage_no": "101E",
    "port_of_loading": "JPTYO",
    "port_of_discharge": "USLAX",
    "etd": "2026-12-14",
    "eta": "2026-12-28",
}
TRADES: tuple[DemoTrade, ...] = (
    DemoTrade(
        "DEMO-EXP-1-BOOKED",
        "export, booked",
        "export",
        ("booked",),
        ("shipper", "carrier"),
        booking_no="MNLUTYO000101",
        fields=EXPORT_FIELDS,
    ),
    DemoTrade(
        "DEMO-EXP-2-SI",
        "export, S/I filled by the shipper",
        "export",
        ("booked", "documents"),
        ("shipper", "carrier", "broker"),
        booking_no="MNLUTYO000102",
        invoice_no="MD-2026-0102",
        shipping_instructions=True,
        fields=EXPORT_FIELDS,
    ),
    DemoTrade(
        "DEMO-EXP-3-ECR",
        "export, ECR (輸出貨物情報登録) sent to NACCS",
        "export",
        ("booked", "documents"),
        ("shipper", "carrier", "broker", "trucker"),
        booking_no="MNLUTYO000103",
        invoice_no="MD-2026-0103",
        shipping_instructions=True,
        naccs=("ECR",),
        fields=EXPORT_FIELDS,
    ),
    DemoTrade(
        "DEMO-EXP-4-PERMIT",
        "export, declared (EDA/EDC) and permitted",
        "export",
        ("booked", "documents"),
        ("shipper", "carrier", "broker", "trucker", "terminal", "warehouse"),
        booking_no="MNLUTYO000104",
        invoice_no="MD-2026-0104",
        shipping_instructions=True,
        naccs=("ECR", "EDA", "EDC"),
        fields=EXPORT_FIELDS,
    ),
    DemoTrade(
        "DEMO-IMP-5-AN",
        "import, arrival notice (A/N) sent by the carrier",
        "import",
        ("booked", "shipped", "arrived"),
        ("shipper", "carrier", "broker", "nvocc", "port"),
        bl_no="MNLUSGNE00020100",
        arrival_notice=True,
        fields={
            "carrier_scac": "MNLU",
            "vessel": VESSEL,
            "voyage_no": "102N",
            "port_of_loading": "VNSGN",
            "port_of_discharge": "JPTYO",
            "etd": "2026-12-01",
            "eta": "2026-12-12",
        },
    ),
)
NACCS_DONE = {
    "ECR": ("accepted",),
    "EDA": ("accepted", "permitted"),
    "EDC": ("accepted", "permitted"),
}
NACCS_IN_FLIGHT = ("queued", "sending")


def refuse_unless_local(url: str) -> None:
    """Seeding writes known logins with a published password: only ever on this machine."""
    host = urlsplit(url).hostname or ""
    if host not in LOOPBACK_HOSTS:
        raise DemoError(f"The demo world is seeded only into a gateway on this machine, not {url}")


class DemoWorld:
    """Seeds the world through ``gateway`` with a platform operator's token."""

    def __init__(
        self,
        gateway: httpx.Client,
        *,
        operator_token: str,
        mail_url: str,
        say: Say = lambda _line: None,
        permit_timeout_s: float = 240.0,
        naccs_standin_url: str | None = None,
    ) -> None:
        refuse_unless_local(str(gateway.base_url))
        if naccs_standin_url:
            refuse_unless_local(naccs_standin_url)
        self.http = gateway
        self.operator = {"Authorization": f"Bearer {operator_token}"}
        self.mail_url = mail_url.rstrip("/")
        self.say = say
        self.permit_timeout_s = permit_timeout_s
        # The NACCS stand-in (dev and tests): customs time is let pass there instead of waited for.
        self.naccs_standin_url = naccs_standin_url.rstrip("/") if naccs_standin_url else None
        self.org_ids: dict[str, str] = {}
        self.tokens: dict[str, dict[str, str]] = {}
        self.trade_ids: dict[str, str] = {}

    # -- plumbing -----------------------------------------------------------------------------------
    def call(
        self,
        method: str,
        path: str,
        *,
        who: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200, 201, 202, 204),
        **kwargs: Any,
    ) -> httpx.Response:
        headers = {**(who or {}), **kwargs.pop("headers", {})}
        response = self.http.request(method, path, headers=headers, **kwargs)
        if response.status_code not in ok:
            raise DemoError(
                f"{method} {path} answered {response.status_code}: {response.text[:600]}"
            )
        return response

    def as_org(self, key: str) -> dict[str, str]:
        return self.tokens[key]

    # -- organisations and logins -------------------------------------------------------------------
    def seed(self) -> None:
        started = time.monotonic()
        self.seed_organisations()
        self.prepare_naccs()
        for trade in TRADES:
            self.seed_trade(trade)
        self.say(f"demo world ready in {time.monotonic() - started:.1f}s")

    def seed_organisations(self) -> None:
        existing: dict[str, str] = {}
        page_size = 200
        for offset in range(0, 100 * page_size, page_size):
            page = self.call(
                "GET",
                "/api/v1/orgs",
                who=self.operator,
                params={"limit": page_size, "offset": offset},
            ).json()["items"]
            existing.update({org["corporate_number"]: org["id"] for org in page})
            if len(page) < page_size:
                break
        for org in ORGS:
            org_id = existing.get(org.corporate_number)
            created = org_id is None
            if org_id is None:
                org_id = self.create_organisation(org)
                self.say(f"organisation {org.name_en} ({org.business_type}) created")
            self.org_ids[org.key] = org_id
            token = self.login(org, just_invited=created)
            self.tokens[org.key] = {"Authorization": f"Bearer {token}"}

    def create_organisation(self, org: DemoOrg) -> str:
        body: dict[str, Any] = {
            "name_ja": org.name_ja,
            "name_en": org.name_en,
            "corporate_number": org.corporate_number,
            "business_types": [org.business_type],
            "address": {"line_ja": "東京都港区海岸1-1", "line_en": "1-1 Kaigan, Minato-ku, Tokyo"},
            "naccs_user_codes": [org.naccs_user_code] if org.naccs_user_code else [],
            "require_totp": False,
            "first_admin": {
                "email": org.email,
                "display_name": f"{org.name_en} admin",
                "locale": "ja",
            },
        }
        if org.scac:
            body["scac"] = org.scac
        created = self.call(
            "POST",
            "/api/v1/orgs",
            who=self.operator,
            json=body,
            headers={"Idempotency-Key": str(uuid.uuid5(uuid.NAMESPACE_URL, org.email))},
        ).json()
        return str(created["id"])

    def login(self, org: DemoOrg, *, just_invited: bool) -> str:
        # A fresh organisation's admin has no password yet: no login attempt, which would count as
        # a failure towards the gateway's per-address throttle.
        if not just_invited:
            response = self.call(
                "POST",
                "/api/v1/auth/login",
                json={"email": org.email, "password": DEMO_PASSWORD},
                ok=(200, 401),
            )
            if response.status_code == 200 and response.json()["status"] == "authenticated":
                return str(response.json()["tokens"]["access_token"])
            # A run stopped before the invitation was accepted: it may have expired, so a new one
            # (which makes the earlier ones stop working).
            users = self.call(
                "GET", "/api/v1/users", who=self.operator, params={"org_id": self.org_ids[org.key]}
            ).json()["items"]
            user = next((u for u in users if u["email"] == org.email), None)
            if user is None or user["status"] != "invited":
                raise DemoError(
                    f"{org.email} cannot sign in with the demo password and is not awaiting an "
                    "invitation (was its password changed?); the rest of the demo needs it"
                )
            self.call("POST", f"/api/v1/users/{user['id']}/invitation", who=self.operator)
        tokens = self.accept_invitation(org.email)
        self.say(f"login {org.email} ready")
        return tokens

    def accept_invitation(self, email: str, timeout_s: float = 20.0) -> str:
        """Accept the invitation mailed to ``email`` (read from the dev mail sink). Mail goes out
        after the answer, so an older invitation may still arrive after a newer one: every code
        found is tried, newest first, until one is accepted."""
        tried: set[str] = set()
        deadline = time.monotonic() + timeout_s
        while True:
            messages = httpx.get(f"{self.mail_url}/messages", params={"to": email}).json()
            codes = [
                line.split(": ", 1)[1].strip()
                for message in messages
                for line in message["body"].splitlines()
                if line.startswith("Invitation code: ")
            ]
            for code in reversed(codes):
                if code in tried:
                    continue
                tried.add(code)
                accepted = self.call(
                    "POST",
                    "/api/v1/auth/invitations/accept",
                    json={"token": code, "password": DEMO_PASSWORD},
                    ok=(200, 401),
                )
                if accepted.status_code == 401:
                    continue  # an invitation replaced by a newer one
                if accepted.json()["status"] != "authenticated":
                    raise DemoError(f"{email} was asked to enrol TOTP; demo organisations do not")
                return str(accepted.json()["tokens"]["access_token"])
            if time.monotonic() > deadline:
                raise DemoError(
                    f"No usable invitation for {email} reached the mail sink at {self.mail_url}"
                )
            time.sleep(0.2)

    # -- NACCS --------------------------------------------------------------------------------------
    def prepare_naccs(self) -> None:
        """The forwarder's 利用者ID linked to its admin, and its NACCS master data loaded."""
        forwarder = self.as_org("forwarder")
        me = self.call("GET", "/api/v1/users/me", who=forwarder).json()
        self.call(
            "PUT",
            f"/api/v1/users/{me['id']}/naccs-credentials",
            who=forwarder,
            json={"user_code": "MNTFW", "identifier": "001", "password": "demo2026"},
        )
        for kind, csv in MASTER_CSV.items():
            self.call(
                "POST",
                f"/api/v1/naccs/master/{kind}/import",
                who=forwarder,
                content=csv.encode(),
                headers={"Content-Type": "text/csv"},
            )

    # -- trades -------------------------------------------------------------------------------------
    def seed_trade(self, trade: DemoTrade) -> None:
        owner = self.as_org("forwarder")
        found = self.call(
            "GET",
            "/api/v1/trades/lookup",
            who=owner,
            params={"house_reference": trade.reference},
            ok=(200, 404),
        )
        if found.status_code == 200:
            trade_id = str(found.json()["id"])
        else:
            body: dict[str, Any] = {
                "direction": trade.direction,
                "owner_role": "forwarder",
                "owner_display_name": BY_KEY["forwarder"].name_en,
                "owner_reference": trade.reference,
                **trade.fields,
            }
            if trade.booking_no:
                body["booking_no"] = trade.booking_no
            if trade.bl_no:
                body["bl_no"] = trade.bl_no
            trade_id = str(
                self.call(
                    "POST",
                    "/api/v1/trades",
                    who=owner,
                    json=body,
                    headers={
                        "Idempotency-Key": str(uuid.uuid5(uuid.NAMESPACE_URL, trade.reference))
                    },
                ).json()["id"]
            )
            self.say(f"trade {trade.reference} created")
        self.trade_ids[trade.reference] = trade_id
        self.join(trade_id, trade.participants)
        self.move(trade_id, trade.statuses)
        if trade.shipping_instructions:
            self.form(
                trade_id,
                "shipper",
                "UL040",
                shipping_instructions(trade.booking_no or "", trade.invoice_no),
            )
        if trade.arrival_notice:
            self.form(trade_id, "carrier", "UL290", ARRIVAL_NOTICE, send=True)
        if trade.naccs:
            self.naccs(trade_id, trade)

    def join(self, trade_id: str, keys: tuple[str, ...]) -> None:
        owner = self.as_org("forwarder")
        present = {
            p["org_id"]: p["status"]
            for p in self.call("GET", f"/api/v1/trades/{trade_id}/participants", who=owner).json()
        }
        for key in keys:
            org = BY_KEY[key]
            org_id = self.org_ids[key]
            if org_id not in present:
                self.call(
                    "POST",
                    f"/api/v1/trades/{trade_id}/participants",
                    who=owner,
                    json={"org_id": org_id, "display_name": org.name_en, "role": org.trade_role},
                    headers={
                        "Idempotency-Key": str(uuid.uuid5(uuid.NAMESPACE_URL, trade_id + key))
                    },
                )
            if present.get(org_id) != "active":
                self.call(
                    "POST",
                    f"/api/v1/trades/{trade_id}/participants/me/accept",
                    who=self.as_org(key),
                )

    def move(self, trade_id: str, path: tuple[str, ...]) -> None:
        owner = self.as_org("forwarder")
        read = self.call("GET", f"/api/v1/trades/{trade_id}", who=owner)
        current = read.json()["status"]
        if current != "draft" and current not in path:
            return  # moved on by itself (e.g. the export permit cleared it): nothing to redo
        etag = read.headers["ETag"]
        for status in path[path.index(current) + 1 :] if current in path else path:
            moved = self.call(
                "POST",
                f"/api/v1/trades/{trade_id}/status",
                who=owner,
                json={"status": status},
                headers={"If-Match": etag},
            )
            etag = moved.headers["ETag"]

    def form(
        self, trade_id: str, key: str, form_type: str, values: dict[str, Any], *, send: bool = False
    ) -> None:
        who = self.as_org(key)
        created = self.call(
            "POST",
            f"/api/v1/forms/trades/{trade_id}/documents",
            who=who,
            json={"form_type": form_type, "values": values},
        )
        document = created.json()
        if send and document["status"] == "draft":
            self.call(
                "POST",
                f"/api/v1/forms/documents/{document['id']}/send",
                who=who,
                headers={"If-Match": created.headers["ETag"]},
            )

    def naccs(self, trade_id: str, trade: DemoTrade) -> None:
        forwarder = self.as_org("forwarder")
        bundle = export_bundle(trade.booking_no or "", trade.invoice_no)
        for code in trade.naccs:
            status = self.naccs_status(trade_id, code)
            if status in NACCS_IN_FLIGHT:
                status = self.wait_for_naccs(trade_id, code)
            if status in NACCS_DONE[code]:
                continue
            body: dict[str, Any] = {"bundle": bundle}
            if code == "EDA":
                body["entries"] = EDA_ENTRIES
            prepared = self.call(
                "PUT", f"/api/v1/naccs/trades/{trade_id}/forms/{code}", who=forwarder, json=body
            ).json()
            if not prepared["ready_to_send"]:
                raise DemoError(
                    f"{code} of {trade.reference} is not ready: {prepared['pending_for_person']}"
                )
            self.call("POST", f"/api/v1/naccs/trades/{trade_id}/forms/{code}/sends", who=forwarder)
            status = self.wait_for_naccs(trade_id, code)
            if status not in NACCS_DONE[code]:
                raise DemoError(f"NACCS answered {code} of {trade.reference} with {status}")
            self.say(f"trade {trade.reference}: {code} {status}")
        if "EDC" in trade.naccs:
            self.wait_for_permit(trade_id, trade.reference)

    def naccs_status(self, trade_id: str, code: str) -> str | None:
        forms = self.call(
            "GET", f"/api/v1/naccs/trades/{trade_id}/forms", who=self.as_org("forwarder")
        ).json()
        return next((str(f["status"]) for f in forms if f["code"] == code), None)

    def wait_for_naccs(self, trade_id: str, code: str, timeout_s: float = 30.0) -> str | None:
        deadline = time.monotonic() + timeout_s
        while True:
            status = self.naccs_status(trade_id, code)
            if status not in NACCS_IN_FLIGHT or time.monotonic() > deadline:
                return status
            time.sleep(0.2)

    def fast_forward_customs(self) -> None:
        """Let the stand-in's customs examine at once: 3 permit delays (the longest 審査区分) at its
        default 60 s. Without a stand-in (or if it refuses) the permit is simply waited for."""
        if self.naccs_standin_url is None:
            return
        try:
            httpx.post(f"{self.naccs_standin_url}/admin/clock", params={"advance_s": 180})
        except httpx.TransportError as exc:
            self.say(f"the NACCS stand-in at {self.naccs_standin_url} did not answer ({exc})")

    def wait_for_permit(self, trade_id: str, reference: str) -> None:
        if self.naccs_status(trade_id, "EDA") == "permitted":
            return
        self.say(f"trade {reference}: waiting for customs to permit (the NACCS stand-in's delay)")
        self.fast_forward_customs()
        deadline = time.monotonic() + self.permit_timeout_s
        while self.naccs_status(trade_id, "EDA") != "permitted":
            if time.monotonic() > deadline:
                self.say(
                    f"trade {reference}: not permitted yet after {self.permit_timeout_s:.0f}s; "
                    "it will be (run make demo again to check)"
                )
                return
            time.sleep(0.5)
        self.say(f"trade {reference}: export permitted")

    # -- the summary for a person -------------------------------------------------------------------
    def summary(self, gateway_url: str) -> str:
        lines = [f"Demo logins (password for all: {DEMO_PASSWORD}, no TOTP):"]
        lines += [f"  {org.email:<36} {org.name_en} ({org.business_type})" for org in ORGS]
        lines.append("Demo trades (owned by the forwarder; house reference -> id):")
        for trade in TRADES:
            lines.append(
                f"  {trade.reference:<18} {self.trade_ids.get(trade.reference, '-')}  {trade.stage}"
            )
        lines.append(
            f"Open {gateway_url}/docs, Authorize with a token from POST /api/v1/auth/login."
        )
        return "\n".join(lines)


def operator_token(gateway: httpx.Client, email: str, password: str) -> str:
    """The dev demo operator's token (the gateway only has this account in development)."""
    response = gateway.post("/api/v1/auth/login", json={"email": email, "password": password})
    if response.status_code != 200 or response.json().get("status") != "authenticated":
        raise DemoError(
            f"Cannot sign in as the demo operator {email} ({response.status_code}); the demo world "
            "is for a development gateway (make run), which seeds that operator"
        )
    return str(response.json()["tokens"]["access_token"])
