"""Object-level access: trade participation (asked of the trades service) and per-form-type rights.

A non-participant, and a participant whose token grants no access to a form type, see 404 for those
forms: never a hint that they exist. Read access allows every read; writing needs ``readwrite``.

Users carry their per-form-type rights in the token's ``forms`` claim. A partner system (a client of
kind ``client``, acting for its organisation) carries scopes instead, granted by the organisation's
admin: ``forms:write`` reads and writes every form type, ``forms:read`` reads them,
``receiving-slips:read`` reads the container receiving slip (UL090).
"""

from __future__ import annotations

import uuid
from typing import Final

from forms.clients.trades import TradeAccess, TradesClient
from forms.domain.catalogue import FORM_TYPES_BY_CODE
from forms.services.context import Caller
from forms.services.errors import FormNotFound, FormTypeReadOnly, TradeNotFound
from shared.auth import FormAccess, Principal, PrincipalKind

RECEIVING_SLIP_SCOPES: Final = {"receiving-slips:read": "UL090"}


async def trade_access(trades: TradesClient, caller: Caller, trade_id: uuid.UUID) -> TradeAccess:
    access = await trades.access(trade_id, org_id=caller.org_id)
    if access is None:
        raise TradeNotFound(f"No trade {trade_id} among your organisation's trades")
    return access


def form_access(principal: Principal, form_code: str) -> FormAccess:
    if principal.kind is PrincipalKind.CLIENT:
        if principal.has_scope("forms:write"):
            return FormAccess.READWRITE
        if principal.has_scope("forms:read"):
            return FormAccess.READ
        for scope, code in RECEIVING_SLIP_SCOPES.items():
            if code == form_code and principal.has_scope(scope):
                return FormAccess.READ
        return FormAccess.NONE
    return principal.form_access(form_code)


def can_read(caller: Caller, form_code: str) -> bool:
    return form_access(caller.principal, form_code) is not FormAccess.NONE


def readable_codes(caller: Caller) -> list[str]:
    return sorted(code for code in FORM_TYPES_BY_CODE if can_read(caller, code))


def require_read(caller: Caller, form_code: str, *, form_id: uuid.UUID | None = None) -> None:
    if not can_read(caller, form_code):
        raise FormNotFound(f"No form {form_id}" if form_id else f"No {form_code} form here")


def require_write(caller: Caller, form_code: str, *, form_id: uuid.UUID | None = None) -> None:
    require_read(caller, form_code, form_id=form_id)
    if form_access(caller.principal, form_code) is not FormAccess.READWRITE:
        raise FormTypeReadOnly(f"Your organisation has read-only access to {form_code} forms")
