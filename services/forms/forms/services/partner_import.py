"""Shipping instructions pushed by a partner platform (TradeWaltz style), relayed by the notifications
service, become the trade's UL040 on behalf of the organisation that pushed them.

The notifications service authenticates the partner, keeps the message and forwards it here with its
own service token (scope ``forms:write``) and the message id as ``Idempotency-Key``. The push names its
fields its own way (``ShippingInstructionsPush`` in notifications' schemas); ``to_ul040`` maps them to
our canonical names. The shared-item rules hold as for any edit: a locked field is refused (409).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from forms.clients.trades import TradesClient
from forms.services import documents
from forms.services.access import trade_access
from forms.services.context import Caller, Clock, IdFactory
from shared.auth import FormAccess, Principal
from shared.errors import InvalidInput, field_error

SI_FORM_CODE: Final = "UL040"
PARTNER_FORMAT: Final = "tradewaltz-si"


def _party(party: Any) -> dict[str, Any] | None:
    if not isinstance(party, Mapping) or not party.get("name"):
        return None
    mapped: dict[str, Any] = {"name": party["name"]}
    address = party.get("address")
    if isinstance(address, str) and address.strip():
        mapped["addressLines"] = [line.strip() for line in address.splitlines() if line.strip()]
    if party.get("corporate_number"):
        mapped["corporateNumber"] = party["corporate_number"]
    return mapped


def _container(container: Mapping[str, Any]) -> dict[str, Any]:
    mapped: dict[str, Any] = {"containerNo": container.get("number")}
    if container.get("size_type"):
        mapped["sizeTypeCode"] = container["size_type"]
    if container.get("seal_number"):
        mapped["sealNumbers"] = [container["seal_number"]]
    if container.get("gross_weight_kg") is not None:
        # The cargo's gross weight in the box, as on the S/I (not the VGM, which adds the tare).
        mapped["cargoWeight"] = container["gross_weight_kg"]
        mapped["cargoWeightUnitCode"] = "KGM"
    return mapped


def to_ul040(push: Mapping[str, Any]) -> dict[str, Any]:
    """The push's fields under UL040's names; fields the push leaves out are left out."""
    values: dict[str, Any] = {}
    simple = {
        "booking_number": "bookingNo",
        "voyage": "voyageNumber",
    }
    for source, target in simple.items():
        if push.get(source):
            values[target] = push[source]
    for source, target in (
        ("shipper", "shipper"),
        ("consignee", "consignee"),
        ("notify_party", "notifyParty"),
    ):
        party = _party(push.get(source))
        if party:
            values[target] = party
    for source, target in (
        ("port_of_loading", "portOfLoading"),
        ("port_of_discharge", "portOfDischarge"),
    ):
        if push.get(source):
            values[target] = {"code": push[source]}
    if push.get("vessel_name"):
        values["vessel"] = {"name": push["vessel_name"]}
    if push.get("commodity"):
        line: dict[str, Any] = {"description": push["commodity"]}
        if push.get("hs_code"):
            line["hsCode"] = push["hs_code"]
        values["commodity"] = [line]
    containers = push.get("containers")
    if isinstance(containers, list) and containers:
        values["containers"] = [_container(c) for c in containers if isinstance(c, Mapping)]
    return values


def acting_for(service: Principal, org_id: str, *, clock: Clock, new_id: IdFactory) -> Caller:
    """The service acting for the organisation, with write access to the S/I and nothing else."""
    principal = service.model_copy(
        update={"org_id": org_id, "form_permissions": {SI_FORM_CODE: FormAccess.READWRITE}}
    )
    return Caller(principal=principal, org_id=org_id, clock=clock, new_id=new_id)


async def import_pushed_si(
    session: AsyncSession,
    trades: TradesClient,
    caller: Caller,
    *,
    trade_id: uuid.UUID,
    push: Mapping[str, Any],
    message_id: str | None,
) -> tuple[documents.FormView, bool]:
    """Create the trade's S/I from the push, or replace the values the push carries in the one
    already there (the partner's data is the newer instruction; every version is kept)."""
    values = to_ul040(push)
    if not values:
        raise InvalidInput(
            "The push carries no S/I data", errors=[field_error(["data"], "no known fields")]
        )
    await trade_access(trades, caller, trade_id)
    provenance_entry = {"source": "partner", "format": PARTNER_FORMAT, "message_id": message_id}
    workspace = await documents.read_workspace(session, trade_id)
    existing = workspace.find(SI_FORM_CODE, "")
    if existing is None:
        return await documents.create_form(
            session,
            trades,
            caller,
            trade_id=trade_id,
            form_code=SI_FORM_CODE,
            custom_id="",
            values=values,
            provenance=dict.fromkeys(values, provenance_entry),
            change="imported",
        )
    current = workspace.view(existing)
    view = await documents.update_form(
        session,
        trades,
        caller,
        form_id=existing.id,
        values={**current, **values},
        # The partner does not hold our ETag: a knowing overwrite of the fields it sends.
        if_match="*",
    )
    return view, False
