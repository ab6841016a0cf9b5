"""The telegram codec: exact bytes of input telegrams, round trips, and typed errors on malformed replies."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from naccs_bridge.domain.bundle import TradeBundle
from naccs_bridge.domain.charset import (
    Charset,
    encode_item,
    is_portable_full_width,
    truncate_to_bytes,
)
from naccs_bridge.domain.errors import (
    DisallowedCharacter,
    ItemTooLong,
    LengthMismatch,
    MalformedBody,
    MalformedHeader,
    MalformedResultCode,
    RepeatOverflow,
    TelegramError,
    TelegramTooShort,
    UnknownItems,
)
from naccs_bridge.domain.loading import load_field_map
from naccs_bridge.domain.prefill import prefill
from naccs_bridge.domain.specs import FieldMap, ItemSpec
from naccs_bridge.domain.telegram import (
    CRLF,
    INPUT_HEADER_FIELDS,
    OUTPUT_HEADER_FIELDS,
    ChannelSettings,
    FormValues,
    InputHeader,
    MessageKind,
    OutputTelegram,
    build_input_telegram,
    check_values,
    decode_body,
    encode_body,
    encode_input_header,
    join_parts,
    parse_input_header,
    parse_input_telegram,
    parse_output_telegram,
    parse_result_notice,
)
from naccs_bridge.domain.transforms import PrefillConfig

GOLDEN = Path(__file__).parent / "golden"
SJIS = ChannelSettings(charset=Charset.SHIFT_JIS)
EUC = ChannelSettings(charset=Charset.EUC_JP)


def input_header(code: str) -> InputHeader:
    return InputHeader(
        business_code=code,
        user_code="3AB12",
        identification_no="001",
        password="S3cret!x",
        handover_info="TRD-EXP-2026-000123",
        input_id_no="0000004711",
    )


def telegram_for(
    code: str, bundle: TradeBundle, config: PrefillConfig, channel: ChannelSettings = SJIS
) -> bytes:
    form = prefill(load_field_map(code), bundle, config, charset=channel.charset)
    return build_input_telegram(input_header(code), load_field_map(code), form.values(), channel)


def expected_line_widths(field_map: FieldMap, values: FormValues) -> list[int]:
    widths: list[int] = []
    for element in field_map.layout():
        if isinstance(element, ItemSpec):
            widths.append(element.width)
            continue
        count = (
            element.max_repeats
            if element.emit == "all"
            else len(values.groups.get(element.key, []))
        )
        widths.extend(i.width for _ in range(count) for i in field_map.group_items(element.key))
    return widths


def assert_matches_golden(name: str, data: bytes) -> None:
    path = GOLDEN / f"{name}.bin"
    if os.environ.get("NACCS_UPDATE_GOLDEN") == "1":
        path.write_bytes(data)
    expected = path.read_bytes()
    first_difference = next(
        (i for i, (a, b) in enumerate(zip(data, expected, strict=False)) if a != b), None
    )
    assert (len(data), first_difference) == (len(expected), None), (
        f"{name} differs from the golden telegram"
    )


# ------------------------------------------------------------------------------------------ input header


def test_header_layout_is_the_documented_398_bytes() -> None:
    """Offsets of §1.2/§1.3 of the domain note: contiguous, 398 bytes, 電文長 last at 392."""
    for layout in (INPUT_HEADER_FIELDS, OUTPUT_HEADER_FIELDS):
        assert [f.offset for f in layout[1:]] == [f.offset + f.width for f in layout[:-1]]
        assert layout[-1].offset + layout[-1].width == 398
        assert (layout[-1].name, layout[-1].offset) == ("message_length", 392)


@pytest.mark.parametrize(
    ("code", "fixture"), [("ECR", "export_fcl"), ("EDA", "export_fcl"), ("IDA", "import_fcl")]
)
def test_golden_input_telegram(
    code: str, fixture: str, request: pytest.FixtureRequest, config: PrefillConfig
) -> None:
    bundle: TradeBundle = request.getfixturevalue(fixture)
    data = telegram_for(code, bundle, config)

    # the common header, field by field
    assert data[0:3] == b"   "
    assert data[3:8] == code.ljust(5).encode()
    assert data[8:29] == b" " * 21
    assert data[29:34] == b"3AB12"
    assert data[34:37] == b"001"
    assert data[37:45] == b"S3cret!x"
    assert data[45:219] == b" " * 174
    assert data[219:245] == b"TRD-EXP-2026-000123".ljust(26)
    assert data[253:263] == b"0000004711"
    assert data[263:364] == b" " * 101
    assert data[364:365] == b"2"  # sea
    assert data[365:392] == b" " * 27
    assert data[392:398] == f"{len(data):06d}".encode()  # 電文長 = the whole telegram
    assert data[398:400] == CRLF

    # the body: one CRLF-terminated line per item, each exactly the item's width in bytes
    field_map = load_field_map(code)
    values = prefill(field_map, bundle, config).values()
    body = data[400:]
    assert body.endswith(CRLF)
    assert [len(line) for line in body.split(CRLF)[:-1]] == expected_line_widths(field_map, values)
    assert_matches_golden(f"{code}_{fixture}", data)


def test_ecr_items_sit_left_justified_at_their_width(
    export_fcl: TradeBundle, config: PrefillConfig
) -> None:
    lines = telegram_for("ECR", export_fcl, config)[400:].split(CRLF)
    assert lines[0] == b"9"  # 処理区分: new
    assert lines[3] == b"ONEYTYOE12345600".ljust(35)
    assert lines[5] == b"9V7654".ljust(9)  # call sign via the vessel master (T8)
    assert lines[8] == b"JPTYO"
    assert lines[9] == b"USLAX"
    assert lines[11] == b"40104010345670000"  # 法人番号 + 枝番 (T5)


def test_eda_line_block_is_184_bytes_and_ida_383_as_in_the_public_code(
    export_fcl: TradeBundle, import_fcl: TradeBundle, config: PrefillConfig
) -> None:
    """[S5]'s constants: an EDA 欄 is 184 bytes, an IDA 欄 383 (widths + one CRLF per item)."""
    for code, bundle, block in (("EDA", export_fcl, 184), ("IDA", import_fcl, 383)):
        both = telegram_for(code, bundle, config)
        invoice = bundle.iv
        assert invoice is not None
        one_line = bundle.model_copy(
            update={"iv": invoice.model_copy(update={"commodity": invoice.commodity[:1]})}
        )
        assert len(both) - len(telegram_for(code, one_line, config)) == block


