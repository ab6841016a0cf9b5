"""The identity catalogue as data: business types, roles, form types and their default access per
business type, and the scopes partner and service clients may hold.

The forms service owns the full form catalogue (``services/forms/forms/domain/catalogue.py``); the
gateway keeps only the codes it grants access to. Cyber Port publishes its own ``UL`` codes; ``MX``
codes are Minato's for the forms Cyber Port has not published. A code added there must be added here
for anyone to be granted it (an unknown code is refused with the field named).
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType
from typing import Final


class BusinessType(StrEnum):
    SHIPPER = "shipper"
    FORWARDER = "forwarder"
    CUSTOMS_BROKER = "customs_broker"
    CARRIER = "carrier"
    NVOCC = "nvocc"
    WAREHOUSE = "warehouse"
    TRUCKER = "trucker"
    TERMINAL_OPERATOR = "terminal_operator"
    PORT_AUTHORITY = "port_authority"


class Role(StrEnum):
    PLATFORM_OPERATOR = "platform_operator"  # runs Minato; creates organisations
    ORG_ADMIN = "org_admin"  # manages their own organisation's users and clients
    MEMBER = "member"


ORG_ROLES: Final = frozenset({Role.ORG_ADMIN, Role.MEMBER})

FORM_TYPES: Final[dict[str, str]] = {
    "MX010": "Booking request",
    "UL050": "Booking confirmation",
    "UL040": "Shipping instructions",
    "UL090": "Container receiving slip",
    "MX040": "Dock receipt",
    "MX050": "Vanning report / container load plan",
    "MX060": "Dangerous goods list",
    "MX070": "Dangerous & hazardous goods pre-notification",
    "MX300": "Container packing certificate (DG)",
    "MX160": "Verified gross mass declaration",
    "MX260": "Empty container pick-up order",
    "UL100": "Commercial invoice",
    "UL110": "Proforma invoice",
    "UL120": "Packing list",
    "MX120": "Certificate of origin",
    "MX130": "Insurance certificate",
    "MX110": "Shipping advice",
    "MX150": "Freight invoice",
    "UL150": "Bill of lading",
    "MX020": "Sea waybill",
    "MX030": "House bill of lading",
    "MX100": "Cargo manifest",
    "MX080": "Delivery (transport) instructions",
    "MX270": "Consignment note",
    "MX240": "Delivery note",
    "MX280": "Warehouse receipt",
    "MX090": "Equipment interchange receipt",
    "MX170": "Terminal inquiry",
    "MX290": "Customs clearance instructions",
    "MX140": "Export permit copy",
    "MX220": "Import permit copy",
    "UL290": "Arrival notice",
    "MX200": "Delivery order",
    "MX210": "D/O-less request",
    "MX230": "Cargo clearance and delivery instructions",
    "MX180": "Cargo boat note",
    "MX250": "Devanning report",
}

RW, R = "readwrite", "read"

# What a new user of an organisation of each business type may do with each form, unless the org admin
# says otherwise. A user of an organisation with several types gets the strongest access of any.
_DEFAULTS: dict[BusinessType, dict[str, str]] = {
    BusinessType.SHIPPER: {
        **dict.fromkeys(["MX010", "UL040", "UL100", "UL110", "UL120", "MX060", "MX120"], RW),
        **dict.fromkeys(["MX130", "MX290", "MX160", "MX080"], RW),
        **dict.fromkeys(["UL050", "UL150", "MX020", "MX030", "UL290", "MX110", "MX150"], R),
        **dict.fromkeys(["MX140", "MX220", "MX200", "UL090", "MX240"], R),
    },
    BusinessType.FORWARDER: {
        **dict.fromkeys(
            ["MX010", "UL040", "UL090", "MX030", "MX050", "MX080", "MX110", "MX290"], RW
        ),
        **dict.fromkeys(["MX060", "MX070", "MX160", "MX260", "MX210", "MX230", "MX270"], RW),
        **dict.fromkeys(["UL050", "UL100", "UL110", "UL120", "UL150", "MX020", "UL290"], R),
        **dict.fromkeys(["MX120", "MX130", "MX140", "MX220", "MX200", "MX150", "MX040"], R),
    },
    BusinessType.NVOCC: {
        **dict.fromkeys(["MX030", "UL050", "UL290", "MX150", "MX200", "MX100"], RW),
        **dict.fromkeys(["MX010", "UL040", "UL100", "UL120", "UL150", "MX020"], R),
    },
    BusinessType.CUSTOMS_BROKER: {
        **dict.fromkeys(["MX140", "MX220", "MX290"], RW),
        **dict.fromkeys(["UL040", "UL100", "UL110", "UL120", "MX120", "MX130", "MX060"], R),
        **dict.fromkeys(["UL150", "MX020", "MX030", "UL290", "MX100"], R),
    },
    BusinessType.CARRIER: {
        **dict.fromkeys(["UL050", "UL150", "MX020", "MX100", "UL290", "MX150", "MX200"], RW),
        **dict.fromkeys(["MX070", "MX260"], RW),
        **dict.fromkeys(["MX010", "UL040", "UL090", "MX040", "MX050", "MX060", "MX160"], R),
        **dict.fromkeys(["MX300", "MX180", "MX250"], R),
    },
    BusinessType.WAREHOUSE: {
        **dict.fromkeys(["MX280", "MX050", "MX250", "MX240", "UL090"], RW),
        **dict.fromkeys(["UL040", "UL120", "MX080", "MX200", "MX230", "MX140", "MX220"], R),
    },
    BusinessType.TRUCKER: {
        **dict.fromkeys(["MX270", "MX090"], RW),
        **dict.fromkeys(["MX080", "MX260", "UL090", "MX200", "MX240", "MX170"], R),
    },
    BusinessType.TERMINAL_OPERATOR: {
        **dict.fromkeys(["MX040", "MX090", "MX170", "MX180"], RW),
        **dict.fromkeys(["UL090", "MX050", "MX060", "MX070", "MX160", "MX100", "MX200"], R),
    },
    BusinessType.PORT_AUTHORITY: {
        **dict.fromkeys(["MX070", "MX100", "MX060"], R),
    },
}
DEFAULT_FORM_ACCESS: Final = MappingProxyType(_DEFAULTS)

ACCESS_RANK: Final = {"none": 0, "read": 1, "readwrite": 2}


def default_form_access(business_types: list[str]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for business_type in business_types:
        for form_type, access in _DEFAULTS.get(BusinessType(business_type), {}).items():
            if ACCESS_RANK[access] > ACCESS_RANK[merged.get(form_type, "none")]:
                merged[form_type] = access
    return merged


# What partner systems (TradeWaltz-, CONPAS-style) may be granted by their organisation's admin.
PARTNER_SCOPES: Final[dict[str, str]] = {
    "forms:read": "Read the organisation's forms",
    "forms:write": "Create and update the organisation's forms",
    "trades:read": "Read the organisation's trades",
    "trades:write": "Create and update the organisation's trades",
    "si:push": "Push shipping instructions (UL040)",
    "schedules:push": "Push vessel and terminal schedule updates",
    "receiving-slips:read": "Read container receiving slips (UL090)",
    "webhooks:manage": "Manage the organisation's webhook subscriptions",
    "notifications:read": "Read the organisation's notifications",
}
# Only our own services' clients may hold these; platform operators grant them.
INTERNAL_SCOPES: Final[dict[str, str]] = {
    "naccs:credentials": "Read users' NACCS credentials (NACCS bridge only)",
    "internal:call": "Call other Minato services on the system's behalf",
    "directory:read": "Read organisations' administrator contacts (notifications only)",
}
# The scopes the devstack's (and a deployment's) per-service clients are provisioned with.
SERVICE_CLIENT_SCOPES: Final[dict[str, tuple[str, ...]]] = {
    "trades": ("internal:call", "forms:read", "forms:write", "notifications:read"),
    "forms": ("internal:call", "trades:read"),
    "naccs_bridge": ("internal:call", "naccs:credentials", "forms:read", "trades:read"),
    # forms:write: a partner's S/I push arrives at notifications and is filed as the trade's UL040.
    # directory:read: mail that an administrator must not miss (a webhook endpoint disabled).
    "notifications": (
        "internal:call",
        "directory:read",
        "trades:read",
        "forms:read",
        "forms:write",
    ),
}
