"""The compiled prefill plan and body encoder give exactly what the map, read item by item, gives: the same
form (values, provenance, issues, what a person must enter) and the same telegram bytes or the same error."""

from __future__ import annotations

import gc
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from naccs_bridge.domain import transforms
from naccs_bridge.domain.bundle import CarryInPlace, TradeBundle
from naccs_bridge.domain.charset import (
    Charset,
    first_disallowed,
    half_width_is_printable_ascii,
    is_portable_full_width,
    load_charset_policy,
)
from naccs_bridge.domain.errors import NaccsBridgeError
from naccs_bridge.domain.loading import load_catalogue, load_field_map
from naccs_bridge.domain.prefill import (
    _PLANS,
    FilledItem,
    NaccsForm,
    Provenance,
    _Engine,
    _PlanRun,
    compile_plan,
    interpreted_prefill,
    prefill,
    reference_prefill,
)
from naccs_bridge.domain.specs import FieldMap, FieldMapPlans, SourceKind, construct_trusted
from naccs_bridge.domain.telegram import (
    _BODY_PLANS,
    INPUT_HEADER_FIELDS,
    ChannelSettings,
    FormValues,
    InputHeader,
    _knows_every_key,
    encode_body,
    encode_input_header,
    interpreted_encode_body,
    reference_encode_body,
)
from naccs_bridge.domain.transforms import BUNDLE_PARTS, LazyTree, PrefillConfig, dump_field
from shared.codes.corporate_number import check_corporate_number

ALL_CODES = [entry.code for entry in load_catalogue().codes]


def eager_reference(
    field_map: FieldMap, bundle: TradeBundle, config: PrefillConfig, charset: Charset
) -> NaccsForm:
    """The reference engine over the whole tree dumped up front, as before the tree was lazy."""
    engine = _Engine(field_map, bundle, config, charset)
    engine.ctx.tree = bundle.as_tree()
    return engine.fill()


def generated_prefill(
    field_map: FieldMap, bundle: TradeBundle, config: PrefillConfig, charset: Charset
) -> NaccsForm | None:
    """The map's generated function alone: the form, or None where it leaves the form to the plan."""
    plan = _PLANS.get(field_map)
    return plan.generated.fill(_PlanRun(plan, bundle, config, charset))


def assert_same_model(made: NaccsForm, reference: NaccsForm) -> None:
    assert made == reference
    assert repr(made) == repr(reference)
    assert made.model_dump() == reference.model_dump()
    assert [i.model_fields_set for i in made.items] == [i.model_fields_set for i in reference.items]
    assert made.model_fields_set == reference.model_fields_set


def assert_same_form(
    field_map: FieldMap, bundle: TradeBundle, config: PrefillConfig
) -> list[NaccsForm | None]:
    """Every path gives the reference's form; returns what the generated functions gave, by charset."""
    generated_forms: list[NaccsForm | None] = []
    for charset in Charset:
        planned = prefill(field_map, bundle, config, charset=charset)
        reference = reference_prefill(field_map, bundle, config, charset=charset)
        assert_same_model(planned, reference)
        assert planned == eager_reference(field_map, bundle, config, charset)
        assert_same_model(
            interpreted_prefill(field_map, bundle, config, charset=charset), reference
        )
        generated = generated_prefill(field_map, bundle, config, charset)
        if generated is not None:
            assert_same_model(generated, reference)
        generated_forms.append(generated)
        assert planned.values() == reference.values()
        for alignment in ("left", "right"):
            channel = ChannelSettings(charset=charset, numeric_alignment=alignment)
            assert_same_body(field_map, planned.values(), channel)
    return generated_forms


def assert_same_body(field_map: FieldMap, values: FormValues, channel: ChannelSettings) -> None:
    expected: bytes | NaccsBridgeError
    try:
        expected = reference_encode_body(field_map, values, channel)
    except NaccsBridgeError as error:
        expected = error
    plan = _BODY_PLANS.get(field_map)
    if _knows_every_key(plan, values):  # the generated function alone: the bytes, or None to refuse
        body = plan.generated(
            values.items, values.groups, channel.charset, channel.numeric_alignment == "right"
        )
        if isinstance(expected, bytes):
            assert body is None or body == expected
        else:
            assert body is None
    if isinstance(expected, bytes):
        assert encode_body(field_map, values, channel) == expected
        assert interpreted_encode_body(field_map, values, channel) == expected
        return
    for encode in (encode_body, interpreted_encode_body):
        with pytest.raises(type(expected)) as raised:
            encode(field_map, values, channel)
        assert raised.value.args == expected.args