def test_ida_header_part_is_the_public_constant_plus_the_sea_port_code() -> None:
    """[S5]'s IDA header constant is 2,301 bytes (air); at sea 取卸港 is a 5-character LOCODE, not 3."""
    assert load_field_map("IDA").body_width() == 2301 + 2


def test_eda_header_part_accounts_for_the_public_item_sum() -> None:
    """[S5]'s EDA items sum to 2,290 bytes (domain note §1.4). Ours: without the air-only AWB slot (35 + CRLF),
    with one バンニング場所コード instead of the four [S5] writes (3 × (17 + CRLF)), and a 5-character 積込港."""
    assert load_field_map("EDA").body_width() == 2290 - 37 - 3 * 19 + 2


def test_full_width_text_costs_two_bytes_in_every_channel(
    export_fcl: TradeBundle, config: PrefillConfig
) -> None:
    sjis = telegram_for("EDA", export_fcl, config, SJIS)
    euc = telegram_for("EDA", export_fcl, config, EUC)
    assert len(sjis) == len(euc)
    remark = "取扱注意 精密機器につき横積み厳禁"
    assert remark.encode("shift_jis").ljust(70) in sjis.split(CRLF)
    assert remark.encode("euc_jp").ljust(70) in euc.split(CRLF)


def test_input_telegram_reads_back(export_fcl: TradeBundle, config: PrefillConfig) -> None:
    field_map = load_field_map("EDA")
    values = prefill(field_map, export_fcl, config).values()
    data = build_input_telegram(input_header("EDA"), field_map, values, SJIS)
    header, decoded = parse_input_telegram(data, field_map, SJIS)
    assert header == input_header("EDA")
    assert decoded.items == values.items
    assert decoded.groups["lines"] == values.groups["lines"]


