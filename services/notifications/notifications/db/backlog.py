"""What is waiting to go out, read for ``/metrics`` (``domain.metrics.delivery_backlog_probe``).

Each count runs on the partial index of pending rows, so it stays cheap however long the delivered
history grows. Ages are measured by the database's clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from notifications.db.models import OutgoingEmail, WebhookDelivery


@dataclass(frozen=True)
class Backlog:
    pending: int
    oldest_age_s: float  # 0 when nothing is pending


@dataclass(frozen=True)
class DeliveryBacklog:
    webhooks: Backlog
    emails: Backlog


async def read_delivery_backlog(engine: AsyncEngine) -> DeliveryBacklog:
    async with engine.connect() as conn:
        backlogs = []
        for model in (WebhookDelivery, OutgoingEmail):
            count, age = (
                await conn.execute(
                    select(
                        func.count(),
                        func.coalesce(
                            func.extract("epoch", func.now() - func.min(model.created_at)), 0
                        ),
                    ).where(model.status == "pending")
                )
            ).one()
            backlogs.append(Backlog(pending=int(count), oldest_age_s=max(0.0, float(age))))
    return DeliveryBacklog(webhooks=backlogs[0], emails=backlogs[1])
