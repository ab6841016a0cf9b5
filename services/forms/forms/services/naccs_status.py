"""Customs status written back from NACCS into the trade's forms (the read-only ``naccs_status``).

The NACCS bridge's outbox relay posts its events (``naccs.result``, ``naccs.permit``) to
``POST /internal/events`` as it does to the trades and notifications services, retrying until every
receiver took them. Here an event is taken once per id: its ``customs_status`` items and the id are
written in one transaction, so a redelivery changes nothing and a failure leaves nothing half
written (the relay retries the whole event). Each item replaces the trade's entry for its procedure
and number only when it is later (``domain.naccs_status.supersedes``). Status is kept per trade,
not per form, so a form created after the permit shows it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from forms.db import status_repository as repo
from forms.db.models import TradeNaccsStatus
from forms.domain.naccs_status import (
    CUSTOMS_STATUS_PUBLISHER,
    CUSTOMS_STATUS_SOURCE,
    PROCEDURES,
    STATES,
    STATES_OF,
    procedures_shown_on,
    rank,
)
from forms.schemas import IncomingEvent, NaccsStatusRead, NaccsStatusSource
from shared.errors import Forbidden, InvalidInput, field_error


@dataclass(frozen=True)
class Intake:
    recorded: bool
    entries: int
    changed: int


async def take_event(
    session: AsyncSession, event: IncomingEvent, *, publisher: str, now: datetime
) -> Intake:
    """Apply a bridge event's customs status once; other events are acknowledged and left alone.

    ``publisher`` is the subject of the caller's service token: only the bridge's own client may
    write customs status, whatever source another service's envelope claims."""
    items = event.data.customs_status
    if event.source != CUSTOMS_STATUS_SOURCE or not items:
        return Intake(recorded=False, entries=len(items), changed=0)
    if publisher != CUSTOMS_STATUS_PUBLISHER:
        raise Forbidden(f"Only {CUSTOMS_STATUS_PUBLISHER} writes customs status")
    if event.trade_id is None:
        raise InvalidInput(
            "Customs status needs the trade it belongs to",
            errors=[field_error(["body", "trade_id"], "required with customs_status")],
        )
    for index, item in enumerate(items):
        if item.state not in STATES_OF[item.procedure]:
            raise InvalidInput(
                f"{item.procedure} has no state {item.state!r}",
                errors=[
                    field_error(
                        ["body", "data", "customs_status", str(index), "state"],
                        f"not a state of {item.procedure}",
                    )
                ],
            )
    if not await repo.take_event(
        session,
        event_id=event.id,
        source=event.source,
        event_type=event.type,
        trade_id=event.trade_id,
        entries=len(items),
        now=now,
    ):
        return Intake(recorded=False, entries=len(items), changed=0)
    changed = 0
    for item in items:
        changed += await repo.upsert_status(
            session,
            trade_id=event.trade_id,
            procedure=item.procedure,
            number=item.number,
            state=item.state,
            state_rank=rank(item.state),
            at=item.at,
            examination=item.examination or None,
            permit_no=item.permit_no,
            permitted_on=item.permitted_on,
            source=item.source.model_dump(mode="json"),
            event_id=event.id,
            now=now,
        )
    return Intake(recorded=True, entries=len(items), changed=changed)


def shown_on(form_code: str, statuses: Sequence[TradeNaccsStatus]) -> list[TradeNaccsStatus]:
    """The trade's entries that the form's status section shows (none for forms without one)."""
    procedures = procedures_shown_on(form_code)
    return [status for status in statuses if status.procedure in procedures]


def status_read(status: TradeNaccsStatus) -> NaccsStatusRead:
    procedure_ja, procedure_en = PROCEDURES[status.procedure]
    _, state_ja, state_en = STATES[status.state]
    return NaccsStatusRead.model_validate(
        {
            "procedure": status.procedure,
            "procedure_ja": procedure_ja,
            "procedure_en": procedure_en,
            "number": status.number,
            "state": status.state,
            "state_ja": state_ja,
            "state_en": state_en,
            "at": status.at,
            "examination": status.examination,
            "permit_no": status.permit_no,
            "permitted_on": status.permitted_on,
            "source": NaccsStatusSource.model_validate(status.source),
        }
    )