# ------------------------------------------------------------------------------------------ item rules


def _item(width: int, kind: str = "an", *, full_width: bool = False) -> ItemSpec:
    return ItemSpec(
        key="remarks", id="RMK", name_ja="記事", name_en="Remarks", width=width, type=kind,  # type: ignore[arg-type]
        presence="O", full_width=full_width,
    )  # fmt: skip


def test_full_width_text_is_cut_on_a_character_boundary() -> None:
    text = "A" + "精密機器" * 20  # 1 + 160 bytes
    cut = truncate_to_bytes(text, 140, Charset.SHIFT_JIS)
    assert cut == "A" + ("精密機器" * 20)[:69]  # 139 bytes: the 70th kanji would straddle byte 140
    encoded = encode_item(_item(140, full_width=True), cut, Charset.SHIFT_JIS)
    assert len(encoded) == 140
    assert encoded.endswith(b" ")
    assert encoded.decode("shift_jis").rstrip() == cut  # no half character left behind


def test_prefill_truncates_long_full_width_remarks_and_says_so(
    export_fcl: TradeBundle, config: PrefillConfig
) -> None:
    si = export_fcl.si
    assert si is not None
    long_remark = "精密機器のため" * 12  # 84 characters = 168 bytes > 140
    bundle = export_fcl.model_copy(update={"si": si.model_copy(update={"remarks": long_remark})})
    form = prefill(load_field_map("ECR"), bundle, config)
    remarks = form.get("remarks")
    assert remarks.value == long_remark[:70]
    assert any(
        i.item_key == "remarks" and "shortened from 168 to 140 bytes" in i.message
        for i in form.issues
    )
    telegram = build_input_telegram(input_header("ECR"), load_field_map("ECR"), form.values(), SJIS)
    assert long_remark[:70].encode("shift_jis") in telegram


def test_too_long_values_are_refused_by_the_codec_naming_the_item() -> None:
    with pytest.raises(
        ItemTooLong, match=r"remarks \(記事, RMK\): 6 bytes do not fit the item's 5 bytes"
    ):
        encode_item(_item(5), "ABCDEF", Charset.SHIFT_JIS)
    with pytest.raises(ItemTooLong):
        encode_item(_item(5, full_width=True), "精密機", Charset.EUC_JP)  # 6 bytes


@pytest.mark.parametrize(
    ("value", "char", "position", "kind", "full_width"),
    [
        ("AB①", "①", 2, "an", True),  # NEC special character: CP932 only
        ("ｱｲｳ", "ｱ", 0, "an", True),  # half-width katakana
        ("10～20", "～", 2, "an", True),  # FULLWIDTH TILDE does not round-trip in EUC-JP
        ("精密", "精", 0, "an", False),  # full-width where only half-width is allowed
        ("12A", "A", 2, "n", False),  # letters in a numeric item
        ("TAB\there", "\t", 3, "an", False),
    ],
)
def test_characters_outside_naccs_are_refused_before_sending(
    value: str, char: str, position: int, kind: str, full_width: bool
) -> None:
    with pytest.raises(DisallowedCharacter) as caught:
        encode_item(_item(20, kind, full_width=full_width), value, Charset.CP932)
    assert (caught.value.item_key, caught.value.char, caught.value.position) == (
        "remarks",
        char,
        position,
    )
    assert "記事" in str(caught.value)


