"""The catalogue holds exactly the 82 business codes of the MLIT seed, and every code has a loadable field map."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from naccs_bridge.domain.errors import UnknownBusinessCode
from naccs_bridge.domain.loading import field_map_file, load_catalogue, load_field_map, maps_dir
from naccs_bridge.domain.prefill import check_field_map
from naccs_bridge.domain.specs import CodeKind, FieldMap
from naccs_bridge.domain.telegram import (
    ChannelSettings,
    FormValues,
    InputHeader,
    build_input_telegram,
)

SEED_DIR = Path("/work/shared/seeds")
SEED_LINE = re.compile(r"^\s*(\d{1,2})\s+([A-Z]{3}[0-9]{0,2})\s+(\S.*?)\s*$")

FULL_MAP_CODES = {
    "ECR", "EDA", "EDC", "IDA", "IDC", "BKR", "VAN", "VAE", "CYA", "CYO", "OLC", "ACL01",
    "IEX", "IID", "ICG", "IAL", "IVS",
}  # fmt: skip


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def seed_codes() -> list[tuple[int, str, str]]:
    """(no, code, name) rows of the press release's 別紙, parsed from the seed text."""
    seed = next(SEED_DIR.glob("000_*.txt")).read_text(encoding="utf-8")
    annex = seed[seed.index("連携対象となる NACCS の業務コード") :]
    rows = [m.groups() for line in annex.splitlines() if (m := SEED_LINE.match(line))]
    return [(int(no), code, name) for no, code, name in rows]


def test_seed_parses_to_numbered_rows(seed_codes: list[tuple[int, str, str]]) -> None:
    assert [no for no, _, _ in seed_codes] == list(range(1, len(seed_codes) + 1))
    assert (
        len(seed_codes) == 82
    )  # the press release's own count (and the Cyber Port page's "82業務コード")


def test_catalogue_has_exactly_the_seed_codes_in_order(
    seed_codes: list[tuple[int, str, str]],
) -> None:
    catalogue = load_catalogue()
    assert [(c.seed_no, c.code) for c in catalogue.codes] == [
        (no, code) for no, code, _ in seed_codes
    ]
    assert len(catalogue) == len(seed_codes)


def test_catalogue_names_match_the_seed(seed_codes: list[tuple[int, str, str]]) -> None:
    names = {c.code: _squash(c.seed_name) for c in load_catalogue().codes}
    mismatched = [(code, name) for _, code, name in seed_codes if names[code] != _squash(name)]
    assert mismatched == []


def test_call_and_inquiry_kinds_follow_the_japanese_names() -> None:
    for entry in load_catalogue().codes:
        assert (entry.kind is CodeKind.CALL) == entry.name_ja.endswith("呼出し"), entry.code
        assert (entry.kind is CodeKind.INQUIRY) == ("照会" in entry.seed_name), entry.code


def test_every_call_code_points_at_the_code_it_calls() -> None:
    catalogue = load_catalogue()
    for entry in catalogue.codes:
        if entry.kind is CodeKind.CALL:
            assert entry.parent is not None, entry.code
            assert catalogue.get(entry.parent) is not None


def test_the_required_codes_have_full_maps_and_the_rest_catalogue_maps() -> None:
    for entry in load_catalogue().codes:
        field_map = load_field_map(entry.code)
        has_file = maps_dir().joinpath(field_map_file(entry.code)).is_file()
        assert has_file == (entry.map == "full"), entry.code
        assert field_map.completeness == entry.map
        assert (entry.code in FULL_MAP_CODES) == (entry.map == "full"), entry.code


def test_every_field_map_names_only_known_rules_transforms_and_config() -> None:
    problems = [p for c in load_catalogue().codes for p in check_field_map(load_field_map(c.code))]
    assert problems == []


def test_unverified_facts_stay_marked_in_the_data() -> None:
    """The public record lacks ECR's item table: none of its items may claim to be verified except the few
    the domain note confirms (処理区分, the 5 搬入予定先)."""
    ecr = load_field_map("ECR")
    assert not ecr.verified
    assert {i.key for i in ecr.items if i.verified} == {"processing_kind"}
    assert ecr.group("carry_in").max_repeats == 5
    assert ecr.group("carry_in").verified
    assert not load_field_map("EDA").item("loading_port").verified  # sea LOCODE width is 🔶


def test_writes_back_and_feeds_say_what_the_main_codes_produce() -> None:
    catalogue = load_catalogue()
    ecr, eda, edc = (catalogue.get(code) for code in ("ECR", "EDA", "EDC"))
    assert ecr is not None
    assert "exportControlNo" in ecr.writes_back
    assert eda is not None
    assert "exportDeclarationNo" in eda.writes_back
    assert "UL100" in eda.forms
    assert edc is not None
    assert "exportPermitNo" in edc.writes_back


def test_every_code_builds_a_telegram_with_its_header(  # the 82 codes, whatever their completeness
) -> None:
    for entry in load_catalogue().codes:
        field_map = load_field_map(entry.code)
        header = InputHeader(
            business_code=entry.code, user_code="3AB12", identification_no="001", password="x"
        )
        data = build_input_telegram(header, field_map, FormValues(), ChannelSettings())
        assert data[3:8] == entry.code.ljust(5).encode()
        assert len(data) == 400 + field_map.body_width() == int(data[392:398])


def test_result_references_are_among_the_write_backs() -> None:
    catalogue = load_catalogue()
    references = {c.code: c.result_reference for c in catalogue.codes if c.result_reference}
    assert references["ECR"] == "exportControlNo"
    assert references["EDA"] == "exportDeclarationNo"
    assert references["IDA"] == "importDeclarationNo"


def test_unknown_code_is_a_typed_error() -> None:
    with pytest.raises(UnknownBusinessCode, match="ZZZ"):
        load_field_map("ZZZ")


def _item(key: str, **extra: object) -> dict[str, object]:
    return {
        "key": key,
        "name_ja": key,
        "name_en": key,
        "width": 3,
        "type": "an",
        "presence": "O",
        **extra,
    }


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ({"items": [_item("a"), _item("a")]}, "duplicate item keys"),
        ({"items": [_item("a", group="g")]}, "unknown group"),
        (
            {
                "groups": [{"key": "g", "name_ja": "g", "max_repeats": 2}],
                "items": [_item("a", group="g"), _item("b"), _item("c", group="g")],
            },
            "not contiguous",
        ),
        (
            {
                "groups": [{"key": "g", "name_ja": "g", "max_repeats": 2, "emit": "used"}],
                "items": [_item("a", group="g"), _item("b")],
            },
            "requires it to be the last",
        ),
        ({"items": [_item("a", sources=["form:XX.name"])]}, "must start with"),
        ({"items": [_item("a", sources=["form:@.name"])]}, "outside a repeat group"),
        ({"items": [_item("a", sources=["guess:anything"])]}, "guess"),
    ],
)
def test_a_broken_field_map_is_rejected_with_a_reason(
    layout: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        FieldMap.model_validate({"code": "XYZ", "name_ja": "x", "completeness": "full", **layout})
