from __future__ import annotations

import httpx

from .conftest import Trade, complete_si, created_form


async def test_create_and_read(client: httpx.AsyncClient, trade: Trade) -> None:
    form = await created_form(client, trade, trade.shipper, "UL040", complete_si())
    response = await client.get(
        f"/api/v1/forms/documents/{form['id']}", headers=trade.shipper.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["values"]["consignee"] == {"name": "ACME GmbH"}
