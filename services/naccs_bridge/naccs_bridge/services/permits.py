"""A declaration's permit, however the bridge learns of it: the permit notice, or an inquiry's answer.

Applied once per declaration: the declaration's NACCS forms become ``permitted`` and ``naccs.permit`` is
emitted (the trade's status and task rules key on it) only when some form was not permitted yet. A
notice arriving after an inquiry already showed the permit, or a notice fetched again, changes
nothing and emits nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from naccs_bridge.db.models import NaccsFormRow, outbox_table
from naccs_bridge.domain.customs_status import StatusUpdate, as_payload
from shared.outbox import add_event

PERMIT_FORMS = {"export": ("EDA", "EDC"), "import": ("IDA", "IDC")}


def permit_summary(direction: str, update: StatusUpdate) -> str:
    on = f" on {update.permitted_on.isoformat()}" if update.permitted_on else ""
    return f"Customs permit ({direction}) for declaration {update.number}{on}"


async def apply_permit(
    session: AsyncSession,
    *,
    direction: str,
    update: StatusUpdate,
    now: datetime,
    trade_id: uuid.UUID | None = None,
    output_message_id: uuid.UUID | None = None,
) -> list[NaccsFormRow]:
    """Mark the declaration's forms permitted in the caller's transaction; the forms found.

    ``trade_id`` limits the search to one trade (an inquiry speaks for the trade it was sent from)."""
    query = select(NaccsFormRow).where(
        NaccsFormRow.reference_no == update.number,
        NaccsFormRow.code.in_(PERMIT_FORMS[direction]),
    )
    if trade_id is not None:
        query = query.where(NaccsFormRow.trade_id == trade_id)
    # Locked, and read afresh: a concurrent notice and inquiry see each other's committed permit.
    locked = (
        query.order_by(NaccsFormRow.code)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    forms = list((await session.scalars(locked)).all())
    newly = [form for form in forms if form.status != "permitted"]
    if not newly:
        return forms
    for form in newly:
        form.status = "permitted"
        form.permitted_at = now
        form.version += 1
        form.updated_at = now
    await add_event(
        session,
        table=outbox_table,
        topic="naccs.permit",
        version=1,
        payload={
            "direction": direction,
            "declaration_no": update.number,
            "permitted_on": update.permitted_on.strftime("%Y%m%d") if update.permitted_on else None,
            "output_info_code": update.source.output_info_code,
            "form_ids": [str(f.id) for f in forms],
            "output_message_id": str(output_message_id) if output_message_id else None,
            "learned_from": str(update.source.telegram),
            "summary": permit_summary(direction, update),
            "customs_status": as_payload([update]),
        },
        trade_id=forms[0].trade_id,
        event_id=uuid.uuid4(),
        occurred_at=now,
    )
    return forms
