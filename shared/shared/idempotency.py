"""``Idempotency-Key`` for creating POSTs, stored in the same transaction as the change.

Per (principal, key) the store keeps a fingerprint of the request and, once the handler has run, its
response. The key row is inserted in the request's own transaction, so:

* the handler succeeded → the key and the change commit together; a retry replays the stored response;
* the handler failed → both roll back; a retry runs again (errors are not cached);
* the same key with a different request → 422 ``idempotency_key_reused``;
* the same key while the first request is still running → 409 ``idempotency_request_in_progress``.
  The first request holds a transaction-scoped advisory lock on the key; the duplicate does not wait
  for it (``pg_try_advisory_xact_lock``), so it never blocks a connection.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    and_,
    delete,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import AppError, field_error

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
DEFAULT_RETENTION = timedelta(hours=24)
DEFAULT_TABLE_NAME = "idempotency_key"


class IdempotencyKeyReused(AppError):
    status_code = 422
    code = "idempotency_key_reused"
    title = "This Idempotency-Key was used for a different request"


class IdempotencyRequestInProgress(AppError):
    status_code = 409
    code = "idempotency_request_in_progress"
    title = "A request with this Idempotency-Key is still being processed"


class InvalidIdempotencyKey(AppError):
    status_code = 400
    code = "invalid_idempotency_key"
    title = "Invalid Idempotency-Key header"


def make_idempotency_table(metadata: MetaData, name: str = DEFAULT_TABLE_NAME) -> Table:
    return Table(
        name,
        metadata,
        Column("principal", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("fingerprint", Text, nullable=False),
        Column("status_code", Integer, nullable=True),
        Column("response_body", JSONB, nullable=True),
        Column("response_headers", JSONB, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("expires_at", DateTime(timezone=True), nullable=False),
        PrimaryKeyConstraint("principal", "key", name=f"pk_{name}"),
        Index(f"ix_{name}_expires_at", "expires_at"),
    )


def request_fingerprint(method: str, path: str, payload: Any) -> str:
    """SHA-256 over method, path and the request body as canonical JSON (key order ignored)."""
    body = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def validate_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise InvalidIdempotencyKey(
            f"The key must be 1-{MAX_KEY_LENGTH} printable ASCII characters",
            errors=[field_error(["headers", IDEMPOTENCY_HEADER], "invalid key")],
        )
    return key


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    body: Any
    headers: Mapping[str, str]


async def begin(
    session: AsyncSession,
    *,
    table: Table,
    principal: str,
    key: str,
    fingerprint: str,
    now: datetime,
    retention: timedelta = DEFAULT_RETENTION,
) -> StoredResponse | None:
    """Reserve the key in the current transaction; a stored response means "replay this".

    A new key (nearly every request) costs one statement: the advisory lock and the insert run
    together, the lock first (a materialised CTE is evaluated once, before the insert reads it).
    When nothing was inserted, either another request holds the lock or the key is already stored:
    asking for the lock again tells which.
    """
    t = table
    lock = select(
        func.pg_try_advisory_xact_lock(func.hashtextextended(f"{principal}\x1f{key}", 0)).label(
            "locked"
        )
    ).cte("idempotency_lock")
    lock = lock.prefix_with("MATERIALIZED", dialect="postgresql")
    inserted = await session.scalar(
        insert(t)
        .from_select(
            ["principal", "key", "fingerprint", "created_at", "expires_at"],
            select(
                literal(principal),
                literal(key),
                literal(fingerprint),
                literal(now, DateTime(timezone=True)),
                literal(now + retention, DateTime(timezone=True)),
            ).where(lock.c.locked),
        )
        .on_conflict_do_nothing(index_elements=[t.c.principal, t.c.key])
        .returning(t.c.key)
    )
    if inserted is not None:
        return None
    if not await _holds_lock(session, principal=principal, key=key):
        raise IdempotencyRequestInProgress()
    row = (
        await session.execute(
            select(
                t.c.fingerprint,
                t.c.status_code,
                t.c.response_body,
                t.c.response_headers,
                t.c.expires_at,
            ).where(t.c.principal == principal, t.c.key == key)
        )
    ).one_or_none()
    if row is None:
        # The lock was taken when the insert ran and released since: that request rolled back a
        # moment ago. 409 is the answer a retry handles; the retry then runs as new.
        raise IdempotencyRequestInProgress()
    if row.expires_at <= now:
        # An expired key is forgotten: the request runs as new.
        await session.execute(
            update(t)
            .where(t.c.principal == principal, t.c.key == key)
            .values(
                fingerprint=fingerprint,
                status_code=None,
                response_body=None,
                response_headers=None,
                created_at=now,
                expires_at=now + retention,
            )
        )
        return None
    if row.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            "Use a new Idempotency-Key for a different request body or target",
            errors=[field_error(["headers", IDEMPOTENCY_HEADER], "key already used")],
        )
    if row.status_code is None:
        # Committed without a response: cannot happen through ``complete``; treat as in progress.
        raise IdempotencyRequestInProgress()
    return StoredResponse(
        status_code=row.status_code, body=row.response_body, headers=row.response_headers or {}
    )


async def _holds_lock(session: AsyncSession, *, principal: str, key: str) -> bool:
    """Whether this transaction holds the key's lock, taking it if it is free. Nothing inserted does
    not tell whether the lock was free or the key already stored; the holder takes it again at no
    cost (it is released with the transaction either way)."""
    return bool(
        await session.scalar(
            select(
                func.pg_try_advisory_xact_lock(func.hashtextextended(f"{principal}\x1f{key}", 0))
            )
        )
    )


async def complete(
    session: AsyncSession,
    *,
    table: Table,
    principal: str,
    key: str,
    status_code: int,
    body: Any,
    headers: Mapping[str, str] | None = None,
) -> None:
    """Store the response with the key; it commits with the change."""
    t = table
    await session.execute(
        update(t)
        .where(and_(t.c.principal == principal, t.c.key == key))
        .values(status_code=status_code, response_body=body, response_headers=dict(headers or {}))
    )


async def purge_expired(session: AsyncSession, *, table: Table, now: datetime) -> int:
    result = await session.execute(delete(table).where(table.c.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)