@pytest.mark.parametrize("code", ALL_CODES)
def test_every_map_gives_the_reference_form_and_bytes_for_every_fixture(
    code: str,
    export_fcl: TradeBundle,
    export_lcl: TradeBundle,
    import_fcl: TradeBundle,
    config: PrefillConfig,
) -> None:
    field_map = load_field_map(code)
    for bundle in (export_fcl, export_lcl, import_fcl, TradeBundle()):
        generated = assert_same_form(field_map, bundle, config)
        correction = bundle.model_copy(update={"processing": "correct"})
        generated += assert_same_form(field_map, correction, config)
        # the fixtures hold nothing NACCS refuses: the generated function made every form itself
        assert None not in generated


def test_a_refused_character_leaves_the_form_to_the_plan(
    export_fcl: TradeBundle, config: PrefillConfig
) -> None:
    si = export_fcl.si
    assert si is not None
    field_map = load_field_map("ECR")
    refused = export_fcl.model_copy(
        update={"si": si.model_copy(update={"shipper_reference": "PO\x0088213"})}
    )
    assert generated_prefill(field_map, refused, config, Charset.SHIFT_JIS) is None
    form = prefill(field_map, refused, config)
    assert form.get("shipper_reference").needs_person
    assert form.issues[-1].item_key == "shipper_reference"
    assert_same_form(field_map, refused, config)
    values = form.values()
    plan = _BODY_PLANS.get(field_map)
    assert plan.generated(values.items, values.groups, Charset.SHIFT_JIS, False) is None
    with pytest.raises(NaccsBridgeError):
        encode_body(field_map, values, ChannelSettings())


def test_the_generated_source_is_kept_with_the_plan() -> None:
    plan = _PLANS.get(load_field_map("ECR"))
    assert plan.generated.source.startswith("def fill_ECR(run):")
    assert "# booking_no" in plan.generated.source
    assert _BODY_PLANS.get(load_field_map("ECR")).source.startswith("def body_ECR(")


def test_entries_truncation_and_refused_characters_take_the_reference_paths(
    export_fcl: TradeBundle, config: PrefillConfig
) -> None:
    si = export_fcl.si
    assert si is not None
    bundle = export_fcl.model_copy(
        update={
            "si": si.model_copy(
                update={
                    "remarks": "精密機器" * 40,  # full-width, cut to 140 bytes with a warning
                    "marks_and_numbers": "ミナト電機",  # refused in a half-width item
                    "carry_in_places": [
                        CarryInPlace(bonded_area_code=f"1A{n:03d}", packages=n) for n in range(7)
                    ],  # more than the 5 repeats NACCS takes
                }
            ),
            "entries": {"carry_in.1.carry_in_date": "20261224", "voyage_no": "042W"},
        }
    )
    form = prefill(load_field_map("ECR"), bundle, config)
    assert any(issue.severity == "warning" for issue in form.issues)
    assert form.get("marks").needs_person
    assert form.get("voyage_no").provenance == Provenance(kind="entered", source="voyage_no")
    assert_same_form(load_field_map("ECR"), bundle, config)


TEXT = st.text(
    st.one_of(
        st.characters(min_codepoint=0x20, max_codepoint=0x7E),
        st.sampled_from("日本語精密機器ｱｲｳ①髙〜\t\n\x00"),
    ),
    max_size=90,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=TEXT,
    name=TEXT,
    weight=st.decimals(
        min_value=0, max_value=10**12, places=3, allow_nan=False, allow_infinity=False
    ),
    packages=st.integers(min_value=0, max_value=10**9),
    entries=st.dictionaries(st.sampled_from(["booking_no", "carry_in.0.carry_in_date"]), TEXT),
    processing=st.sampled_from(["new", "correct", "cancel"]),
)
def test_whatever_the_forms_hold_plan_and_reference_agree(
    export_fcl: TradeBundle,
    config: PrefillConfig,
    text: str,
    name: str,
    weight: Decimal,
    packages: int,
    entries: dict[str, str],
    processing: str,
) -> None:
    si, iv = export_fcl.si, export_fcl.iv
    assert si is not None
    assert si.consignee is not None
    assert iv is not None
    line = iv.commodity[0].model_copy(update={"description": text, "net_weight": weight})
    bundle = export_fcl.model_copy(
        update={
            "si": si.model_copy(
                update={
                    "marks_and_numbers": text,
                    "remarks": text,
                    "booking_no": name,
                    "consignee": si.consignee.model_copy(update={"name": name}),
                    "commodity_total_gross_weight": weight,
                    "total_packages": Decimal(packages),
                }
            ),
            "pl": None,
            "iv": iv.model_copy(update={"commodity": [line]}),
            "entries": entries,
            "processing": processing,
        }
    )
    for code in ("ECR", "EDA"):
        assert_same_form(load_field_map(code), bundle, config)


