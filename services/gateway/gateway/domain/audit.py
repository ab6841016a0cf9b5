"""The security audit log: one row per security event, per organisation, readable by its admins."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import AuditEvent
from gateway.domain.clock import Clock, Randomness


class AuditLog:
    def __init__(
        self, session: AsyncSession, clock: Clock, random: Randomness, ip: str | None
    ) -> None:
        self.session = session
        self.clock = clock
        self.random = random
        self.ip = ip

    def record(
        self,
        event: str,
        *,
        org_id: uuid.UUID | None,
        actor_id: str | uuid.UUID | None = None,
        subject_id: str | uuid.UUID | None = None,
        **details: Any,
    ) -> None:
        self.session.add(
            AuditEvent(
                id=self.random.uuid(),
                org_id=org_id,
                occurred_at=self.clock.now(),
                event=event,
                actor_id=str(actor_id) if actor_id is not None else None,
                subject_id=str(subject_id) if subject_id is not None else None,
                ip=self.ip,
                details=details,
            )
        )
