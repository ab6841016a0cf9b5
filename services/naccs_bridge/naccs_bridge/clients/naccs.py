"""The channel to NACCS (the stand-in in development): telegrams as bytes over HTTP.

What matters for exactly-once effects is telling apart *nothing was delivered* (the connection was
refused: safe to send again later) from *it may have been delivered* (a timeout, a broken connection or a
5xx after the request went out: never send again before asking NACCS about the 入力情報特定番号).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Protocol

import httpx


class ChannelUnreachable(Exception):
    """NACCS was not reached: the telegram was certainly not delivered."""


class ChannelAmbiguous(Exception):
    """The telegram may or may not have been delivered."""


@dataclass(frozen=True)
class DeliveredMessage:
    seq: int
    naccs_user_id: str
    raw: bytes


class NaccsChannel(Protocol):
    async def send(self, telegram: bytes) -> bytes:
        """Deliver one input telegram; the output telegram NACCS answered with."""
        ...

    async def lookup(self, naccs_user_id: str, input_id_no: str) -> bytes | None:
        """NACCS's reply to that 入力情報特定番号, or None when NACCS never received it."""
        ...

    async def fetch_outbox(self, after: int, limit: int = 100) -> list[DeliveredMessage]:
        """Output messages delivered later, oldest first, after the cursor ``after``."""
        ...


class HttpNaccsChannel:
    def __init__(
        self, base_url: str, *, timeout_s: float, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 3.0)),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(self, telegram: bytes) -> bytes:
        try:
            response = await self._client.post(
                "/telegrams",
                content=telegram,
                headers={"Content-Type": "application/octet-stream"},
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ChannelUnreachable(repr(exc)) from exc
        except httpx.TransportError as exc:
            raise ChannelAmbiguous(repr(exc)) from exc
        if response.status_code != 200:
            raise ChannelAmbiguous(f"NACCS answered HTTP {response.status_code}")
        return response.content

    async def lookup(self, naccs_user_id: str, input_id_no: str) -> bytes | None:
        try:
            response = await self._client.get(f"/telegrams/{naccs_user_id}/{input_id_no}")
        except httpx.TransportError as exc:
            raise ChannelUnreachable(repr(exc)) from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise ChannelUnreachable(f"lookup answered HTTP {response.status_code}")
        return response.content

    async def fetch_outbox(self, after: int, limit: int = 100) -> list[DeliveredMessage]:
        try:
            response = await self._client.get("/outbox", params={"after": after, "limit": limit})
        except httpx.TransportError as exc:
            raise ChannelUnreachable(repr(exc)) from exc
        if response.status_code != 200:
            raise ChannelUnreachable(f"outbox answered HTTP {response.status_code}")
        return [
            DeliveredMessage(
                seq=int(m["seq"]),
                naccs_user_id=str(m["user_id"]),
                raw=base64.b64decode(m["telegram"]),
            )
            for m in response.json()["messages"]
        ]


class NoNaccsChannel:
    """No NACCS URL configured: every send stays queued and says why."""

    async def send(self, telegram: bytes) -> bytes:
        raise ChannelUnreachable("no NACCS channel is configured (NACCS_BRIDGE_NACCS_URL)")

    async def lookup(self, naccs_user_id: str, input_id_no: str) -> bytes | None:
        raise ChannelUnreachable("no NACCS channel is configured (NACCS_BRIDGE_NACCS_URL)")

    async def fetch_outbox(self, after: int, limit: int = 100) -> list[DeliveredMessage]:
        return []
