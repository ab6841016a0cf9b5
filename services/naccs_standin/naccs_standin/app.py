"""The NACCS stand-in as a process: ``uvicorn --factory naccs_standin.app:create_app``.

Routes (bytes in the channel charset, never JSON, wherever NACCS would carry a telegram):

* ``POST /telegrams`` — interactive processing (インタラクティブ処理方式): the body is one input telegram,
  the response body is the output telegram (処理結果通知, or 照会結果 for inquiries).
* ``POST /files`` and the optional inbox directory — the file route: the telegram is processed the same
  way, and its result is put in the outbox instead of being returned.
* ``GET /telegrams/{user_id}/{input_id_no}`` — the reply NACCS gave to that 入力情報特定番号, or 404 if it
  never received it. A sender that crashed mid-send asks this before deciding to send again.
* ``POST /admin/clock?advance_s=`` — customs time passes at once (not in prod), so a test or a demo sees
  the permit without waiting for the examination or restarting with a shorter delay.
* ``GET /outbox?after=<seq>`` — output messages delivered later (輸出許可通知, 輸入許可通知, file-route
  results), oldest first, for the receiver to pull. Pull rather than push: NACCS's stored-message
  retrieval (取り出し要求) is a pull too, the receiver keeps its own cursor and so decides its own pace
  and retries, and the stand-in needs no credentials to call into Minato.

It is an external system in miniature: no Minato tokens, its own database, its own telegram reader.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import Response

from naccs_standin.config import Settings
from naccs_standin.processing import Clock, Naccs, reset_state, utcnow
from shared.errors import NotFound
from shared.service import create_service_app
from shared.settings import Environment

log = structlog.get_logger("naccs_standin")
TELEGRAM_MEDIA_TYPE = "application/octet-stream"
INBOX_POLL_INTERVAL_S = 1.0


def _naccs(request: Request) -> Naccs:
    naccs: Naccs = request.app.state.naccs
    return naccs


def build_router() -> APIRouter:
    router = APIRouter(tags=["naccs"])

    @router.post("/telegrams", summary="Send one input telegram; the reply is the output telegram")
    async def post_telegram(request: Request) -> Response:
        receipt = await _naccs(request).receive(await request.body(), route="http")
        return Response(
            content=receipt.output,
            media_type=TELEGRAM_MEDIA_TYPE,
            headers={"X-Naccs-Result": " ".join(receipt.codes)},
        )

    @router.post("/files", status_code=202, summary="File route: the result goes to the outbox")
    async def post_file(request: Request) -> dict[str, Any]:
        receipt = await _naccs(request).receive(await request.body(), route="file")
        return {"received_id": receipt.received_id, "result_codes": receipt.codes}

    @router.get("/telegrams/{user_id}/{input_id_no}", summary="The reply to a 入力情報特定番号")
    async def get_reply(user_id: str, input_id_no: str, request: Request) -> Response:
        raw = await _naccs(request).reply_for(user_id, input_id_no)
        if raw is None:
            raise NotFound(f"no telegram {input_id_no} from {user_id} was received")
        return Response(content=raw, media_type=TELEGRAM_MEDIA_TYPE)

    @router.get("/outbox", summary="Output messages delivered later, oldest first")
    async def get_outbox(
        request: Request,
        after: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        user_id: Annotated[str | None, Query(max_length=8)] = None,
    ) -> dict[str, Any]:
        rows = await _naccs(request).outbox(after=after, limit=limit, user_id=user_id)
        return {
            "messages": [
                {
                    "seq": row["seq"],
                    "user_id": row["user_id"],
                    "telegram": base64.b64encode(row["raw"]).decode("ascii"),
                }
                for row in rows
            ],
            "next_after": rows[-1]["seq"] if rows else after,
        }

    @router.get("/receipts", summary="Every arrival of one 入力情報特定番号 (operations and tests)")
    async def get_receipts(
        request: Request, input_id_no: Annotated[str, Query(max_length=10)]
    ) -> dict[str, Any]:
        rows = await _naccs(request).receipts(input_id_no)
        for row in rows:
            row["received_at"] = row["received_at"].isoformat()
        return {"input_id_no": input_id_no, "count": len(rows), "receipts": rows}

    @router.post("/admin/reset", status_code=204, summary="Forget all state (not in prod)")
    async def reset(request: Request) -> Response:
        settings: Settings = request.app.state.settings
        if settings.environment is Environment.PROD:
            raise NotFound()
        async with _naccs(request).engine.begin() as conn:
            await reset_state(conn)
        return Response(status_code=204)

    @router.post(
        "/admin/clock",
        summary="Let customs time pass at once: permits due within it are released (not in prod)",
    )
    async def advance_clock(
        request: Request, advance_s: Annotated[float, Query(ge=0, le=86_400)]
    ) -> dict[str, Any]:
        settings: Settings = request.app.state.settings
        if settings.environment is Environment.PROD:
            raise NotFound()
        return {"now": _naccs(request).advance(advance_s).isoformat()}

    return router


async def watch_inbox(naccs: Naccs, inbox: Path) -> None:
    """The file route by directory: each new file is one telegram; processed files move to ``done/``."""
    done = inbox / "done"
    await asyncio.to_thread(done.mkdir, parents=True, exist_ok=True)

    def waiting() -> list[Path]:
        return sorted(p for p in inbox.iterdir() if p.is_file())

    while True:
        for path in await asyncio.to_thread(waiting):
            try:
                raw = await asyncio.to_thread(path.read_bytes)
                await naccs.receive(raw, route="file")
                await asyncio.to_thread(path.replace, done / path.name)
            except Exception:
                log.exception("inbox_file_failed", file=path.name)
        await asyncio.sleep(INBOX_POLL_INTERVAL_S)


def create_app(settings: Settings | None = None, *, clock: Clock = utcnow) -> FastAPI:
    settings = settings or Settings()

    async def start(app: FastAPI, stack: AsyncExitStack) -> None:
        naccs = Naccs(app.state.engine, settings, clock)
        app.state.naccs = naccs
        if settings.inbox_dir is not None:
            task = asyncio.create_task(watch_inbox(naccs, settings.inbox_dir))

            async def stop() -> None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

            stack.push_async_callback(stop)

    return create_service_app(
        settings,
        title="NACCS stand-in",
        description="Speaks NACCS EDI telegrams for development and tests; not part of Minato's API.",
        routers=[build_router()],
        on_startup=[start],
        verify_tokens=False,
    )