def test_all_refused_values_are_listed_at_once() -> None:
    field_map = load_field_map("ECR")
    values = FormValues(
        items={"booking_no": "ONEY①", "total_packages": "12O", "remarks": "精密" * 71},
        groups={"carry_in": [{"carry_in_code": "1AW61"}, {"carry_in_code": "東京"}]},
    )
    problems = check_values(field_map, values, SJIS)
    assert [(type(p).__name__, p.item_key) for p in problems] == [
        ("DisallowedCharacter", "booking_no"),
        ("DisallowedCharacter", "total_packages"),
        ("ItemTooLong", "remarks"),
        ("DisallowedCharacter", "carry_in_code"),
    ]


def test_values_for_items_the_map_lacks_are_refused_not_dropped() -> None:
    values = FormValues(
        items={"booking_no": "X", "bookingNo": "Y"}, groups={"carry_in": [{"code": "1"}]}
    )
    with pytest.raises(UnknownItems, match=r"ECR has no items bookingNo, carry_in.code"):
        encode_body(load_field_map("ECR"), values, SJIS)


def test_repeat_overflow_is_refused() -> None:
    field_map = load_field_map("ECR")
    values = FormValues(groups={"carry_in": [{"carry_in_code": "1AW61"}] * 6})
    with pytest.raises(RepeatOverflow, match="carry_in: 6 repeats exceed the maximum of 5"):
        encode_body(field_map, values, SJIS)


def test_numeric_alignment_is_a_channel_setting() -> None:
    item = _item(6, "n")
    assert encode_item(item, "42", Charset.SHIFT_JIS) == b"42    "
    assert encode_item(item, "42", Charset.SHIFT_JIS, align_numeric_right=True) == b"    42"


# ------------------------------------------------------------------------------------------ round trips

HALF_WIDTH = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
FULL_WIDTH_SAMPLE = (
    "日本語輸出申告精密機器東京横浜神戸港湾貨物あいうえおアイウエオー・「」（）１２３ＡＢＣ"
)
PORTABLE = st.sampled_from([c for c in FULL_WIDTH_SAMPLE if is_portable_full_width(c)])


def value_for(item: ItemSpec, charset: Charset) -> st.SearchStrategy[str]:
    if item.type == "n":
        return st.text("0123456789", max_size=item.width)
    alphabet = st.one_of(HALF_WIDTH, PORTABLE) if item.full_width else HALF_WIDTH
    return st.text(alphabet, max_size=item.width).map(
        lambda text: truncate_to_bytes(text, item.width, charset).rstrip(" ")
    )


@st.composite
def values_for_map(draw: st.DrawFn, field_map: FieldMap, charset: Charset) -> FormValues:
    values = FormValues()
    for element in field_map.layout():
        if isinstance(element, ItemSpec):
            values.items[element.key] = draw(value_for(element, charset))
            continue
        members = field_map.group_items(element.key)
        count = draw(st.integers(0, min(element.max_repeats, 3)))
        values.groups[element.key] = [
            {item.key: draw(value_for(item, charset)) for item in members} for _ in range(count)
        ]
    return values


def without_trailing_blank_blocks(values: FormValues) -> FormValues:
    groups = {}
    for key, blocks in values.groups.items():
        kept = list(blocks)
        while kept and not any(kept[-1].values()):
            kept.pop()
        groups[key] = kept
    return FormValues(items=values.items, groups=groups)


