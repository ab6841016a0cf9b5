"""Create a downstream form prefilled from the trade's upstream forms (domain ``derive``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from forms.clients.trades import TradesClient
from forms.domain.derivation import DerivationNote, derivable_from, derive
from forms.services import documents
from forms.services.access import can_read, require_read, require_write, trade_access
from forms.services.context import Caller
from forms.services.errors import FormNotFound, NoDerivation


@dataclass(frozen=True)
class Derived:
    view: documents.FormView
    created: bool
    sources: list[uuid.UUID]
    notes: tuple[DerivationNote, ...]


@dataclass(frozen=True)
class Prefilled:
    values: dict[str, Any]
    provenance: dict[str, Any]
    sources: list[uuid.UUID]
    notes: tuple[DerivationNote, ...]


async def prefill(
    session: AsyncSession,
    trades: TradesClient,
    caller: Caller,
    *,
    trade_id: uuid.UUID,
    form_code: str,
    source_form_ids: Sequence[uuid.UUID] | None,
) -> Prefilled:
    """What the new form would hold. Sources are the forms the caller may read: the ones named,
    or the latest edited of each upstream type."""
    require_read(caller, form_code)
    await trade_access(trades, caller, trade_id)
    upstream_codes = derivable_from(form_code)
    if not upstream_codes:
        raise NoDerivation(f"No form type flows into {form_code}")
    ws = await documents.read_workspace(session, trade_id)
    readable = [
        form
        for form in ws.forms
        if form.form_code in upstream_codes and can_read(caller, form.form_code)
    ]
    if source_form_ids is not None:
        by_id = {form.id: form for form in readable}
        missing = [form_id for form_id in source_form_ids if form_id not in by_id]
        if missing:
            raise FormNotFound(f"No upstream form {missing[0]} of this trade for {form_code}")
        chosen = [by_id[form_id] for form_id in source_form_ids]
    else:
        latest: dict[str, Any] = {}
        for form in sorted(readable, key=lambda f: f.updated_at):
            latest[form.form_code] = form
        chosen = list(latest.values())
    if not chosen:
        raise NoDerivation(
            f"{form_code} is prefilled from {', '.join(upstream_codes)}; this trade has none "
            "you can read"
        )
    ids_by_code = {form.form_code: form.id for form in chosen}
    derived = derive(form_code, {form.form_code: ws.view(form) for form in chosen})
    provenance = {
        path: {
            "source": "derivation",
            # Computed totals come from the new form's own lines, not from an upstream form.
            "source_form_id": (
                str(ids_by_code[origin.source_form_code])
                if origin.source_form_code in ids_by_code
                else None
            ),
            "source_form_type": origin.source_form_code,
            "source_path": origin.source_path,
            "rule": origin.rule,
        }
        for path, origin in derived.provenance.items()
    }
    return Prefilled(derived.values, provenance, [form.id for form in chosen], derived.notes)


async def derive_form(
    session: AsyncSession,
    trades: TradesClient,
    caller: Caller,
    *,
    trade_id: uuid.UUID,
    form_code: str,
    custom_id: str,
    source_form_ids: Sequence[uuid.UUID] | None,
) -> Derived:
    """Create the form from ``prefill`` (or answer the one already there)."""
    require_write(caller, form_code)
    prefilled = await prefill(
        session,
        trades,
        caller,
        trade_id=trade_id,
        form_code=form_code,
        source_form_ids=source_form_ids,
    )
    view, created = await documents.create_form(
        session,
        trades,
        caller,
        trade_id=trade_id,
        form_code=form_code,
        custom_id=custom_id,
        values=prefilled.values,
        provenance=prefilled.provenance,
        change="derived",
    )
    return Derived(view, created, prefilled.sources, prefilled.notes)


__all__ = ["Derived", "Prefilled", "derive_form", "prefill"]
