"""A real SMTP server for dev and tests (aiosmtpd) that keeps every message readable.

Messages are written to a Maildir (one file per message, readable with any mail tool) and listed as
JSON over HTTP (``GET /messages``, ``GET /messages?to=addr``), so tests read real mail that came over
real SMTP. Run: ``python -m shared.devstack.smtp_sink --smtp-port 8025 --http-port 8026 --maildir DIR``.
"""

from __future__ import annotations

import argparse
import asyncio
import mailbox
import signal
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


class MaildirHandler:
    def __init__(self, maildir: Path) -> None:
        maildir.parent.mkdir(parents=True, exist_ok=True)
        self.box = mailbox.Maildir(maildir, create=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        message = mailbox.MaildirMessage(raw)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.box.add(message)
        return "250 Message accepted for delivery"


def _text_of(message: EmailMessage) -> str:
    parts = []
    for part in message.walk():
        if part.get_content_type() in ("text/plain", "text/html") and not part.is_multipart():
            parts.append(str(part.get_content()))
    return "\n".join(parts)


def read_messages(maildir: Path, *, to: str | None = None) -> list[dict[str, Any]]:
    box = mailbox.Maildir(maildir, create=True)
    out: list[dict[str, Any]] = []
    for key, raw in box.items():
        message = message_from_bytes(raw.as_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        recipients = str(message.get("X-Envelope-To", ""))
        if to and to.lower() not in recipients.lower():
            continue
        out.append(
            {
                "id": key,
                "from": str(message.get("From", "")),
                "to": recipients,
                "subject": str(message.get("Subject", "")),
                "date": str(message.get("Date", "")),
                "body": _text_of(message),
            }
        )
    out.sort(key=lambda m: m["id"])
    return out


def make_http_app(maildir: Path) -> Starlette:
    async def list_messages(request: Request) -> JSONResponse:
        return JSONResponse(read_messages(maildir, to=request.query_params.get("to")))

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "service": "smtp-sink"})

    return Starlette(routes=[Route("/messages", list_messages), Route("/healthz", healthz)])


async def serve(smtp_port: int, http_port: int, maildir: Path, host: str = "127.0.0.1") -> None:
    controller = Controller(MaildirHandler(maildir), hostname=host, port=smtp_port)
    controller.start()
    config = uvicorn.Config(
        make_http_app(maildir), host=host, port=http_port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    try:
        await server.serve()
    finally:
        controller.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smtp-port", type=int, default=8025)
    parser.add_argument("--http-port", type=int, default=8026)
    parser.add_argument("--maildir", type=Path, required=True)
    args = parser.parse_args()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    asyncio.run(serve(args.smtp_port, args.http_port, args.maildir))


if __name__ == "__main__":
    main()
