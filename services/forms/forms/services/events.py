"""Events of the forms service, written to the outbox in the transaction of the change.

Topics and payload versions are part of the contract with the notifications and trades services:
a payload change that removes or renames a field gets a new ``version``; adding fields does not.
Every payload (version 1) carries ``trade_id`` and ``actor`` (``org_id``, ``user_id``), and:

* ``form.created`` / ``updated`` / ``sent`` / ``unsent`` / ``acknowledged`` / ``cancelled`` /
  ``deleted``: ``form_id``, ``form_type``, ``custom_id``, ``status``, ``version``,
  ``created_by_org_id``, ``changed_paths`` (the fields an update changed, shared ones included);
* ``receiving_slip.created`` / ``receiving_slip.updated`` (UL090, also on send): the same, plus
  ``receiving_slip`` with the gate data (booking, vessel, voyage, containers, DG, terminal, truck);
* ``shared_items.updated``: ``form_id`` and ``form_type`` of the form written through,
  ``shared_items_version``, ``paths`` (every form of the trade showing them changed with them);
* ``shared_items.locked`` / ``shared_items.unlocked``: ``form_id`` and ``form_type`` of the trigger
  form whose send, edit, un-send, cancel or deletion changed the locks, ``paths``, and ``held_by``
  (path -> form types holding the lock).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from forms.db.models import FormDocument, outbox_table
from forms.services.context import Caller
from shared.outbox import add_event

PAYLOAD_VERSION: Final = 1
RECEIVING_SLIP_CODE: Final = "UL090"
# What a terminal (CONPAS-style gate pre-advice) needs from a receiving slip.
_RECEIVING_SLIP_KEYS: Final = (
    "bookingNo",
    "scacCode",
    "vessel",
    "voyageNumber",
    "portOfDischarge",
    "containers",
    "dangerousGoods",
    "terminal",
    "plannedDeliveryDate",
    "truckNumber",
    "driverName",
)


async def emit(
    session: AsyncSession,
    caller: Caller,
    *,
    topic: str,
    trade_id: uuid.UUID,
    payload: Mapping[str, Any],
) -> None:
    await add_event(
        session,
        table=outbox_table,
        topic=topic,
        version=PAYLOAD_VERSION,
        payload={
            **payload,
            "trade_id": str(trade_id),
            "actor": {"org_id": caller.org_id, "user_id": caller.user_id},
        },
        trade_id=trade_id,
        event_id=caller.new_id(),
        occurred_at=caller.clock(),
    )


def form_payload(form: FormDocument, *, changed_paths: Sequence[str] = ()) -> dict[str, Any]:
    return {
        "form_id": str(form.id),
        "form_type": form.form_code,
        "custom_id": form.custom_id,
        "status": form.status,
        "version": form.version,
        "created_by_org_id": form.created_by_org_id,
        "changed_paths": list(changed_paths),
    }


async def form_changed(
    session: AsyncSession,
    caller: Caller,
    form: FormDocument,
    *,
    topic: str,
    view: Mapping[str, Any],
    changed_paths: Sequence[str] = (),
) -> None:
    """``form.<topic>``, and for the container receiving slip its own event with the gate data."""
    payload = form_payload(form, changed_paths=changed_paths)
    await emit(session, caller, topic=f"form.{topic}", trade_id=form.trade_id, payload=payload)
    if form.form_code == RECEIVING_SLIP_CODE and topic in ("created", "updated", "sent"):
        slip = {key: view[key] for key in _RECEIVING_SLIP_KEYS if key in view}
        await emit(
            session,
            caller,
            topic="receiving_slip.created" if topic == "created" else "receiving_slip.updated",
            trade_id=form.trade_id,
            payload={**payload, "receiving_slip": slip},
        )


async def shared_items_updated(
    session: AsyncSession,
    caller: Caller,
    form: FormDocument,
    *,
    paths: Sequence[str],
    shared_version: int,
) -> None:
    """The trade's shared items changed through ``form``: every form showing them changed too."""
    await emit(
        session,
        caller,
        topic="shared_items.updated",
        trade_id=form.trade_id,
        payload={
            "form_id": str(form.id),
            "form_type": form.form_code,
            "shared_items_version": shared_version,
            "paths": list(paths),
        },
    )


async def locks_changed(
    session: AsyncSession,
    caller: Caller,
    *,
    trade_id: uuid.UUID,
    before: Mapping[str, Sequence[str]],
    after: Mapping[str, Sequence[str]],
    cause_form: FormDocument,
) -> None:
    """``shared_items.locked`` / ``shared_items.unlocked`` with the paths whose lock changed."""
    locked = sorted(path for path in after if path not in before)
    unlocked = sorted(path for path in before if path not in after)
    for topic, paths, holders in (
        ("shared_items.locked", locked, after),
        ("shared_items.unlocked", unlocked, before),
    ):
        if paths:
            await emit(
                session,
                caller,
                topic=topic,
                trade_id=trade_id,
                payload={
                    "form_id": str(cause_form.id),
                    "form_type": cause_form.form_code,
                    "paths": paths,
                    "held_by": {path: list(holders[path]) for path in paths},
                },
            )
