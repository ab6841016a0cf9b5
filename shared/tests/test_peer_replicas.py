"""Calls to a peer that runs as several processes: spread in turn, a refusing replica passed over.

The replicas are bare asyncio HTTP servers answering with their own name; a refusing replica is a free
port nobody listens on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from shared.devstack.stack import free_port
from shared.http import ServiceClient, configure_peer_replicas, peer_transport


async def _answer_with(name: bytes, seen: list[str]) -> tuple[asyncio.Server, str]:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                length = next(
                    (
                        int(v)
                        for k, _, v in (x.partition(":") for x in lines[1:])
                        if k.strip().lower() == "content-length"
                    ),
                    0,
                )
                await reader.readexactly(length)
                seen.append(lines[0].rsplit(" ", 1)[0])
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%b" % (len(name), name))
                await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


@pytest.fixture
async def two_replicas() -> AsyncIterator[tuple[list[str], list[list[str]]]]:
    seen: list[list[str]] = [[], []]
    first, first_url = await _answer_with(b"one", seen[0])
    second, second_url = await _answer_with(b"two", seen[1])
    yield [first_url, second_url], seen
    first.close()
    second.close()


@pytest.fixture(autouse=True)
def no_peers_after() -> Iterator[None]:
    yield
    configure_peer_replicas({})


async def test_without_replicas_there_is_no_transport() -> None:
    configure_peer_replicas({})
    assert peer_transport() is None


async def test_calls_to_the_first_url_take_every_replica_in_turn(
    two_replicas: tuple[list[str], list[list[str]]],
) -> None:
    urls, seen = two_replicas
    configure_peer_replicas({urls[0]: urls})
    client = ServiceClient(urls[0])
    try:
        answers = [(await client.request("GET", "/x")).text for _ in range(4)]
    finally:
        await client.aclose()
    assert sorted(answers) == ["one", "one", "two", "two"]
    assert seen == [["GET /x", "GET /x"], ["GET /x", "GET /x"]]


async def test_a_refusing_replica_is_passed_over_even_for_a_post(
    two_replicas: tuple[list[str], list[list[str]]],
) -> None:
    urls, seen = two_replicas
    refusing = f"http://127.0.0.1:{free_port()}"
    configure_peer_replicas({refusing: [refusing, urls[1]]})
    async with httpx.AsyncClient(transport=peer_transport()) as client:
        # Nothing reached the refusing replica, so the POST is sent once, to the other.
        answers = [(await client.post(refusing + "/events", json={})).text for _ in range(3)]
    assert answers == ["two", "two", "two"]
    assert seen[1] == ["POST /events"] * 3


async def test_other_hosts_pass_through(two_replicas: tuple[list[str], list[list[str]]]) -> None:
    urls, seen = two_replicas
    configure_peer_replicas({"http://127.0.0.1:1": ["http://127.0.0.1:1", "http://127.0.0.1:2"]})
    async with httpx.AsyncClient(transport=peer_transport()) as client:
        assert (await client.get(urls[1] + "/y")).text == "two"
    assert seen == [[], ["GET /y"]]
