"""The channel tells "certainly not delivered" from "maybe delivered", on real sockets."""

from __future__ import annotations

import asyncio

import pytest

from naccs_bridge.clients.naccs import ChannelAmbiguous, ChannelUnreachable, HttpNaccsChannel
from shared.devstack.stack import free_port


async def test_a_refused_connection_is_unreachable_so_the_send_may_be_retried() -> None:
    channel = HttpNaccsChannel(f"http://127.0.0.1:{free_port()}", timeout_s=1.0)
    try:
        with pytest.raises(ChannelUnreachable):
            await channel.send(b"telegram")
        with pytest.raises(ChannelUnreachable):
            await channel.lookup("MNT01001", "0000000001")
    finally:
        await channel.aclose()


async def test_no_answer_after_the_request_left_is_ambiguous_so_it_is_never_resent_blindly() -> (
    None
):
    received = asyncio.Event()

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        received.set()
        await asyncio.sleep(5)  # NACCS got it, and answers too late
        writer.close()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    channel = HttpNaccsChannel(f"http://127.0.0.1:{port}", timeout_s=0.3)
    try:
        with pytest.raises(ChannelAmbiguous):
            await channel.send(b"telegram")
        assert received.is_set()
    finally:
        await channel.aclose()
        server.close()
