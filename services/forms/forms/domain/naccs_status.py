"""The customs status section of a form (``naccs_status``): what NACCS said about the trade.

Written only by the NACCS bridge's events (``customs_status`` items of ``naccs.result``,
``naccs.permit``; see ``naccs_bridge.domain.customs_status``), never by a user: it is not part of a
form's ``values``, so no form schema, edit or template can carry it. Each trade keeps one entry per
procedure and number; an entry is replaced only by a later state (``supersedes``), so events that
arrive late or out of order never move a permitted declaration back to "declared".
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

# The wire vocabulary shared with the bridge.
PROCEDURES: Final[dict[str, tuple[str, str]]] = {
    "export_cargo": ("輸出貨物", "Export cargo"),
    "export_declaration": ("輸出申告", "Export declaration"),
    "import_declaration": ("輸入申告", "Import declaration"),
    "container": ("コンテナ搬出入", "Container movement"),
}
# State -> (rank within its procedure, ja, en). Container movements share one rank: the later wins.
STATES: Final[dict[str, tuple[int, str, str]]] = {
    "registered": (1, "登録済", "Registered"),
    "declared": (2, "申告済", "Declared"),
    "permitted": (3, "許可", "Permitted"),
    "gate_in": (1, "搬入済", "Gated in"),
    "gate_out": (1, "搬出済", "Gated out"),
}
STATES_OF: Final[dict[str, frozenset[str]]] = {
    "export_cargo": frozenset({"registered"}),
    "export_declaration": frozenset({"registered", "declared", "permitted"}),
    "import_declaration": frozenset({"registered", "declared", "permitted"}),
    "container": frozenset({"gate_in", "gate_out"}),
}

_EXPORT: Final = frozenset({"export_cargo", "export_declaration", "container"})
_IMPORT: Final = frozenset({"import_declaration", "container"})
_BOTH: Final = _EXPORT | _IMPORT
# Which forms show which procedures: the export documents (S/I, B/L, receiving slip, permit copy),
# the import ones (A/N, D/O, permit copy), and those of either direction (invoice, packing list,
# customs clearance instructions). Other forms have no status section.
SHOWN_ON: Final[dict[str, frozenset[str]]] = {
    "UL040": _EXPORT,  # S/I
    "UL090": frozenset({"container", "export_cargo"}),  # container receiving slip (搬入票)
    "MX140": _EXPORT,  # export permit copy
    "UL290": _IMPORT,  # A/N
    "MX200": _IMPORT,  # D/O
    "MX210": _IMPORT,  # D/O-less request
    "MX220": _IMPORT,  # import permit copy
    "UL100": _BOTH,  # commercial invoice
    "UL120": _BOTH,  # packing list
    "UL150": _BOTH,  # B/L
    "MX290": _BOTH,  # customs clearance instructions
}
CUSTOMS_STATUS_SOURCE: Final = "naccs_bridge"
# The gateway's client for the bridge (``svc-<service>``): the envelope's ``source`` is what the
# sender says; the token's subject is what the gateway vouches for.
CUSTOMS_STATUS_PUBLISHER: Final = "svc-naccs_bridge"


def procedures_shown_on(form_code: str) -> frozenset[str]:
    return SHOWN_ON.get(form_code, frozenset())


def rank(state: str) -> int:
    return STATES[state][0]


def supersedes(
    new_state: str, new_at: datetime, old_state: str | None, old_at: datetime | None
) -> bool:
    """A later state wins; within one rank, the later time; an equal one changes nothing.

    The rule the repository's upsert applies in SQL (``(state_rank, at) > (stored)``), stated here
    once in Python so it can be read and tested without a database."""
    if old_state is None or old_at is None:
        return True
    return (rank(new_state), new_at) > (rank(old_state), old_at)
