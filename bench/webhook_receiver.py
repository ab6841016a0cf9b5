"""A partner's webhook endpoint for the benchmarks, in its own process (``uvicorn
bench.webhook_receiver:app``): every delivery's Standard Webhooks signature is verified with the
``standardwebhooks`` library, and each (endpoint path, webhook-id) is counted, so the driver can tell
lost and duplicate deliveries apart.

A plain ASGI app, so the receiver costs little next to what it measures:

- ``POST /secrets`` ``{"/hook/0": "whsec_...", ...}``: the secret of each endpoint path;
- ``POST /hook/<anything>``: a delivery; 204 when the signature verifies, 401 when it does not;
- ``GET /trades/<trade id>``: ``{event type: first arrival}`` of the deliveries about that trade;
- ``GET /stats``: counts, first and last arrival (wall clock, seconds); ``?ids=1`` adds the ids per
  path;
- ``POST /reset``: forget every arrival (the secrets stay).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
from standardwebhooks import Webhook, WebhookVerificationError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class Arrivals:
    def __init__(self) -> None:
        self.verifiers: dict[str, Webhook] = {}
        # Called with every verified payload (a driver running this app in its own event loop).
        self.on_payload: Callable[[dict[str, Any]], None] | None = None
        self.reset()

    def reset(self) -> None:
        self.counts: dict[str, dict[str, int]] = {}
        self.bad_signatures = 0
        self.unknown_paths = 0
        self.first: float | None = None
        self.last: float | None = None
        self.by_trade: dict[str, dict[str, float]] = {}

    def stats(self, with_ids: bool) -> dict[str, Any]:
        deliveries = sum(sum(ids.values()) for ids in self.counts.values())
        unique = sum(len(ids) for ids in self.counts.values())
        return {
            "deliveries": deliveries,
            "unique": unique,
            "duplicates": deliveries - unique,
            "bad_signatures": self.bad_signatures,
            "unknown_paths": self.unknown_paths,
            "first_at": self.first,
            "last_at": self.last,
            **(
                {"ids": {path: sorted(ids) for path, ids in self.counts.items()}}
                if with_ids
                else {}
            ),
        }

    def accept(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        verifier = self.verifiers.get(path)
        if verifier is None:
            self.unknown_paths += 1
            return 404
        try:
            verifier.verify(body, headers, json_parse=False)
        except WebhookVerificationError:
            self.bad_signatures += 1
            return 401
        now = time.time()
        if self.first is None:
            self.first = now
        self.last = now
        ids = self.counts.setdefault(path, {})
        message_id = headers["webhook-id"]
        ids[message_id] = ids.get(message_id, 0) + 1
        payload = orjson.loads(body)
        if payload.get("trade_id"):
            self.by_trade.setdefault(payload["trade_id"], {}).setdefault(payload["type"], now)
        if self.on_payload is not None:
            self.on_payload(payload)
        return 204


ARRIVALS = Arrivals()


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def answer(send: Send, status: int, body: bytes = b"") -> None:
    headers = [(b"content-length", str(len(body)).encode())]
    if body:
        headers.append((b"content-type", b"application/json"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    path, method = scope["path"], scope["method"]
    body = await read_body(receive)
    if method == "POST" and path.startswith("/hook/"):
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        await answer(send, ARRIVALS.accept(path, body, headers))
    elif method == "POST" and path == "/secrets":
        for hook_path, secret in orjson.loads(body).items():
            ARRIVALS.verifiers[hook_path] = Webhook(secret)
        await answer(send, 204)
    elif method == "POST" and path == "/reset":
        ARRIVALS.reset()
        await answer(send, 204)
    elif method == "GET" and path.startswith("/trades/"):
        seen = ARRIVALS.by_trade.get(path.removeprefix("/trades/"), {})
        await answer(send, 200, orjson.dumps(seen))
    elif method == "GET" and path == "/stats":
        with_ids = b"ids=1" in scope.get("query_string", b"")
        await answer(send, 200, orjson.dumps(ARRIVALS.stats(with_ids)))
    elif path == "/healthz":
        await answer(send, 200, b"{}")
    else:
        await answer(send, 404)