VALUE = st.text(
    st.one_of(st.characters(min_codepoint=0x20, max_codepoint=0x7E), st.sampled_from("日本ｱ\x7f")),
    max_size=12,
)


@settings(max_examples=80, deadline=None)
@given(
    data=st.data(),
    charset=st.sampled_from(list(Charset)),
    alignment=st.sampled_from(["left", "right"]),
)
def test_any_values_encode_to_the_reference_bytes_or_the_same_error(
    data: st.DataObject, charset: Charset, alignment: str
) -> None:
    field_map = load_field_map(data.draw(st.sampled_from(["ECR", "EDA", "VAN"])))
    items = {
        item.key: data.draw(VALUE)
        for item in field_map.items
        if item.group is None and data.draw(st.booleans())
    }
    if data.draw(st.booleans()):
        items["not_in_the_map"] = "X"
    groups: dict[str, list[dict[str, str]]] = {}
    for group in field_map.groups:
        members = [item.key for item in field_map.group_items(group.key)]
        groups[group.key] = [
            {key: data.draw(VALUE) for key in members if data.draw(st.booleans())}
            for _ in range(data.draw(st.integers(0, group.max_repeats + 1)))
        ]
    channel = ChannelSettings(charset=charset, numeric_alignment=alignment)
    assert_same_body(field_map, FormValues(items=items, groups=groups), channel)


def test_trusted_construction_equals_validated_construction() -> None:
    fields: dict[str, Any] = {
        "key": "booking_no",
        "item_id": "BOK",
        "name_ja": "ブッキング番号",
        "name_en": "Booking number",
        "group": None,
        "index": None,
        "presence": "C",
        "normally_filled": True,
        "value": "BK123",
        "provenance": Provenance(kind=SourceKind.FORM, source="form:BK.bookingNo"),
        "needs_person": False,
        "person_decision": False,
    }
    validated = FilledItem(**fields)
    trusted = construct_trusted(FilledItem, set(fields), dict(fields))
    assert trusted == validated
    assert repr(trusted) == repr(validated)
    assert trusted.model_dump_json() == validated.model_dump_json()
    assert trusted.model_fields_set == validated.model_fields_set
    changed = trusted.model_copy(update={"value": "BK124"})
    assert changed.value == "BK124"
    assert trusted.value == "BK123"
    with pytest.raises(ValueError, match="frozen"):
        trusted.value = "X"  # type: ignore[misc]
    form = construct_trusted(
        NaccsForm, {"code", "items", "issues"}, {"code": "ECR", "items": (trusted,), "issues": ()}
    )
    assert NaccsForm.model_validate_json(form.model_dump_json()) == form


def test_a_plan_is_compiled_once_per_map_and_forgotten_with_it() -> None:
    built: list[str] = []

    def build(field_map: FieldMap) -> str:
        built.append(field_map.code)
        return f"plan of {field_map.code}"

    plans: FieldMapPlans[str] = FieldMapPlans(build)
    ecr = load_field_map("ECR")
    assert plans.get(ecr) == plans.get(ecr) == "plan of ECR"
    assert built == ["ECR"]
    temporary = ecr.model_copy()
    assert plans.get(temporary) == "plan of ECR"
    assert built == ["ECR", "ECR"]  # an equal map is another map: its own plan
    del temporary
    gc.collect()
    assert len(plans._plans) == 1
    assert compile_plan(ecr).field_map is ecr


def test_the_lazy_tree_reads_as_the_whole_dump(
    export_fcl: TradeBundle, export_lcl: TradeBundle, import_fcl: TradeBundle
) -> None:
    for bundle in (export_fcl, export_lcl, import_fcl, TradeBundle()):
        tree = LazyTree(bundle, nested=frozenset({"master"}))
        assert list(tree) == list(bundle.as_tree())
        assert tree == bundle.as_tree()
        assert "AN" not in LazyTree(TradeBundle())
        assert tree.get("BL", "absent") == bundle.as_tree().get("BL", "absent")


