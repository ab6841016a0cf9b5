"""``Idempotency-Key`` on the gateway's creating POSTs (organisations, invitations).

The key row is claimed with ``INSERT … ON CONFLICT DO NOTHING`` in the request's own transaction and
the response is stored in that same transaction, so the effect and the key commit together (a failed
request stores nothing and may be retried). A concurrent duplicate blocks on the row until the first
commits, then replays its answer. Same key, different body → 422; keys are per user and kept 24 h.
Client creation takes no key on purpose: replaying would mean storing the plaintext secret.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import IdempotencyRecord
from gateway.db.repositories import IdempotencyRecords
from gateway.domain.clock import Clock, Randomness
from shared.errors import AppError, InvalidInput, field_error

RETENTION = timedelta(hours=24)


class IdempotencyKeyReused(AppError):
    status_code = 422
    code = "idempotency_key_reused"
    title = "This Idempotency-Key was used for a different request"


class IdempotencyInProgress(AppError):
    status_code = 409
    code = "idempotency_request_in_progress"
    title = "A request with this Idempotency-Key is still being processed"


def fingerprint(method: str, path: str, body: Any) -> str:
    return hashlib.sha256(
        orjson.dumps([method, path, body], option=orjson.OPT_SORT_KEYS)
    ).hexdigest()


def check_key(key: str) -> str:
    key = key.strip().strip('"')  # accept the draft's sf-string form
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise InvalidInput(
            errors=[field_error(["header", "Idempotency-Key"], "1-255 printable characters")]
        )
    return key


class Idempotency:
    def __init__(self, session: AsyncSession, clock: Clock, random: Randomness) -> None:
        self.session = session
        self.clock = clock
        self.random = random
        self.records = IdempotencyRecords(session)

    async def claim(
        self, principal: str, key: str, request_fingerprint: str
    ) -> IdempotencyRecord | tuple[int, dict[str, Any]]:
        """Our record to complete, or the stored ``(status, body)`` to replay."""
        now = self.clock.now()
        await self.records.drop_expired(principal, key, now - RETENTION)
        claimed = await self.records.insert_if_absent(
            {
                "id": self.random.uuid(),
                "principal": principal,
                "key": key,
                "fingerprint": request_fingerprint,
                "created_at": now,
            }
        )
        record = await self.records.get(principal, key)
        assert record is not None
        if claimed is not None:
            return record
        if record.fingerprint != request_fingerprint:
            raise IdempotencyKeyReused()
        if record.status_code is None or record.response is None:
            raise IdempotencyInProgress()
        return record.status_code, record.response

    async def complete(self, record: IdempotencyRecord, status: int, body: dict[str, Any]) -> None:
        record.status_code = status
        record.response = body
        await self.session.flush()
