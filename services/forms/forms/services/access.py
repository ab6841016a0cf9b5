"""Object-level access: trade participation (asked of the trades service) and per-form-type rights.

A non-participant, and a participant whose token grants no access to a form type, see 404 for those
forms: never a hint that they exist. Read access allows every read; writing needs ``readwrite``.
"""

from __future__ import annotations

import uuid

from forms.clients.trades import TradeAccess, TradesClient
from forms.services.context import Caller
from forms.services.errors import FormNotFound, FormTypeReadOnly, TradeNotFound
from shared.auth import FormAccess


async def trade_access(trades: TradesClient, caller: Caller, trade_id: uuid.UUID) -> TradeAccess:
    access = await trades.access(trade_id, org_id=caller.org_id)
    if access is None:
        raise TradeNotFound(f"No trade {trade_id} among your organisation's trades")
    return access


def readable_codes(caller: Caller) -> list[str]:
    return sorted(
        code
        for code, access in caller.principal.form_permissions.items()
        if access is not FormAccess.NONE
    )


def require_read(caller: Caller, form_code: str, *, form_id: uuid.UUID | None = None) -> None:
    if caller.principal.form_access(form_code) is FormAccess.NONE:
        raise FormNotFound(f"No form {form_id}" if form_id else f"No {form_code} form here")


def require_write(caller: Caller, form_code: str, *, form_id: uuid.UUID | None = None) -> None:
    require_read(caller, form_code, form_id=form_id)
    if caller.principal.form_access(form_code) is not FormAccess.READWRITE:
        raise FormTypeReadOnly(f"Your organisation has read-only access to {form_code} forms")