def test_the_prefill_tree_with_lazy_parts_reads_and_prints_as_the_whole_dump(
    export_fcl: TradeBundle, export_lcl: TradeBundle, import_fcl: TradeBundle
) -> None:
    for bundle in (export_fcl, export_lcl, import_fcl, TradeBundle()):
        dump = bundle.as_tree()
        tree = LazyTree(bundle, nested=BUNDLE_PARTS)
        assert tree == dump
        assert repr(tree) == repr(dump)
        for key, part in dump.items():
            assert tree[key] == part
            assert str(tree[key]) == str(part)  # what _text() of a whole part would print
            if isinstance(part, dict):
                assert list(tree[key]) == list(part)
    tree = LazyTree(export_fcl, nested=BUNDLE_PARTS)
    assert tree["SI"]["shipper"]["companyId"] == "minato-denki"
    assert set(tree._loaded) == {"SI"}
    assert set(tree["SI"]._loaded) == {"shipper"}


def test_a_field_dumped_alone_is_the_field_in_the_whole_dump(
    export_fcl: TradeBundle, export_lcl: TradeBundle, import_fcl: TradeBundle
) -> None:
    def check(model: BaseModel) -> None:
        dump = model.model_dump(by_alias=True, exclude_none=True)
        for name, info in type(model).model_fields.items():
            value = getattr(model, name)
            key = info.alias or name
            if value is None:
                assert key not in dump
                continue
            alone = dump_field(model, name, value)
            assert alone == dump[key]
            assert type(alone) is type(dump[key])
            if isinstance(value, BaseModel):
                check(value)

    for bundle in (export_fcl, export_lcl, import_fcl, TradeBundle()):
        check(bundle)


def test_a_bundle_part_of_another_class_leaves_the_form_to_the_plan(
    export_fcl: TradeBundle, config: PrefillConfig
) -> None:
    """The generated code reads the forms' fields by their declared classes; a part of another class (a
    bundle built without validation) is read through the tree, by the plan."""
    bk = export_fcl.bk
    assert bk is not None
    odd = export_fcl.model_copy(
        update={"pl": bk}
    )  # a BookingConfirmation where a PackingList belongs
    field_map = load_field_map("ECR")
    assert generated_prefill(field_map, odd, config, Charset.SHIFT_JIS) is None
    assert_same_form(field_map, odd, config)


def test_a_master_lookup_dumps_only_the_table_it_reads(export_fcl: TradeBundle) -> None:
    tree = LazyTree(export_fcl, nested=frozenset({"master"}))
    master = tree["master"]
    assert master["bondedAreas"][0]["code"] == "1AW61"
    assert isinstance(master, LazyTree)
    assert set(master._loaded) == {"bondedAreas"}
    assert set(tree._loaded) == {"master"}


def test_the_full_width_check_is_the_character_by_character_rule() -> None:
    """The one-regex check of full-width items equals the rule it replaces (a sample of every block)."""
    half_width = load_charset_policy().half_width
    for code_point in range(0, 0x30000, 7):
        if 0xD800 <= code_point <= 0xDFFF:
            continue
        char = chr(code_point)
        expected = None if char in half_width or is_portable_full_width(char) else 0
        assert first_disallowed(char, numeric=False, full_width=True) == expected, hex(code_point)


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(
        st.text(st.characters(max_codepoint=0x7F), max_size=30),
        st.text(st.sampled_from(" .\t\n\x0b\x1c\x1fAb9-,ｱ東\u3000\u00a0"), max_size=30),
        st.text(max_size=30),
    )
)
def test_the_key_of_ascii_text_without_dots_is_the_regex_key(text: str) -> None:
    assert transforms._key(text) == (
        transforms._KEY_SEPARATORS.sub(" ", transforms.normalize_text(text).upper()).strip()
    )


def test_a_quantum_is_one_scaled_by_the_places() -> None:
    for places in range(-3, 10):
        quantum = transforms._quantum(places)
        assert quantum == Decimal(1).scaleb(-places)
        assert str(quantum) == str(Decimal(1).scaleb(-places))


def _importer_exporter_code_by_the_full_check(corporate_number: str, branch_no: str | None) -> str:
    number = check_corporate_number(corporate_number)
    if number.error is not None:
        raise transforms.TransformFailed(number.error.message_en)
    branch = transforms._NOT_DIGITS.sub("", branch_no or "") or "0000"
    if len(branch) > 4:
        raise transforms.TransformFailed(f"branch number {branch_no!r} is longer than 4 digits")
    return number.normalized + branch.zfill(4)


