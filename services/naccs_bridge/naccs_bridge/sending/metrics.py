"""Prometheus metrics of the send queue (exposed at ``/metrics`` with the HTTP ones).

Depth per state is read from the shared table when ``/metrics`` is scraped (``send_queue_probe``: one
query on the partial index of unfinished sends), so every replica reports the same truth. NACCS's
answers are counted when the transaction that applied them commits, never for one rolled back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from prometheus_client import Counter, Gauge
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from naccs_bridge.db.models import NaccsSendRow

# Not finished yet: what the queue's depth counts (the send queue's ``IN_FLIGHT_STATES``).
OPEN_STATES = ("queued", "sending", "sent")

SEND_QUEUE_DEPTH = Gauge(
    "minato_naccs_send_queue_depth",
    "Sends not finished, by state (queued, sending, sent); read from the database at scrape time",
    ["state"],
)
SEND_QUEUE_OLDEST_AGE = Gauge(
    "minato_naccs_send_queue_oldest_age_seconds",
    "Age of the oldest unfinished send in each state, since it was queued; 0 when there is none",
    ["state"],
)
SEND_ATTEMPTS = Counter(
    "minato_naccs_send_attempts_total",
    "Sends the worker took, by what became of them: result_stored, queued (NACCS unreachable, "
    "retried later), sending (outcome unknown, NACCS is asked later), failed, superseded",
    ["outcome"],
)
RESULTS = Counter(
    "minato_naccs_results_total",
    "NACCS replies applied, by business code and outcome (accepted, warning, rejected, unreadable)",
    ["code", "outcome"],
)
RESULT_CODES = Counter(
    "minato_naccs_result_codes_total",
    "処理結果コード in NACCS's replies, by business code and result (the code's first part: "
    "00000 is success, W... a warning, anything else an error)",
    ["code", "result"],
)


async def send_queue_probe(app: FastAPI) -> None:
    """Sets the depth and oldest age of every unfinished state (0 for a state with no sends)."""
    engine: AsyncEngine = app.state.engine
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(
                    NaccsSendRow.status,
                    func.count(),
                    func.extract("epoch", func.now() - func.min(NaccsSendRow.created_at)),
                )
                .where(NaccsSendRow.status.in_(OPEN_STATES))
                .group_by(NaccsSendRow.status)
            )
        ).all()
    found = {status: (count, age) for status, count, age in rows}
    for state in OPEN_STATES:
        count, age = found.get(state, (0, 0))
        SEND_QUEUE_DEPTH.labels(state).set(int(count))
        SEND_QUEUE_OLDEST_AGE.labels(state).set(max(0.0, float(age or 0)))


def count_result_when_committed(
    session: AsyncSession, *, code: str, outcome: str, result_codes: Sequence[str]
) -> None:
    """Count one applied reply once the caller's transaction commits (not at all if it rolls back)."""
    rolled_back = [False]

    def on_commit(_session: Any) -> None:
        if rolled_back[0]:
            return
        RESULTS.labels(code, outcome).inc()
        for raw in result_codes:
            RESULT_CODES.labels(code, raw.split("-", 1)[0]).inc()

    def on_rollback(_session: Any) -> None:
        rolled_back[0] = True

    event.listen(session.sync_session, "after_commit", on_commit, once=True)
    event.listen(session.sync_session, "after_rollback", on_rollback, once=True)