@st.composite
def random_field_maps(draw: st.DrawFn) -> FieldMap:
    count = draw(st.integers(1, 6))
    items = [
        {
            "key": f"item{i}",
            "name_ja": f"項目{i}",
            "name_en": f"item {i}",
            "width": draw(st.integers(1, 40)),
            "type": draw(st.sampled_from(["an", "n"])),
            "full_width": draw(st.booleans()),
            "presence": "O",
        }
        for i in range(count)
    ]
    groups = []
    if draw(st.booleans()):
        emit = draw(st.sampled_from(["all", "used"]))
        groups.append(
            {"key": "block", "name_ja": "欄", "max_repeats": draw(st.integers(1, 4)), "emit": emit}
        )
        tail = draw(st.integers(1, count))
        for item in items[count - tail :]:
            item["group"] = "block"
    return FieldMap.model_validate(
        {"code": "TST", "name_ja": "試験", "completeness": "full", "groups": groups, "items": items}
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), charset=st.sampled_from(list(Charset)))
def test_eda_items_round_trip(data: st.DataObject, charset: Charset) -> None:
    field_map = load_field_map("EDA")
    values = data.draw(values_for_map(field_map, charset))
    channel = ChannelSettings(charset=charset)
    body = encode_body(field_map, values, channel)
    assert decode_body(field_map, body, channel) == without_trailing_blank_blocks(values)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), field_map=random_field_maps(), charset=st.sampled_from(list(Charset)))
def test_arbitrary_maps_and_allowed_strings_round_trip(
    data: st.DataObject, field_map: FieldMap, charset: Charset
) -> None:
    values = data.draw(values_for_map(field_map, charset))
    channel = ChannelSettings(
        charset=charset, numeric_alignment=data.draw(st.sampled_from(["left", "right"]))
    )
    body = encode_body(field_map, values, channel)
    assert len(body) == field_map.body_width(
        {g.key: len(values.groups.get(g.key, [])) for g in field_map.groups}
    )
    assert decode_body(field_map, body, channel) == without_trailing_blank_blocks(values)


PRINTABLE = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=8)


@settings(max_examples=60, deadline=None)
@given(
    code=st.from_regex(r"\A[A-Z]{3}[0-9]{0,2}\Z"),
    user=st.from_regex(r"\A[A-Z0-9]{5}\Z"),
    suffix=st.from_regex(r"\A[A-Z0-9]{3}\Z"),
    password=PRINTABLE,
    handover=st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=26).map(
        str.rstrip
    ),
    input_id=st.from_regex(r"\A[0-9]{0,10}\Z"),
    index=st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=100).map(
        str.rstrip
    ),
)
def test_input_header_round_trips(
    code: str, user: str, suffix: str, password: str, handover: str, input_id: str, index: str
) -> None:
    header = InputHeader(
        business_code=code, user_code=user, identification_no=suffix, password=password,
        handover_info=handover, input_id_no=input_id, index_handover=index,
    )  # fmt: skip
    data = encode_input_header(header, 400)
    assert len(data) == 400
    assert parse_input_header(data) == (header, 400)


# ------------------------------------------------------------------------------------------ output telegrams


def output_telegram(
    *,
    code: str = "EDA",
    info: str = "*SEDA",
    kind: str = "R",
    received: str = "20261122093015",
    handover: str = "TRD-EXP-2026-000123",
    input_id: str = "0000004711",
    body_lines: tuple[bytes, ...] = (b"00000-0000-0000" + b" " * 60, b"12345678901"),
    length: int | None = None,
) -> bytes:
    header = bytearray(b" " * 398)

    def put(offset: int, value: str) -> None:
        header[offset : offset + len(value)] = value.encode("ascii")

    put(3, code)
    put(8, info)
    put(15, received)
    put(29, "3AB12")
    put(51, "3ab12@naccs.example")
    put(115, "1234567890")
    put(219, handover)
    put(245, "001")
    put(248, "E")
    put(249, kind)
    put(253, input_id)
    put(363, "I")
    body = b"".join(line + CRLF for line in body_lines)
    total = 400 + len(body) if length is None else length
    put(392, f"{total:06d}")
    return bytes(header) + CRLF + body


def patched(data: bytes, offset: int, raw: bytes) -> bytes:
    return data[:offset] + raw + data[offset + len(raw) :]


