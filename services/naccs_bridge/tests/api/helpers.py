from __future__ import annotations

import uuid
from typing import Any

import httpx

from .trade_data import BONDED_AREAS_CSV, COMPANIES_CSV, PRODUCTS_CSV, VESSELS_CSV, export_bundle


async def load_master(bridge: httpx.AsyncClient, headers: dict[str, str]) -> None:
    for kind, csv in (
        ("companies", COMPANIES_CSV),
        ("products", PRODUCTS_CSV),
        ("vessels", VESSELS_CSV),
        ("bonded_areas", BONDED_AREAS_CSV),
    ):
        response = await bridge.post(
            f"/api/v1/naccs/master/{kind}/import",
            content=csv.encode(),
            headers={**headers, "Content-Type": "text/csv"},
        )
        assert response.status_code == 200, response.text


async def put_form(
    bridge: httpx.AsyncClient,
    headers: dict[str, str],
    trade_id: uuid.UUID,
    code: str,
    bundle: dict[str, Any] | None = None,
    entries: dict[str, str] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"bundle": bundle if bundle is not None else export_bundle()}
    if entries is not None:
        body["entries"] = entries
    response = await bridge.put(
        f"/api/v1/naccs/trades/{trade_id}/forms/{code}", json=body, headers=headers
    )
    assert response.status_code in (200, 201), response.text
    result: dict[str, Any] = response.json()
    return result


async def queue_send(
    bridge: httpx.AsyncClient, headers: dict[str, str], trade_id: uuid.UUID, code: str
) -> dict[str, Any]:
    response = await bridge.post(
        f"/api/v1/naccs/trades/{trade_id}/forms/{code}/sends", headers=headers
    )
    assert response.status_code == 202, response.text
    result: dict[str, Any] = response.json()
    return result


def item(form: dict[str, Any], key: str, index: int | None = None) -> dict[str, Any]:
    return next(i for i in form["items"] if i["key"] == key and i["index"] == index)
