"""The dispatcher's HTTP client (``notifications.domain.webhook_http``) against real sockets: what the
SSRF guard relies on (pinned address, the original name in Host, SNI and the certificate check, no
redirects, timeouts, bounded reads) and keep-alive."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from notifications.domain.webhook_http import (
    MAX_HEAD_BYTES,
    WebhookClosed,
    WebhookConnectError,
    WebhookHttpClient,
    WebhookProtocolError,
    WebhookTimeout,
    host_header,
    request_target,
)

Handler = Callable[["Seen", asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Seen:
    """What the server saw: each request's head lines and body, and the connections."""

    requests: list[tuple[list[str], bytes]] = field(default_factory=list)
    connections: int = 0
    sni: list[str | None] = field(default_factory=list)


async def read_request(reader: asyncio.StreamReader) -> tuple[list[str], bytes] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")[:-2]
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "content-length":
            length = int(value)
    body = await reader.readexactly(length)
    return lines, body


def answer(status: int, body: bytes = b"", extra: str = "") -> bytes:
    return f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


async def ok_handler(
    seen: Seen, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    while (request := await read_request(reader)) is not None:
        seen.requests.append(request)
        writer.write(answer(204))
        await writer.drain()


@asynccontextmanager
async def server(
    handler: Handler = ok_handler, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[tuple[int, Seen]]:
    seen = Seen()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.connections += 1
        try:
            await handler(seen, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    srv = await asyncio.start_server(on_connect, "127.0.0.1", 0, ssl=ssl_context)
    port = srv.sockets[0].getsockname()[1]
    try:
        yield port, seen
    finally:
        srv.close()


def client(**overrides: Any) -> WebhookHttpClient:
    values: dict[str, Any] = {"timeout_s": 2.0, "connect_timeout_s": 1.0, "max_body_bytes": 1024}
    values.update(overrides)
    return WebhookHttpClient(**values)


async def post(
    http: WebhookHttpClient,
    port: int,
    *,
    host: str = "hooks.partner.test",
    scheme: str = "http",
    address: str = "127.0.0.1",
    body: bytes = b'{"id": 1}',
) -> Any:
    return await http.post(
        scheme=scheme,
        address=address,
        port=port,
        host=host,
        target="/hook?x=1",
        headers=[("webhook-id", "msg_1"), ("content-type", "application/json")],
        body=body,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TestRequest:
    async def test_connects_to_the_pinned_address_with_the_original_name_in_host(self) -> None:
        http = client()
        async with server() as (port, seen):
            # The name does not resolve anywhere: only the pinned address can have been used.
            response = await post(http, port, host="hooks.partner.test")
        await http.aclose()
        assert response.status == 204
        [(lines, body)] = seen.requests
        assert lines[0] == "POST /hook?x=1 HTTP/1.1"
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        assert headers["host"] == f"hooks.partner.test:{port}"
        assert headers["webhook-id"] == "msg_1"
        assert headers["content-length"] == str(len(body))
        assert body == b'{"id": 1}'

    async def test_keep_alive_reuses_one_connection_per_target(self) -> None:
        http = client()
        async with server() as (port, seen):
            for _ in range(5):
                assert (await post(http, port)).status == 204
            # Another name on the same address is another target: its own connection.
            assert (await post(http, port, host="other.partner.test")).status == 204
        await http.aclose()
        assert seen.connections == 2
        assert http.connections_opened == 2
        assert len(seen.requests) == 6

    async def test_idle_connections_are_capped_over_all_targets(self) -> None:
        http = client(max_idle=2)
        async with server() as (port, seen):
            for name in ("a.partner.test", "b.partner.test", "c.partner.test"):
                assert (await post(http, port, host=name)).status == 204
            assert http.idle_connections == 2  # the oldest (a) was closed for c
            assert (await post(http, port, host="c.partner.test")).status == 204  # kept: reused
            assert (await post(http, port, host="b.partner.test")).status == 204  # kept: reused
            assert http.connections_opened == 3
            assert (await post(http, port, host="a.partner.test")).status == 204  # a new one
            assert http.connections_opened == 4
        await http.aclose()
        assert http.idle_connections == 0
        assert len(seen.requests) == 6

    async def test_a_connection_the_receiver_closed_while_idle_is_replaced(self) -> None:
        async def one_per_connection(
            seen: Seen, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> None:
            request = await read_request(reader)
            assert request is not None
            seen.requests.append(request)
            writer.write(answer(200, b"ok"))  # says keep-alive, closes anyway
            await writer.drain()

        http = client()
        async with server(one_per_connection) as (port, seen):
            for _ in range(3):
                assert (await post(http, port)).status == 200
                await asyncio.sleep(0.05)
        await http.aclose()
        assert len(seen.requests) == 3

    async def test_a_kept_connection_closed_without_an_answer_is_retried_once_on_a_new_one(
        self,
    ) -> None:
        # The keep-alive race: the receiver closes an idle connection as the next request goes out.
        async def closes_the_second(
            seen: Seen, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> None:
            served = 0
            while (request := await read_request(reader)) is not None:
                seen.requests.append(request)
                served += 1
                if served == 2:
                    return  # closed without a byte of answer
                writer.write(answer(204))
                await writer.drain()

        http = client()
        async with server(closes_the_second) as (port, seen):
            assert (await post(http, port)).status == 204
            assert (await post(http, port)).status == 204
        await http.aclose()
        assert seen.connections == 2
        assert len(seen.requests) == 3  # the lost one and its retry: same request, same webhook-id

    def test_request_targets_are_encoded_and_host_headers_bracket_ipv6(self) -> None:
        assert request_target("", "") == "/"
        assert request_target("/a b/ü", "q=1 2") == "/a%20b/%C3%BC?q=1%202"
        assert request_target("/x%2Fy", "a=b&c=d") == "/x%2Fy?a=b&c=d"
        assert host_header("::1", 8443, "https") == "[::1]:8443"
        assert host_header("hooks.partner.test", 443, "https") == "hooks.partner.test"
        assert host_header("bücher.test", 80, "http") == "xn--bcher-kva.test"

    async def test_header_injection_is_refused(self) -> None:
        http = client()
        with pytest.raises(ValueError, match="invalid header"):
            await http.post(
                scheme="http",
                address="127.0.0.1",
                port=1,
                host="h",
                target="/",
                headers=[("x", "a\r\nevil: 1")],
                body=b"",
            )
        with pytest.raises(ValueError, match="invalid request target"):
            await http.post(
                scheme="http",
                address="127.0.0.1",
                port=1,
                host="h",
                target="/a b HTTP/1.1\r\n",
                headers=[],
                body=b"",
            )

    async def test_a_name_is_never_resolved_in_place_of_the_address(self) -> None:
        http = client()
        with pytest.raises(WebhookConnectError, match="not a numeric address"):
            await post(http, 1, address="localhost")


class TestFailures:
    async def test_a_refused_connection(self) -> None:
        http = client()
        with pytest.raises(WebhookConnectError, match="cannot connect"):
            await post(http, free_port())

    async def test_no_answer_in_time_is_a_timeout(self) -> None:
        async def silent(seen: Seen, reader: asyncio.StreamReader, _: asyncio.StreamWriter) -> None:
            await read_request(reader)
            await asyncio.sleep(5)

        http = client(timeout_s=0.3)
        async with server(silent) as (port, _):
            started = time.monotonic()
            with pytest.raises(WebhookTimeout):
                await post(http, port)
            assert time.monotonic() - started < 2
        await http.aclose()

    async def test_a_shorter_window_cuts_the_exchange_below_the_timeout(self) -> None:
        # The dispatcher's lease on a delivery may end before the timeouts: the exchange must too.
        async def slow(
            seen: Seen, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> None:
            await read_request(reader)
            await asyncio.sleep(1.0)
            writer.write(answer(204))
            await writer.drain()

        http = client(timeout_s=5.0)
        async with server(slow) as (port, _):
            started = time.monotonic()
            with pytest.raises(WebhookTimeout):
                await http.post(
                    scheme="http", address="127.0.0.1", port=port, host="hooks.partner.test",
                    target="/hook", headers=[], body=b"{}", within_s=0.3,
                )  # fmt: skip
            assert time.monotonic() - started < 0.9
            answered = await http.post(
                scheme="http", address="127.0.0.1", port=port, host="hooks.partner.test",
                target="/hook", headers=[], body=b"{}", within_s=3.0,
            )  # fmt: skip
            assert answered.status == 204
        await http.aclose()

    async def test_a_trickling_answer_is_a_timeout_too(self) -> None:
        async def trickle(
            seen: Seen, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> None:
            await read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
            for _ in range(50):
                writer.write(b"x")
                await writer.drain()
                await asyncio.sleep(0.1)

        http = client(timeout_s=0.5)
        async with server(trickle) as (port, _):
            with pytest.raises(WebhookTimeout):
                await post(http, port)
        await http.aclose()

    async def test_a_tls_handshake_that_never_happens_is_a_connect_timeout(self) -> None:
        async def mute(seen: Seen, reader: asyncio.StreamReader, _: asyncio.StreamWriter) -> None:
            await asyncio.sleep(5)

        http = client(connect_timeout_s=0.3)
        async with server(mute) as (port, _):
            with pytest.raises(WebhookTimeout, match="no connection"):
                await post(http, port, scheme="https")
        await http.aclose()

    async def test_a_redirect_is_an_answer_and_is_not_followed(self) -> None:
        async def redirect(
            seen: Seen, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> None:
            while (request := await read_request(reader)) is not None:
                seen.requests.append(request)
                writer.write(answer(307, extra="Location: http://127.0.0.1:1/\r\n"))
                await writer.drain()

        http = client()
        async with server(redirect) as (port, seen):
            response = await post(http, port)
        await http.aclose()
        assert response.status == 307
        assert len(seen.requests) == 1

    async def test_retry_after_is_read(self) -> None:
        async def busy(
            seen: Seen, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> None:
            await read_request(reader)
            writer.write(answer(503, b"later", extra="Retry-After: 120\r\n"))
            await writer.drain()

        http = client()
        async with server(busy) as (port, _):
            response = await post(http, port)
        await http.aclose()
        assert (response.status, response.retry_after, response.body) == (503, "120", b"later")

    @pytest.mark.parametrize("chunked", [False, True])
    async def test_a_large_body_is_read_only_up_to_the_limit(self, chunked: bool) -> None:
        sent = 0

        async def flood(
            seen: Seen, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> None:
            nonlocal sent
            await read_request(reader)
            if chunked:
                writer.write(b"HTTP/1.1 500 X\r\nTransfer-Encoding: chunked\r\n\r\n")
            else:
                writer.write(b"HTTP/1.1 500 X\r\nContent-Length: 1000000000\r\n\r\n")
            chunk = b"y" * 65536
            for _ in range(16384):  # 1 GiB if the client kept reading
                writer.write(b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk)
                await writer.drain()
                sent += len(chunk)

        http = client(max_body_bytes=1024)
        async with server(flood) as (port, _):
            response = await post(http, port)
            assert (response.status, response.body, response.truncated) == (500, b"y" * 1024, True)
            # The connection was closed, not kept: the next delivery opens a new one.
            await asyncio.sleep(0.1)
            assert sent < 64 * 1024 * 1024
        await http.aclose()
        assert http.connections_opened == 1

    async def test_a_huge_response_head_is_refused(self) -> None:
        async def headers(
            seen: Seen, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> None:
            await read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\n")
            for i in range(MAX_HEAD_BYTES // 20 + 100):
                writer.write(b"x-filler-%06d: abc\r\n" % i)
                await writer.drain()
            await asyncio.sleep(1)

        http = client()
        async with server(headers) as (port, _):
            with pytest.raises(WebhookProtocolError, match="too large"):
                await post(http, port)
        await http.aclose()

    async def test_a_connection_closed_mid_answer_is_not_retried(self) -> None:
        async def cut(
            seen: Seen, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> None:
            request = await read_request(reader)
            assert request is not None
            seen.requests.append(request)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
            await writer.drain()

        http = client()
        async with server(cut) as (port, seen):
            with pytest.raises(WebhookClosed):
                await post(http, port)
        await http.aclose()
        assert len(seen.requests) == 1

    async def test_garbage_is_a_protocol_error(self) -> None:
        async def garbage(
            seen: Seen, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> None:
            await read_request(reader)
            writer.write(b"SSH-2.0-OpenSSH\r\n\r\n")
            await writer.drain()
            await asyncio.sleep(1)

        http = client()
        async with server(garbage) as (port, _):
            with pytest.raises(WebhookProtocolError):
                await post(http, port)
        await http.aclose()


# -- TLS ---------------------------------------------------------------------------------------
@dataclass
class Pki:
    ca_path: Path
    server_context: ssl.SSLContext


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A CA and a certificate for hooks.partner.test (and 127.0.0.1), made for this test."""
    directory = tmp_path_factory.mktemp("pki")
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Minato test CA"))
        .issuer_name(_name("Minato test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("hooks.partner.test"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("hooks.partner.test"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path = directory / "ca.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path = directory / "cert.pem"
    cert_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_path = directory / "key.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return Pki(ca_path=ca_path, server_context=context)


def recording_sni(pki: Pki, seen: Seen) -> ssl.SSLContext:
    context = pki.server_context

    def on_sni(_: Any, name: str | None, __: Any) -> None:
        seen.sni.append(name)

    context.sni_callback = on_sni
    return context


def trusting(pki: Pki) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(pki.ca_path))


class TestTls:
    async def test_sni_host_and_certificate_are_for_the_name_while_the_address_is_pinned(
        self, pki: Pki
    ) -> None:
        seen = Seen()
        http = client(ssl_context=trusting(pki))
        async with server(ssl_context=recording_sni(pki, seen)) as (port, served):
            response = await post(http, port, scheme="https", host="hooks.partner.test")
            again = await post(http, port, scheme="https", host="hooks.partner.test")
        await http.aclose()
        assert (response.status, again.status) == (204, 204)
        assert seen.sni == ["hooks.partner.test"]  # one handshake: the connection was kept
        [lines, _] = served.requests[0]
        assert f"Host: hooks.partner.test:{port}" in lines

    async def test_a_certificate_for_another_name_is_refused(self, pki: Pki) -> None:
        seen = Seen()
        http = client(ssl_context=trusting(pki))
        async with server(ssl_context=recording_sni(pki, seen)) as (port, served):
            with pytest.raises(WebhookConnectError, match=r"TLS with evil\.partner\.test"):
                await post(http, port, scheme="https", host="evil.partner.test")
        await http.aclose()
        assert seen.sni == ["evil.partner.test"]
        assert served.requests == []

    async def test_an_untrusted_certificate_is_refused(self, pki: Pki) -> None:
        http = client()  # the system's trust store: our test CA is not in it
        async with server(ssl_context=pki.server_context) as (port, served):
            with pytest.raises(WebhookConnectError, match="certificate verify failed"):
                await post(http, port, scheme="https", host="hooks.partner.test")
        await http.aclose()
        assert served.requests == []
