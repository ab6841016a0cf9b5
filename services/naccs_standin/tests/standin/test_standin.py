"""The stand-in's exchanges, byte for byte: what a sender gets back for good and bad telegrams."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import httpx

from naccs_bridge.domain.telegram import ChannelSettings, parse_output_telegram, parse_result_notice

from .conftest import FakeClock
from .telegrams import PASSWORD, USER_ID, ecr, eda, telegram

CHANNEL = ChannelSettings()


async def send(client: httpx.AsyncClient, raw: bytes) -> bytes:
    response = await client.post("/telegrams", content=raw)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    return response.content


async def test_ecr_registers_cargo_and_answers_with_an_export_control_number(
    standin: httpx.AsyncClient,
) -> None:
    reply = await send(standin, ecr())

    notice = parse_result_notice(reply, CHANNEL)
    assert [c.raw for c in notice.codes] == ["00000-0000-0000"]
    assert notice.header.output_info_code == "*SECR"
    assert notice.header.message_kind == "R"
    assert notice.header.input_id_no == "0000000001"  # echoed: the sender matches replies on it
    assert notice.header.handover_info == "T-0000000001"
    assert notice.header.user_code == USER_ID[:5]
    assert notice.reference_no == "3312E0000001"  # seed 7, first number: reproducible
    # The 398-byte header, CRLF, then the result-code line of five 15-byte slots.
    assert reply[398:400] == b"\r\n"
    assert reply[400:475] == b"00000-0000-0000" + b" " * 60
    assert int(reply[392:398]) == len(reply)


async def test_eda_gives_a_declaration_number_and_edc_a_permit_after_the_delay(
    standin: httpx.AsyncClient, clock: FakeClock
) -> None:
    control_no = parse_result_notice(await send(standin, ecr()), CHANNEL).reference_no
    assert control_no is not None
    registered = parse_result_notice(await send(standin, eda(control_no)), CHANNEL)
    assert registered.accepted
    declaration_no = registered.reference_no
    assert declaration_no is not None
    assert len(declaration_no) == 11
    assert declaration_no.isdigit()

    declared = parse_result_notice(
        await send(
            standin,
            telegram("EDC", {"declaration_no": declaration_no}, input_id_no="0000000003"),
        ),
        CHANNEL,
    )
    assert declared.accepted
    category = int(declared.extra_lines[0])

    early = (await standin.get("/outbox", params={"after": 0})).json()
    assert early["messages"] == []  # customs has not decided yet

    clock.advance(60 * category)
    later = (await standin.get("/outbox", params={"after": 0})).json()
    assert len(later["messages"]) == 1
    permit = parse_output_telegram(base64.b64decode(later["messages"][0]["telegram"]), CHANNEL)
    assert permit.header.output_info_code == "SAE0030"  # 輸出許可通知 (stand-in's code)
    assert permit.header.message_kind == "P"
    assert permit.header.subject == declaration_no
    assert permit.header.input_id_no == "0000000003"  # the EDC that led to it
    assert permit.lines[0] == declaration_no
    assert permit.lines[1] == "20261122"
    assert permit.lines[3] == control_no

    # Read from the cursor on, nothing repeats; the inquiry answers from state.
    again = (await standin.get("/outbox", params={"after": later["next_after"]})).json()
    assert again["messages"] == []
    inquiry = parse_result_notice(
        await send(
            standin, telegram("IEX", {"declaration_no": declaration_no}, input_id_no="0000000004")
        ),
        CHANNEL,
    )
    assert inquiry.header.message_kind == "M"
    assert inquiry.extra_lines[0] == "PERMITTED"


async def test_item_errors_name_the_item_and_its_repeat(standin: httpx.AsyncClient) -> None:
    raw = telegram(
        "ECR",
        {
            "processing_kind": "9",
            "loading_port": "TOKYO",
            "goods_description": "X",
            "total_packages": "1",
            "package_unit": "CT",
            "total_gross_weight": "1",
            "weight_unit": "KGM",
            "carrier_code": "MAEU",
        },
        {"carry_in": []},
    )
    notice = parse_result_notice(await send(standin, raw), CHANNEL)
    assert not notice.accepted
    # 搬入予定先コード (ARR) of the first repeat is mandatory.
    assert [c.raw for c in notice.codes] == ["S0001-ARR -0001"]

    bad_port = parse_result_notice(await send(standin, ecr(loading_port="TYO")), CHANNEL)
    assert [c.raw for c in bad_port.codes] == ["S0003-LPR -0000"]
    foreign = parse_result_notice(await send(standin, ecr(loading_port="USLAX")), CHANNEL)
    assert [(c.code, c.item_id) for c in foreign.codes] == [("R0003", "LPR")]
    assert foreign.reference_no is None  # nothing was registered


async def test_a_warning_is_still_accepted(standin: httpx.AsyncClient) -> None:
    notice = parse_result_notice(await send(standin, ecr(carrier_code="")), CHANNEL)
    assert [c.raw for c in notice.codes] == ["W0001-SCA -0000"]
    assert notice.accepted
    assert notice.reference_no


async def test_malformed_telegrams_get_an_error_telegram_not_a_crash(
    standin: httpx.AsyncClient,
) -> None:
    good = ecr()
    cases = {
        b"": "A0009",  # nothing at all
        good[:300]: "A0009",  # shorter than the header
        good[:392] + b"000999" + good[398:]: "A0008",  # 電文長 disagrees with the bytes
        good[:-5] + b"12345": "E0001",  # last item without its CRLF
        good[:364] + b"1" + good[365:]: "A0016",  # air, not sea
        good[:3] + b"ZZZ99" + good[8:]: "A0001",  # unknown 業務コード
        good[:37] + b"wrongpw!" + good[45:]: "A0004",
    }
    for raw, expected in cases.items():
        reply = await send(standin, raw)
        notice = parse_result_notice(reply, CHANNEL)
        assert [c.code for c in notice.codes] == [expected], expected
    other_user = ecr().replace(USER_ID.encode(), b"NOONE001", 1)
    notice = parse_result_notice(await send(standin, other_user), CHANNEL)
    assert [c.code for c in notice.codes] == ["A0003"]
    assert PASSWORD  # the good password was used above


async def test_every_arrival_is_recorded_and_the_reply_can_be_fetched_again(
    standin: httpx.AsyncClient,
) -> None:
    reply = await send(standin, ecr(input_id_no="0000000042"))
    again = await standin.get(f"/telegrams/{USER_ID}/0000000042")
    assert again.status_code == 200
    assert again.content == reply
    missing = await standin.get(f"/telegrams/{USER_ID}/0000000043")
    assert missing.status_code == 404
    receipts = (await standin.get("/receipts", params={"input_id_no": "0000000042"})).json()
    assert receipts["count"] == 1
    assert receipts["receipts"][0]["result_codes"] == "00000-0000-0000"


async def test_the_file_route_puts_the_result_in_the_outbox(standin: httpx.AsyncClient) -> None:
    accepted = await standin.post("/files", content=ecr(input_id_no="0000000077"))
    assert accepted.status_code == 202
    outbox = (await standin.get("/outbox", params={"after": 0})).json()
    [message] = outbox["messages"]
    notice = parse_result_notice(base64.b64decode(message["telegram"]), CHANNEL)
    assert notice.header.input_id_no == "0000000077"
    assert notice.accepted


async def test_cy_gate_in_then_out(standin: httpx.AsyncClient) -> None:
    cya = {
        "processing_kind": "9",
        "gate_in_date": "20261122",
        "container_no": "MSCU1234565",
        "full_or_empty": "5",
    }
    cyo = {"processing_kind": "9", "gate_out_date": "20261123", "container_no": "MSCU1234565"}
    out_first = parse_result_notice(await send(standin, telegram("CYO", cyo)), CHANNEL)
    assert [c.raw for c in out_first.codes] == ["E0104-CNO -0000"]
    assert parse_result_notice(await send(standin, telegram("CYA", cya)), CHANNEL).accepted
    assert parse_result_notice(await send(standin, telegram("CYO", cyo)), CHANNEL).accepted


async def test_same_seed_same_inputs_same_numbers(
    standin: httpx.AsyncClient, standin_database_url: str, clock: FakeClock
) -> None:
    from .conftest import reset

    first = [
        parse_result_notice(await send(standin, ecr()), CHANNEL).reference_no for _ in range(3)
    ]
    await reset(standin_database_url)
    second = [
        parse_result_notice(await send(standin, ecr()), CHANNEL).reference_no for _ in range(3)
    ]
    assert first == second
    assert len(set(first)) == 3


async def test_a_file_dropped_in_the_inbox_directory_is_processed_and_moved(
    standin_database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    from naccs_standin.app import create_app
    from naccs_standin.config import Settings
    from shared.testing.plugin import asgi_client

    from .conftest import reset

    await reset(standin_database_url)
    settings = Settings(
        database_url=standin_database_url,
        seed=7,
        users={USER_ID: PASSWORD},
        inbox_dir=tmp_path,
        log_json=False,
        access_log=False,
    )
    async for client in asgi_client(create_app(settings, clock=clock)):
        (tmp_path / "ECR_0000000091.txt").write_bytes(ecr(input_id_no="0000000091"))
        for _ in range(50):
            if (tmp_path / "done" / "ECR_0000000091.txt").exists():
                break
            await asyncio.sleep(0.1)
        assert not (tmp_path / "ECR_0000000091.txt").exists()
        outbox = (await client.get("/outbox", params={"after": 0})).json()
        [message] = outbox["messages"]
        notice = parse_result_notice(base64.b64decode(message["telegram"]), CHANNEL)
        assert notice.header.input_id_no == "0000000091"
        assert notice.accepted


async def test_ida_then_idc_and_the_import_permit(
    standin: httpx.AsyncClient, clock: FakeClock
) -> None:
    items = {
        "value_class": "L",
        "declaration_type1": "C",
        "customs_office": "2D",
        "customs_department": "11",
        "planned_date": "20261122",
        "storage_code": "2DW11",
        "packages": "30",
        "package_unit": "CT",
        "gross_weight": "2100",
        "weight_unit": "KGM",
        "discharge_port": "JPYOK",
        "loading_place_code": "VNSGN",
    }
    groups = {
        "bl_numbers": [{"bl_no": "WHLC0123456789"}],
        "lines": [{"hs_code": "940161000", "description": "WOODEN CHAIRS", "origin_country": "VN"}],
    }
    registered = parse_result_notice(
        await send(standin, telegram("IDA", items, groups, input_id_no="0000000201")), CHANNEL
    )
    assert registered.accepted
    declaration_no = registered.reference_no
    declared = parse_result_notice(
        await send(
            standin, telegram("IDC", {"declaration_no": declaration_no}, input_id_no="0000000202")
        ),
        CHANNEL,
    )
    assert declared.accepted
    # An export declaration number is not an import one.
    wrong = parse_result_notice(
        await send(standin, telegram("EDC", {"declaration_no": declaration_no})), CHANNEL
    )
    assert [c.raw for c in wrong.codes] == ["E0102-ECN -0000"]

    clock.advance(60 * int(declared.extra_lines[0]))
    [message] = (await standin.get("/outbox", params={"after": 0})).json()["messages"]
    permit = parse_output_telegram(base64.b64decode(message["telegram"]), CHANNEL)
    assert permit.header.output_info_code == "SAD0030"  # 輸入許可通知 (stand-in's code)
    assert permit.header.business_code == "IDC"
    assert permit.header.subject == declaration_no
    assert permit.lines[3] == "WHLC0123456789"  # the B/L it permits (export: the cargo)


async def test_an_import_declaration_is_checked_as_naccs_checks_one(
    standin: httpx.AsyncClient,
) -> None:
    items = {
        "value_class": "L",
        "declaration_type1": "C",
        "customs_office": "2D",
        "customs_department": "11",
        "planned_date": "20261122",
        "storage_code": "2DW11",
        "packages": "30",
        "package_unit": "CT",
        "gross_weight": "2100",
        "weight_unit": "KGM",
        "discharge_port": "JPYOK",
        "loading_place_code": "VNSGN",
    }
    groups = {
        "bl_numbers": [{"bl_no": "WHLC0123456789"}],
        "lines": [{"hs_code": "940161000", "description": "WOODEN CHAIRS", "origin_country": "VN"}],
    }

    async def codes(**changes: str) -> list[str]:
        raw = telegram("IDA", {**items, **changes}, groups, input_id_no="0000000301")
        return [c.raw for c in parse_result_notice(await send(standin, raw), CHANNEL).codes]

    # Discharged outside Japan is no import into Japan; the item is named so the bridge can show it.
    assert await codes(discharge_port="KRPUS") == ["R0003-DPR -0000"]
    assert await codes(discharge_port="YOK") == ["S0003-DPR -0000"]
    assert await codes(storage_code="HMK") == ["S0003-0000-0000"]
    assert await codes(loading_place_code="SGN") == ["S0003-0000-0000"]
    assert await codes(storage_code="") == ["S0001-0000-0000"]  # mandatory, layout only
    assert await codes() == ["00000-0000-0000"]


async def test_customs_time_can_be_fast_forwarded_instead_of_waited_for(
    standin: httpx.AsyncClient,
) -> None:
    control_no = parse_result_notice(await send(standin, ecr()), CHANNEL).reference_no
    assert control_no is not None
    declaration_no = parse_result_notice(await send(standin, eda(control_no)), CHANNEL).reference_no
    assert declaration_no is not None
    declared = parse_result_notice(
        await send(standin, telegram("EDC", {"declaration_no": declaration_no})), CHANNEL
    )
    category = int(declared.extra_lines[0])
    assert (await standin.get("/outbox", params={"after": 0})).json()["messages"] == []

    # Not quite the examination time: nothing yet; the rest of it: the permit, dated when it fell due.
    almost = await standin.post("/admin/clock", params={"advance_s": 60 * category - 1})
    assert almost.status_code == 200, almost.text
    assert (await standin.get("/outbox", params={"after": 0})).json()["messages"] == []
    await standin.post("/admin/clock", params={"advance_s": 1})
    [message] = (await standin.get("/outbox", params={"after": 0})).json()["messages"]
    permit = parse_output_telegram(base64.b64decode(message["telegram"]), CHANNEL)
    assert permit.header.output_info_code == "SAE0030"
    assert permit.lines[1] == "20261122"

    backwards = await standin.post("/admin/clock", params={"advance_s": -5})
    assert backwards.status_code == 422
