"""Attachments: size limit, content sniffing, checksum, download."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.testing.plugin import asgi_client

from .conftest import Trade, created_form

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64


def xlsx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.exe", "MZ")
    return buffer.getvalue()


@pytest.fixture
def small_limit_app(app: FastAPI) -> FastAPI:
    app.state.settings = app.state.settings.model_copy(update={"attachment_max_bytes": 1024})
    return app


@pytest.fixture
async def limited_client(small_limit_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async for c in asgi_client(small_limit_app):
        yield c


async def upload(
    client: httpx.AsyncClient,
    trade: Trade,
    form_id: str,
    content: bytes,
    content_type: str,
    file_name: str = "file",
) -> httpx.Response:
    return await client.post(
        f"/api/v1/forms/documents/{form_id}/attachments",
        params={"file_name": file_name},
        content=content,
        headers={**trade.shipper.headers, "Content-Type": content_type},
    )


class TestUpload:
    @pytest.mark.parametrize(
        ("content", "content_type"),
        [
            (PDF, "application/pdf"),
            (JPEG, "image/jpeg"),
            (xlsx(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            ("品名,数量\n靴,400\n".encode("cp932"), "text/csv"),
            (b"plain notes\r\n", "text/plain; charset=utf-8"),
        ],
    )
    async def test_accepted_types_are_stored_with_their_checksum(
        self, client: httpx.AsyncClient, trade: Trade, content: bytes, content_type: str
    ) -> None:
        form = await created_form(client, trade, trade.shipper, "UL040")
        response = await upload(client, trade, form["id"], content, content_type, "書類.bin")
        assert response.status_code == 201, response.text
        attachment = response.json()
        assert attachment["sha256"] == hashlib.sha256(content).hexdigest()
        assert attachment["size_bytes"] == len(content)
        assert attachment["content_type"] == content_type.split(";")[0]

        download = await client.get(response.headers["location"], headers=trade.carrier.headers)
        assert download.status_code == 200
        assert download.content == content
        assert download.headers["content-type"].startswith(content_type.split(";")[0])
        assert download.headers["etag"] == f'"{attachment["sha256"]}"'
        assert download.headers["x-content-type-options"] == "nosniff"
        assert "filename*=UTF-8''%E6%9B%B8%E9%A1%9E.bin" in download.headers["content-disposition"]

        listing = await client.get(
            f"/api/v1/forms/documents/{form['id']}/attachments", headers=trade.carrier.headers
        )
        assert [a["id"] for a in listing.json()] == [attachment["id"]]

    @pytest.mark.parametrize(
        ("content", "content_type"),
        [
            (PDF, "image/png"),  # declared one thing, is another
            (plain_zip(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (b"MZ\x90\x00\x03\x00\x00\x00", "application/octet-stream"),
            (b"GIF89a\x01\x00", "image/gif"),
            (b"binary\x00\x01\x02", "text/plain"),
        ],
    )
    async def test_wrong_or_disguised_types_are_415_and_nothing_is_stored(
        self,
        client: httpx.AsyncClient,
        trade: Trade,
        db_session: AsyncSession,
        content: bytes,
        content_type: str,
    ) -> None:
        form = await created_form(client, trade, trade.shipper, "UL040")
        response = await upload(client, trade, form["id"], content, content_type)
        assert response.status_code == 415, response.text
        assert response.json()["code"] == "attachment_type_refused"
        stored = await db_session.execute(
            text("SELECT count(*) FROM form_attachment WHERE form_id = :f"), {"f": form["id"]}
        )
        assert stored.scalar_one() == 0

    async def test_an_empty_body_is_422(self, client: httpx.AsyncClient, trade: Trade) -> None:
        form = await created_form(client, trade, trade.shipper, "UL040")
        response = await upload(client, trade, form["id"], b"", "application/pdf")
        assert response.status_code == 422

    async def test_too_big_is_413_by_header_and_by_the_bytes_themselves(
        self, limited_client: httpx.AsyncClient, trade: Trade, db_session: AsyncSession
    ) -> None:
        form = await created_form(limited_client, trade, trade.shipper, "UL040")
        big = PDF + b"0" * 2048
        response = await upload(limited_client, trade, form["id"], big, "application/pdf")
        assert response.status_code == 413
        assert response.json()["code"] == "attachment_too_large"

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
            for _ in range(4):
                yield PDF + b"0" * 400

        streamed = await limited_client.post(
            f"/api/v1/forms/documents/{form['id']}/attachments",
            params={"file_name": "big.pdf"},
            content=chunks(),
            headers={**trade.shipper.headers, "Content-Type": "application/pdf"},
        )
        assert streamed.status_code == 413
        fits = await upload(limited_client, trade, form["id"], PDF, "application/pdf")
        assert fits.status_code == 201
        stored = await db_session.execute(
            text("SELECT count(*) FROM form_attachment WHERE form_id = :f"), {"f": form["id"]}
        )
        assert stored.scalar_one() == 1

    async def test_upload_is_idempotent_with_a_key(
        self, client: httpx.AsyncClient, trade: Trade
    ) -> None:
        form = await created_form(client, trade, trade.shipper, "UL040")
        headers = {
            **trade.shipper.headers,
            "Content-Type": "application/pdf",
            "Idempotency-Key": "upload-1",
        }
        url = f"/api/v1/forms/documents/{form['id']}/attachments?file_name=a.pdf"
        first = await client.post(url, content=PDF, headers=headers)
        again = await client.post(url, content=PDF, headers=headers)
        assert first.status_code == again.status_code == 201
        assert again.json()["id"] == first.json()["id"]
        listing = await client.get(
            f"/api/v1/forms/documents/{form['id']}/attachments", headers=trade.shipper.headers
        )
        assert len(listing.json()) == 1
