"""Master data (records and CSV with per-row errors) and the file route (download, upload the result)."""

from __future__ import annotations

import uuid

import httpx

from naccs_bridge.domain.telegram import ChannelSettings, parse_input_header

from .conftest import NACCS_PASSWORD, Party
from .helpers import item, load_master, put_form


async def test_csv_import_reports_every_bad_row_and_imports_nothing(
    bridge: httpx.AsyncClient, forwarder: Party
) -> None:
    csv = (
        "product_code,hs_code,code_for_naccs,quantity_unit1,place_of_origin_code\n"
        "SRV-750,8501.52-000,,NO,JP\n"
        "SRV-BAD,85015,,NO,JP\n"
        "SRV-750,850152000,,NO,JP\n"
        "SRV-XX,850152000,ab,NO,JAPAN\n"
    )
    response = await bridge.post(
        "/api/v1/naccs/master/products/import",
        content=csv.encode(),
        headers={**forwarder.headers, "Content-Type": "text/csv"},
    )
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [
        (3, "hs_code"),
        (4, ""),  # SRV-750 twice
        (5, "code_for_naccs"),
        (5, "place_of_origin_code"),
    ]
    listed = await bridge.get("/api/v1/naccs/master/products", headers=forwarder.headers)
    assert listed.json() == []

    unknown_column = await bridge.post(
        "/api/v1/naccs/master/ports/import",
        content=b"locode,name,colour\nJPTYO,TOKYO,blue\n",
        headers={**forwarder.headers, "Content-Type": "text/csv"},
    )
    assert unknown_column.status_code == 422
    assert unknown_column.json()["errors"][0]["field"] == "colour"


async def test_master_records_are_per_organisation_and_feed_the_prefill(
    bridge: httpx.AsyncClient, forwarder: Party, outsider: Party, trade_id: uuid.UUID
) -> None:
    await load_master(bridge, forwarder.headers)
    products = (await bridge.get("/api/v1/naccs/master/products", headers=forwarder.headers)).json()
    assert [(p["key"], p["data"]["hsCode"]) for p in products] == [
        ("SRV-1K5", "850152000"),
        ("SRV-750", "850152000"),  # "8501.52-000" normalised to 9 digits
    ]
    assert (
        await bridge.get("/api/v1/naccs/master/products", headers=outsider.headers)
    ).json() == []

    renamed = await bridge.put(
        "/api/v1/naccs/master/bonded_areas/1AW61",
        json={
            "code": "1AW61",
            "name": "OHI TERMINAL NO 6",
            "customs_office": "1A",
            "customs_department": "61",
        },
        headers=forwarder.headers,
    )
    assert renamed.status_code == 200
    ecr = await put_form(bridge, forwarder.headers, trade_id, "ECR")
    assert item(ecr, "carry_in_name", 0)["value"] == "OHI TERMINAL NO 6"

    mismatch = await bridge.put(
        "/api/v1/naccs/master/ports/JPTYO",
        json={"locode": "JPYOK", "name": "YOKOHAMA"},
        headers=forwarder.headers,
    )
    assert mismatch.status_code == 422
    bad_number = await bridge.put(
        "/api/v1/naccs/master/companies/x",
        json={"company_id": "x", "corporate_number": "4010401034568"},
        headers=forwarder.headers,
    )
    assert bad_number.status_code == 422
    assert bad_number.json()["errors"][0]["field"] == "corporate_number"


async def test_the_file_route_downloads_the_telegram_and_applies_an_uploaded_result(
    bridge: httpx.AsyncClient, forwarder: Party, trade_id: uuid.UUID, standin: httpx.AsyncClient
) -> None:
    await load_master(bridge, forwarder.headers)
    await put_form(bridge, forwarder.headers, trade_id, "ECR")
    download = await bridge.get(
        f"/api/v1/naccs/trades/{trade_id}/forms/ECR/telegram", headers=forwarder.headers
    )
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/octet-stream"
    assert "attachment" in download.headers["content-disposition"]
    telegram = download.content
    header, length = parse_input_header(telegram)
    assert (header.business_code, header.user_id, header.password) == ("ECR", "MNT01001", "")
    assert length == len(telegram)

    # The package software logs on with the password and sends the file; NACCS answers.
    logged_on = telegram[:37] + NACCS_PASSWORD.encode().ljust(8) + telegram[45:]
    answer = (await standin.post("/telegrams", content=logged_on)).content

    uploaded = await bridge.post(
        f"/api/v1/naccs/trades/{trade_id}/forms/ECR/result-files",
        content=answer,
        headers={**forwarder.headers, "Content-Type": "application/octet-stream"},
    )
    assert uploaded.status_code == 200, uploaded.text
    form = uploaded.json()
    assert form["status"] == "accepted"
    assert form["reference_no"]
    messages = (
        await bridge.get(
            f"/api/v1/naccs/trades/{trade_id}/output-messages", headers=forwarder.headers
        )
    ).json()
    assert [m["applied"] for m in messages] == ["result_file"]

    wrong = await bridge.post(
        f"/api/v1/naccs/trades/{trade_id}/forms/ECR/result-files",
        content=b"not a telegram",
        headers=forwarder.headers,
    )
    assert wrong.status_code == 422
    assert ChannelSettings().charset == "shift_jis"


async def test_the_importers_payment_profile_in_the_company_master_fills_ida(
    bridge: httpx.AsyncClient, forwarder: Party, trade_id: uuid.UUID
) -> None:
    imported = await bridge.post(
        "/api/v1/naccs/master/companies/import",
        content=(
            b"company_id,name_en,corporate_number,payment_method,bank_account_no,"
            b"security_registration_no\n"
            b"minato-kagu,MINATO KAGU K.K.,4010401034567,A,12345678901234,K00012345\n"
        ),
        headers={**forwarder.headers, "Content-Type": "text/csv"},
    )
    assert imported.status_code == 200, imported.text
    arrival = {"consignee": {"name": "MINATO KAGU K.K.", "corporateNumber": "4010401034567"}}
    ida = await put_form(bridge, forwarder.headers, trade_id, "IDA", bundle={"AN": arrival})
    for key, value in (
        ("payment_method", "A"),
        ("bank_account_no", "12345678901234"),
        ("security_registration_no1", "K00012345"),
    ):
        assert (item(ida, key)["value"], item(ida, key)["master"]) == (
            value,
            "master:companies[minato-kagu]",
        ), key
    assert not {"payment_method", "bank_account_no"} & set(ida["pending_for_person"])

    too_long = await bridge.put(
        "/api/v1/naccs/master/companies/x",
        json={"company_id": "x", "bank_account_no": "123456789012345"},
        headers=forwarder.headers,
    )
    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["field"] == "bank_account_no"
