"""The trade status lifecycle, per direction, as data.

Export (the cargo leaves Japan)::

    draft → booked → documents → customs → cleared → loaded → shipped → arrived → delivered → closed

Import (the cargo arrives)::

    draft → booked → shipped → arrived → documents → customs → cleared → delivered → closed

Besides the forward path, two corrections happen in practice and are allowed: customs sends a
declaration back for amendment (``customs → documents``), and an export permit is amended after it
was issued, e.g. when the cargo rolls to another vessel (``cleared → customs``, NACCS EAA). An export
trade may skip ``booked`` (the booking is made outside Minato). ``cancelled`` is reachable only while
the cargo is not yet in the carrier's custody (export: up to ``cleared``; import: up to ``booked``).
``closed`` and ``cancelled`` are terminal.
"""

from __future__ import annotations

from enum import StrEnum


class Direction(StrEnum):
    EXPORT = "export"
    IMPORT = "import"


class TradeStatus(StrEnum):
    DRAFT = "draft"
    BOOKED = "booked"
    DOCUMENTS = "documents"
    CUSTOMS = "customs"
    CLEARED = "cleared"
    LOADED = "loaded"
    SHIPPED = "shipped"
    ARRIVED = "arrived"
    DELIVERED = "delivered"
    CLOSED = "closed"
    CANCELLED = "cancelled"


S = TradeStatus

TRANSITIONS: dict[Direction, dict[TradeStatus, frozenset[TradeStatus]]] = {
    Direction.EXPORT: {
        S.DRAFT: frozenset({S.BOOKED, S.DOCUMENTS, S.CANCELLED}),
        S.BOOKED: frozenset({S.DOCUMENTS, S.CANCELLED}),
        S.DOCUMENTS: frozenset({S.CUSTOMS, S.CANCELLED}),
        S.CUSTOMS: frozenset({S.CLEARED, S.DOCUMENTS, S.CANCELLED}),
        S.CLEARED: frozenset({S.LOADED, S.CUSTOMS, S.CANCELLED}),
        S.LOADED: frozenset({S.SHIPPED}),
        S.SHIPPED: frozenset({S.ARRIVED, S.CLOSED}),
        S.ARRIVED: frozenset({S.DELIVERED, S.CLOSED}),
        S.DELIVERED: frozenset({S.CLOSED}),
        S.CLOSED: frozenset(),
        S.CANCELLED: frozenset(),
    },
    Direction.IMPORT: {
        S.DRAFT: frozenset({S.BOOKED, S.SHIPPED, S.CANCELLED}),
        S.BOOKED: frozenset({S.SHIPPED, S.CANCELLED}),
        S.SHIPPED: frozenset({S.ARRIVED}),
        S.ARRIVED: frozenset({S.DOCUMENTS, S.CUSTOMS}),
        S.DOCUMENTS: frozenset({S.CUSTOMS}),
        S.CUSTOMS: frozenset({S.CLEARED, S.DOCUMENTS}),
        S.CLEARED: frozenset({S.DELIVERED}),
        S.DELIVERED: frozenset({S.CLOSED}),
        S.CLOSED: frozenset(),
        S.CANCELLED: frozenset(),
        # Statuses an import trade never takes.
        S.LOADED: frozenset(),
    },
}

TERMINAL = frozenset({S.CLOSED, S.CANCELLED})


def allowed_next(direction: Direction, current: TradeStatus) -> frozenset[TradeStatus]:
    return TRANSITIONS[direction].get(current, frozenset())


def can_transition(direction: Direction, current: TradeStatus, target: TradeStatus) -> bool:
    return target in allowed_next(direction, current)
