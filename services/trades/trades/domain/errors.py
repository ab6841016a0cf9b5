"""Errors of the trades domain, each with its HTTP status and stable code."""

from __future__ import annotations

from shared.errors import Conflict, Forbidden, InvalidInput, NotFound, field_error


class TradeNotFound(NotFound):
    code = "trade_not_found"
    title = "Trade not found"

    def __init__(self) -> None:
        # The same answer whether the trade does not exist or the caller may not see it.
        super().__init__("No trade with this id is visible to your organisation")


class TaskNotFound(NotFound):
    code = "task_not_found"
    title = "Task not found"


class ThreadNotFound(NotFound):
    code = "thread_not_found"
    title = "Message thread not found"


class ParticipantNotFound(NotFound):
    code = "participant_not_found"
    title = "Participant not found"


class NotPermitted(Forbidden):
    code = "not_permitted"
    title = "Your organisation's role in this trade does not allow this"


class OrganisationRequired(Forbidden):
    code = "organisation_required"
    title = "The token carries no organisation"


class InvalidStatusTransition(InvalidInput):
    code = "invalid_status_transition"
    title = "This status change is not allowed"

    def __init__(self, current: str, target: str, allowed: list[str]) -> None:
        super().__init__(
            f"A trade in status {current!r} cannot move to {target!r}",
            errors=[
                field_error(["status"], f"allowed from {current!r}: {', '.join(allowed) or 'none'}")
            ],
            extra={"current_status": current, "allowed": allowed},
        )


class DuplicateHouseReference(Conflict):
    code = "duplicate_house_reference"
    title = "Your organisation already has a trade with this house reference"


class AlreadyParticipant(Conflict):
    code = "already_participant"
    title = "This organisation already takes part in the trade"


class TradeClosed(Conflict):
    code = "trade_closed"
    title = "The trade is closed or cancelled"
