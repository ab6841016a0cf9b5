"""The usage ledger: what each organisation sent to NACCS, month by month (NACCS bills per telegram)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from naccs_bridge.db.models import UsageRow
from naccs_bridge.schemas import UsageCount, UsageSummary


def month_bounds(month: str) -> tuple[datetime, datetime]:
    year, number = (int(part) for part in month.split("-"))
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return start, end


def _add(count: UsageCount, result: str, n: int) -> None:
    count.sent += n
    setattr(count, result, getattr(count, result) + n)


async def monthly_summary(session: AsyncSession, *, org_id: str, month: str) -> UsageSummary:
    start, end = month_bounds(month)
    rows = (
        await session.execute(
            select(UsageRow.code, UsageRow.user_subject, UsageRow.result, func.count())
            .where(
                UsageRow.org_id == org_id, UsageRow.occurred_at >= start, UsageRow.occurred_at < end
            )
            .group_by(UsageRow.code, UsageRow.user_subject, UsageRow.result)
        )
    ).all()
    summary = UsageSummary(org_id=org_id, month=month, total=UsageCount(), by_code={}, by_user={})
    for code, user, result, n in rows:
        _add(summary.total, result, n)
        _add(summary.by_code.setdefault(code, UsageCount()), result, n)
        _add(summary.by_user.setdefault(user, UsageCount()), result, n)
    return summary
