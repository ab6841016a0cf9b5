"""DCSA Booking 2.0 / eBL 3.0 Shipping Instructions in and out of a trade's forms.

Import keeps the partner's payload verbatim in the form (``dcsaOriginal``), so an export of an
unedited import reproduces it and attributes we do not model survive edits (domain ``dcsa``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from forms.clients.trades import TradesClient
from forms.domain import dcsa
from forms.domain.dcsa_schema import shipping_instructions_violations
from forms.services import documents
from forms.services.access import require_write, trade_access
from forms.services.context import Caller
from forms.services.errors import NoDerivation
from shared.errors import InvalidInput

Importer = Callable[[Mapping[str, Any]], dict[str, Any]]
Exporter = Callable[[Mapping[str, Any]], dict[str, Any]]

# DCSA document kind -> (our form type, import, export).
KINDS: Final[dict[str, tuple[str, Importer, Exporter]]] = {
    "booking": ("MX010", dcsa.import_booking, dcsa.export_booking),
    "shipping-instructions": (
        "UL040",
        dcsa.import_shipping_instructions,
        dcsa.export_shipping_instructions,
    ),
}
EXPORT_BY_FORM_TYPE: Final = {code: (kind, export) for kind, (code, _, export) in KINDS.items()}


class NotDcsaExportable(NoDerivation):
    code = "not_dcsa_exportable"
    title = "This form type has no DCSA representation"


async def import_document(
    session: AsyncSession,
    trades: TradesClient,
    caller: Caller,
    *,
    trade_id: uuid.UUID,
    kind: str,
    payload: Mapping[str, Any],
    custom_id: str,
    if_match: str | None,
) -> tuple[documents.FormView, bool]:
    """Create the trade's form from a DCSA document; a form already there is replaced by it (an
    update from the partner), which like any edit needs ``If-Match``."""
    form_code, importer, _ = KINDS[kind]
    require_write(caller, form_code)
    await trade_access(trades, caller, trade_id)
    try:
        values = importer(payload)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"Not a DCSA {kind} document: {exc}") from exc
    provenance = {"dcsaOriginal": {"source": "dcsa", "kind": kind}}
    ws = await documents.read_workspace(session, trade_id)
    existing = ws.find(form_code, custom_id)
    if existing is None:
        return await documents.create_form(
            session,
            trades,
            caller,
            trade_id=trade_id,
            form_code=form_code,
            custom_id=custom_id,
            values=values,
            provenance=provenance,
            change="imported",
        )
    view = await documents.update_form(
        session, trades, caller, form_id=existing.id, values=values, if_match=if_match
    )
    return view, False


class DcsaExportInvalid(InvalidInput):
    code = "dcsa_export_invalid"
    title = "The form does not yet make a valid DCSA document"


async def export_document(
    session: AsyncSession,
    trades: TradesClient,
    caller: Caller,
    *,
    form_id: uuid.UUID,
    allow_invalid: bool = False,
) -> tuple[str, dict[str, Any]]:
    """The form as its DCSA document. Shipping instructions are checked against DCSA's JSON Schema
    first, so a partner never receives one its platform would reject; ``allow_invalid`` returns
    a draft's export anyway (for review)."""
    view = await documents.get_form(session, trades, caller, form_id)
    target = EXPORT_BY_FORM_TYPE.get(view.form.form_code)
    if target is None:
        raise NotDcsaExportable(
            f"{view.form.form_code} has no DCSA form; exportable: {', '.join(EXPORT_BY_FORM_TYPE)}"
        )
    kind, exporter = target
    document = exporter(view.values)
    if kind == "shipping-instructions" and not allow_invalid:
        violations = shipping_instructions_violations(document)
        if violations:
            raise DcsaExportInvalid(
                "Not valid DCSA eBL 3.0.3 yet: "
                + ", ".join(violation.json_path for violation in violations[:10]),
                errors=[
                    {"field": violation.json_path, "message": violation.message, "type": "dcsa"}
                    for violation in violations
                ],
            )
    return kind, document


__all__ = ["KINDS", "export_document", "import_document"]