def test_result_notice_decodes_into_typed_results() -> None:
    codes = b"W0123-SEN -0000" + b"00000-0000-0000" + b" " * 45
    notice = parse_result_notice(output_telegram(body_lines=(codes, b"4711001234 ")), SJIS)
    assert notice.header.business_code == "EDA"
    assert notice.header.output_info_code == "*SEDA"
    assert notice.header.message_kind is MessageKind.RESULT
    assert notice.header.is_result_notice
    assert notice.header.received_at is not None
    assert notice.header.received_at.minute == 30
    assert (notice.header.handover_info, notice.header.input_id_no) == (
        "TRD-EXP-2026-000123",
        "0000004711",
    )
    assert [c.raw for c in notice.codes] == ["W0123-SEN -0000", "00000-0000-0000"]
    assert notice.codes[0].is_warning
    assert notice.codes[0].item_id == "SEN"
    assert notice.accepted  # a W is a warning, not a failure
    assert notice.reference_no == "4711001234"


def test_error_result_is_not_accepted_and_names_item_and_repeat() -> None:
    codes = b"S0007-BOK -0002R0101-LPR -0000" + b" " * 45
    notice = parse_result_notice(output_telegram(body_lines=(codes,)), SJIS)
    assert not notice.accepted
    assert [(c.code, c.item_id, c.repeat_no) for c in notice.errors] == [
        ("S0007", "BOK", 2),
        ("R0101", "LPR", None),
    ]
    assert notice.reference_no is None


@settings(max_examples=60, deadline=None)
@given(
    results=st.lists(
        st.from_regex(r"\A[0AEMRSUW][0-9]{4}-([A-Z0-9]{3} |0000)-[0-9]{4}\Z"),
        min_size=1,
        max_size=5,
    ),
    kind=st.sampled_from([k.value for k in MessageKind]),
    handover=st.from_regex(r"\A[A-Z0-9-]{0,26}\Z"),
)
def test_output_header_and_result_codes_round_trip(
    results: list[str], kind: str, handover: str
) -> None:
    line = "".join(results).ljust(75).encode()
    notice = parse_result_notice(
        output_telegram(kind=kind, handover=handover, body_lines=(line,)), EUC
    )
    assert [c.raw for c in notice.codes] == results
    assert (notice.header.message_kind.value, notice.header.handover_info) == (kind, handover)


@pytest.mark.parametrize(
    ("data", "error", "offset", "text"),
    [
        (b"", TelegramTooShort, 0, "a header alone needs 400"),
        (output_telegram()[:250], TelegramTooShort, 250, "a header alone needs 400"),
        (
            output_telegram()[:398] + b"XX" + output_telegram()[400:],
            MalformedHeader,
            398,
            "not followed by CRLF",
        ),
        (output_telegram(length=999), LengthMismatch, 392, "電文長 says 999 bytes"),
        (patched(output_telegram(), 392, b"00O490"), MalformedHeader, 392, "is not 6 digits"),
        (output_telegram(kind="Z"), MalformedHeader, 249, "電文種別 'Z' is unknown"),
        (output_telegram(received="20261399999999"), MalformedHeader, 15, "is not a date"),
        (output_telegram(code="e!a"), MalformedHeader, 3, "is not a business code"),
        (
            output_telegram().replace(b"TRD-", "ＴＲ".encode("shift_jis"), 1),
            MalformedHeader,
            219,
            "is not half-width",
        ),
        (
            output_telegram(body_lines=(b"00000-0000-0000OOPS-SEN -0001",)),
            MalformedResultCode,
            415,
            "is not NNNNN-XXXX-YYYY",
        ),
        (output_telegram(body_lines=(b"   ",)), MalformedResultCode, 400, "is not NNNNN-XXXX-YYYY"),
        (output_telegram(body_lines=()), TelegramTooShort, 400, "without the result-code line"),
        (
            output_telegram(body_lines=(b"00000-0000-0000", b"\x81")),
            TelegramError,
            417,
            "do not decode",
        ),
    ],
)
def test_malformed_output_telegrams_raise_typed_errors(
    data: bytes, error: type[TelegramError], offset: int, text: str
) -> None:
    with pytest.raises(error) as caught:
        parse_result_notice(data, SJIS)
    assert caught.value.offset == offset
    assert text in str(caught.value)


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=600))
def test_arbitrary_bytes_never_crash_the_reader(data: bytes) -> None:
    try:
        parse_result_notice(data, EUC)
    except TelegramError:
        pass


