"""The catalogue and the NACCS forms of a trade: prefill, sources, pending items, access."""

from __future__ import annotations

import uuid

import httpx

from naccs_bridge.clients.trades import StaticTradeAccess

from .conftest import Party
from .helpers import item, load_master, put_form
from .trade_data import export_bundle


async def test_the_catalogue_lists_every_code_and_serves_a_field_map(
    bridge: httpx.AsyncClient, forwarder: Party
) -> None:
    codes = (await bridge.get("/api/v1/naccs/codes", headers=forwarder.headers)).json()
    assert len(codes) == 82
    assert {"ECR", "EDA", "EDC", "IDA", "CYA"} <= {c["code"] for c in codes}
    inquiries = await bridge.get(
        "/api/v1/naccs/codes", params={"kind": "inquiry"}, headers=forwarder.headers
    )
    assert {c["kind"] for c in inquiries.json()} == {"inquiry"}

    ecr = (await bridge.get("/api/v1/naccs/codes/ecr", headers=forwarder.headers)).json()
    assert ecr["name_ja"] == "輸出貨物情報登録"
    loading_port = next(i for i in ecr["field_map"]["items"] if i["key"] == "loading_port")
    assert (loading_port["id"], loading_port["width"], loading_port["presence"]) == ("LPR", 5, "M")

    missing = await bridge.get("/api/v1/naccs/codes/XYZ", headers=forwarder.headers)
    assert missing.status_code == 404
    assert missing.json()["code"] == "unknown_business_code"
    assert (await bridge.get("/api/v1/naccs/codes")).status_code == 401


async def test_a_form_shows_each_value_its_source_and_what_a_person_must_enter(
    bridge: httpx.AsyncClient, forwarder: Party, trade_id: uuid.UUID
) -> None:
    await load_master(bridge, forwarder.headers)

    ecr = await put_form(bridge, forwarder.headers, trade_id, "ECR")
    assert ecr["status"] == "draft"
    assert ecr["ready_to_send"] is True
    assert ecr["autofill"] == {
        "code": "ECR",
        "normally_filled": 24,
        "auto_filled": 24,
        "ratio": 1.0,
        "remaining_for_person": [],
        "by_source": {"form": 19, "master": 2, "rule": 3},
    }
    port = item(ecr, "loading_port")
    assert (port["value"], port["source"], port["transform"]) == (
        "JPTYO",
        "form:BK.portOfLoading",
        "locode",
    )
    vessel = item(ecr, "vessel_code")
    assert vessel["value"] == "9V7654"
    assert vessel["source_kind"] == "master"  # the call sign came from the vessel master
    assert item(ecr, "carry_in_name", 0)["value"] == "OHI CONTAINER TERMINAL"

    eda = await put_form(bridge, forwarder.headers, trade_id, "EDA")
    assert eda["ready_to_send"] is False
    assert eda["pending_for_person"] == [
        "declaration_type",
        "export_control_no",
        "invoice_identification",
        "price_class",
    ]
    assert item(eda, "declaration_type")["needs_person"] is True
    # 申告予定者コード is the viewer's own 利用者コード, from their linked NACCS credentials.
    declarant = item(eda, "declarant_code")
    assert (declarant["value"], declarant["source"]) == ("MNT01", "config:declarant_user_code")
    assert item(eda, "hs_code", 1)["value"] == "850152000"

    report = await bridge.get(
        f"/api/v1/naccs/trades/{trade_id}/forms/EDA/autofill", headers=forwarder.headers
    )
    assert report.json()["remaining_for_person"] == eda["pending_for_person"]

    entered = await bridge.patch(
        f"/api/v1/naccs/trades/{trade_id}/forms/EDA/entries",
        json={"entries": {"declaration_type": "E", "price_class": "A"}},
        headers=forwarder.headers,
    )
    assert entered.status_code == 200
    after = entered.json()
    assert item(after, "declaration_type")["source_kind"] == "entered"
    assert "declaration_type" not in after["pending_for_person"]
    assert after["version"] == eda["version"] + 1

    listed = await bridge.get(f"/api/v1/naccs/trades/{trade_id}/forms", headers=forwarder.headers)
    assert [f["code"] for f in listed.json()] == ["ECR", "EDA"]


async def test_trade_data_of_the_wrong_shape_is_a_422_naming_the_field(
    bridge: httpx.AsyncClient, forwarder: Party, trade_id: uuid.UUID
) -> None:
    response = await bridge.put(
        f"/api/v1/naccs/trades/{trade_id}/forms/ECR",
        json={"bundle": {"SI": {"totalPackages": "many"}}},
        headers=forwarder.headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "bundle.SI.totalPackages"


async def test_only_participants_see_a_trade_s_naccs_forms(
    bridge: httpx.AsyncClient, forwarder: Party, outsider: Party, trade_id: uuid.UUID
) -> None:
    await put_form(bridge, forwarder.headers, trade_id, "ECR")
    base = f"/api/v1/naccs/trades/{trade_id}"
    for method, path in (
        ("GET", f"{base}/forms"),
        ("GET", f"{base}/forms/ECR"),
        ("PUT", f"{base}/forms/ECR"),
        ("GET", f"{base}/forms/ECR/autofill"),
        ("POST", f"{base}/forms/ECR/sends"),
        ("GET", f"{base}/forms/ECR/telegram"),
    ):
        response = await bridge.request(
            method, path, headers=outsider.headers, json={} if method == "PUT" else None
        )
        assert response.status_code == 404, (method, path)
        assert response.json()["detail"] == "No such trade"
    missing_form = await bridge.get(f"{base}/forms/EDA", headers=forwarder.headers)
    assert missing_form.status_code == 404
    assert missing_form.json()["code"] == "naccs_form_not_found"


async def test_the_trade_number_goes_out_as_the_in_house_reference(
    bridge: httpx.AsyncClient,
    forwarder: Party,
    trade_id: uuid.UUID,
    trades: StaticTradeAccess,
) -> None:
    # The forms service's bundle has no trade number (it is the trades service's): the bridge
    # asks trades, so 社内整理用番号 carries it and the filer finds the trade from NACCS's answers.
    await load_master(bridge, forwarder.headers)
    trades.trade_numbers[trade_id] = "EXP-2026-000777"
    bundle = export_bundle()
    del bundle["shared"]["tradeNo"]
    eda = await put_form(bridge, forwarder.headers, trade_id, "EDA", bundle)
    in_house = item(eda, "in_house_no")
    assert (in_house["value"], in_house["source"]) == ("EXP-2026-000777", "shared:shared.tradeNo")
    # A number the caller's bundle gives is kept.
    given = await put_form(bridge, forwarder.headers, trade_id, "EDA", export_bundle())
    assert item(given, "in_house_no")["value"] == "EXP-2026-000123"
    # Unknown to trades: the item stays empty (it is optional), and nothing else changes.
    del trades.trade_numbers[trade_id]
    unknown = await put_form(bridge, forwarder.headers, trade_id, "EDA", bundle)
    assert item(unknown, "in_house_no")["value"] in (None, "")
    assert unknown["pending_for_person"] == eda["pending_for_person"]
