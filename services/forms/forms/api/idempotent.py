"""``Idempotency-Key`` on creating POSTs (``shared.idempotency``), in the request's transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from forms.db.models import idempotency_table
from forms.services.context import Caller
from shared import idempotency

REPLAYED_HEADERS = ("etag", "location")


async def idempotent(
    request: Request,
    session: AsyncSession,
    caller: Caller,
    *,
    fingerprint_payload: Any,
    run: Callable[[], Awaitable[JSONResponse]],
) -> Response:
    """Run ``run`` once per (caller, key); a retry with the same key replays the first answer."""
    header = request.headers.get(idempotency.IDEMPOTENCY_HEADER)
    if header is None:
        return await run()
    key = idempotency.validate_key(header)
    principal = f"{caller.org_id}:{caller.user_id}"
    stored = await idempotency.begin(
        session,
        table=idempotency_table,
        principal=principal,
        key=key,
        fingerprint=idempotency.request_fingerprint(
            request.method, request.url.path, fingerprint_payload
        ),
        now=caller.clock(),
    )
    if stored is not None:
        return JSONResponse(
            stored.body,
            status_code=stored.status_code,
            headers={**stored.headers, idempotency.REPLAY_HEADER: "true"},
        )
    response = await run()
    await idempotency.complete(
        session,
        table=idempotency_table,
        principal=principal,
        key=key,
        status_code=response.status_code,
        body=orjson.loads(bytes(response.body)),
        headers={
            name: response.headers[name] for name in REPLAYED_HEADERS if name in response.headers
        },
    )
    return response