@settings(max_examples=150, deadline=None)
@given(position=st.integers(0, 500), byte=st.integers(0, 255))
def test_corrupted_replies_parse_or_raise_typed_errors(position: int, byte: int) -> None:
    data = bytearray(output_telegram())
    data[position % len(data)] = byte
    try:
        parse_result_notice(bytes(data), SJIS)
    except TelegramError:
        pass


def test_a_truncated_body_names_the_item_and_offset(
    export_fcl: TradeBundle, config: PrefillConfig
) -> None:
    field_map = load_field_map("ECR")
    body = encode_body(field_map, prefill(field_map, export_fcl, config).values(), SJIS)
    with pytest.raises(MalformedBody) as caught:
        decode_body(field_map, body[:10], SJIS)
    assert (
        caught.value.item_key == "export_control_no"
    )  # the second item: 処理区分 (1 + CRLF) was complete
    assert caught.value.offset == 400 + 10  # where the bytes ran out
    assert "ends early" in str(caught.value)
    with pytest.raises(MalformedBody, match="extra bytes"):
        decode_body(field_map, body + b"X\r\n", SJIS)


def test_free_text_header_fields_decode_in_the_channel_charset() -> None:
    subject = "輸出許可通知".encode("euc_jp")
    data = patched(output_telegram(kind="P"), 115, subject)
    assert parse_output_telegram(data, EUC).header.subject.startswith("輸出許可通知")
    with pytest.raises(MalformedHeader) as caught:
        parse_output_telegram(patched(data, 115, b"\xff\xff"), EUC)
    assert (caught.value.field, caught.value.offset) == ("subject", 115)


def part(seq: int, *lines: bytes, input_id: str = "0000004711") -> OutputTelegram:
    data = patched(
        output_telegram(info="SAE4001", kind="M", input_id=input_id, body_lines=lines),
        245,
        f"{seq:03d}".encode(),
    )
    return parse_output_telegram(data, SJIS)


def test_split_outputs_join_in_sequence_order() -> None:
    joined = join_parts([part(2, b"C", b"D"), part(1, b"A", b"B"), part(3, b"E")])
    assert joined.lines == ("A", "B", "C", "D", "E")
    assert joined.header.split_seq == 3


@pytest.mark.parametrize(
    ("parts", "field"),
    [
        (lambda: [part(1, b"A"), part(3, b"C")], "split_seq"),  # part 2 missing
        (
            lambda: [part(1, b"A"), part(2, b"B", input_id="0000009999")],
            "handover_info",
        ),  # another output
    ],
)
def test_incomplete_or_mixed_parts_are_refused(
    parts: Callable[[], list[OutputTelegram]], field: str
) -> None:
    with pytest.raises(MalformedHeader) as caught:
        join_parts(parts())
    assert caught.value.field == field


def test_a_result_notice_names_the_code_it_answers() -> None:
    assert (
        parse_output_telegram(output_telegram(info="*SNVC01"), SJIS).header.answered_code == "NVC01"
    )
    assert (
        parse_output_telegram(output_telegram(info="SAE4001", kind="P"), SJIS).header.answered_code
        is None
    )


def test_parse_output_telegram_returns_every_body_line() -> None:
    telegram = parse_output_telegram(
        output_telegram(kind="M", body_lines=(b"LINE1", b"LINE2")), SJIS
    )
    assert telegram.lines == ("LINE1", "LINE2")