@settings(max_examples=300, deadline=None)
@given(
    number=st.one_of(
        st.text(st.sampled_from("0123456789"), min_size=12, max_size=14),
        st.text(st.sampled_from("0123456789 -.４"), min_size=12, max_size=16),
        st.sampled_from(["4010401034567", "4010401034568", " 4010401034567", "4010-4010-34567"]),
    ),
    branch=st.one_of(st.none(), st.sampled_from(["", "0000", "1", "12345", "00-01"])),
)
def test_the_importer_exporter_code_is_the_full_check(number: str, branch: str | None) -> None:
    expected: str | Exception
    try:
        expected = _importer_exporter_code_by_the_full_check(number, branch)
    except transforms.TransformFailed as failed:
        expected = failed
    if isinstance(expected, str):
        assert transforms.importer_exporter_code(number, branch) == expected
    else:
        with pytest.raises(transforms.TransformFailed) as raised:
            transforms.importer_exporter_code(number, branch)
        assert raised.value.reason == expected.reason


def test_on_ascii_text_isprintable_is_the_half_and_full_width_check() -> None:
    assert half_width_is_printable_ascii()  # charset.toml's table; the generated code relies on it
    for code in range(0x80):
        char = chr(code)
        allowed = first_disallowed(char, numeric=False, full_width=False) is None
        assert allowed == char.isprintable(), hex(code)
        assert (first_disallowed(char, numeric=False, full_width=True) is None) == allowed


def _header_byte_by_byte(header: InputHeader, message_length: int) -> bytes:
    """encode_input_header as it was written before its fast path: each field's bytes at its offset."""
    values = {
        "business_code": header.business_code,
        "user_code": header.user_code,
        "identification_no": header.identification_no,
        "password": header.password,
        "handover_info": header.handover_info,
        "input_id_no": header.input_id_no,
        "index_handover": header.index_handover,
        "system_id": header.system_id,
        "message_length": f"{message_length:06d}",
    }
    line = bytearray(b" " * 398)
    for field in INPUT_HEADER_FIELDS:
        raw = values.get(field.name, "").encode("ascii")
        line[field.offset : field.offset + len(raw)] = raw
    return bytes(line) + b"\r\n"


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"handover_info": "", "input_id_no": "", "password": ""},
        {"index_handover": "X" * 100, "handover_info": "Y" * 26},
        {"password": "TOO-LONG-PASSWORD"},  # built without validation: overwrites the next field
        {"handover_info": "東京"},  # not ASCII
        {"user_code": 12345},  # not text
    ],
)
def test_the_header_is_the_fields_bytes_at_their_offsets(changes: dict[str, Any]) -> None:
    fields: dict[str, Any] = {
        "business_code": "ECR",
        "user_code": "3AB12",
        "identification_no": "001",
        "password": "S3cret!x",
        "handover_info": "TRD-EXP-2026-000123",
        "input_id_no": "0000004711",
    }
    header = InputHeader.model_construct(**{**fields, **changes})
    for length in (400, 2147, 700_000):
        expected: bytes | Exception
        try:
            expected = _header_byte_by_byte(header, length)
        except Exception as error:
            expected = error
        if isinstance(expected, bytes):
            assert encode_input_header(header, length) == expected
        else:
            with pytest.raises(type(expected)) as raised:
                encode_input_header(header, length)
            assert str(raised.value) == str(expected)


@settings(max_examples=400, deadline=None)
@given(
    value=st.one_of(
        st.decimals(allow_nan=True, allow_infinity=True).filter(lambda d: not d.is_snan()),
        st.builds(
            lambda digits, exponent: Decimal(digits).scaleb(exponent),
            st.integers(-(10**12), 10**12),
            st.integers(-15, 15),
        ),
    )
)
def test_a_decimal_is_formatted_as_its_f_format_trimmed(value: Decimal) -> None:
    text = format(value.normalize(), "f")
    expected = text.rstrip("0").rstrip(".") if "." in text else text
    assert transforms.format_decimal(value) == expected


def test_a_master_row_read_from_its_model_is_the_dumped_row(
    export_fcl: TradeBundle, export_lcl: TradeBundle, import_fcl: TradeBundle
) -> None:
    for bundle in (export_fcl, export_lcl, import_fcl):
        tree = bundle.as_tree()["master"]
        for table, info in type(bundle.master).model_fields.items():
            key = info.alias or table
            models = getattr(bundle.master, table)
            for model, row in zip(models, tree.get(key, []), strict=True):
                for field in [*row, "notAField", "companyId", "code", "name"]:
                    assert transforms._row_value(model, field) == row.get(field)
                    assert transforms._row_value(row, field) == row.get(field)
