import pytest

from forms.domain.catalogue import (
    FORM_TYPES,
    FORM_TYPES_BY_CODE,
    TRIGGER_FORM_CODES,
    BusinessType,
    Direction,
    UnknownFormType,
    creatable_by,
    form_type,
    shared_keys_of,
)
from forms.domain.labels import FIELD_LABELS, labelled_json_schema
from forms.domain.paths import schema_patterns

CYBER_PORT_CODES = {"UL040", "UL050", "UL090", "UL100", "UL110", "UL120", "UL150", "UL290"}


def test_catalogue_has_37_distinct_form_types() -> None:
    assert len(FORM_TYPES) == 37
    assert len(FORM_TYPES_BY_CODE) == 37


def test_published_cyber_port_codes_are_marked_as_such() -> None:
    cyber_port = {form.code for form in FORM_TYPES if form.code_source == "cyberport"}
    assert cyber_port == CYBER_PORT_CODES
    assert all(form.code.startswith("MX") for form in FORM_TYPES if form.code_source == "minato")


def test_trigger_forms_are_booking_confirmation_si_bl_and_arrival_notice() -> None:
    assert TRIGGER_FORM_CODES == {"UL050", "UL040", "UL150", "UL290"}
    assert form_type("UL290").direction is Direction.IMPORT
    assert form_type("UL040").direction is Direction.EXPORT


def test_known_names_of_key_forms() -> None:
    assert form_type("UL040").name_ja == "船積依頼書(S/I)"
    assert form_type("UL050").name_ja == "船腹予約確認書"
    assert form_type("UL090").name_ja == "コンテナ貨物搬入票"
    assert form_type("MX060").name_ja == "危険物明細書"
    assert form_type("MX070").name_ja == "危険物・有害物事前連絡表"


def test_unknown_code_raises() -> None:
    with pytest.raises(UnknownFormType):
        form_type("UL999")


@pytest.mark.parametrize("form", FORM_TYPES, ids=lambda form: form.code)
def test_every_field_of_every_schema_has_ja_and_en_labels(form) -> None:  # type: ignore[no-untyped-def]
    missing = set()
    for pattern in schema_patterns(form.schema):
        leaf = pattern.rsplit(".", 1)[-1].removesuffix("[*]")
        label = FIELD_LABELS.get(leaf)
        if label is None or not label.ja or not label.en:
            missing.add(leaf)
    assert not missing, f"{form.code}: fields without labels: {sorted(missing)}"


@pytest.mark.parametrize("form", FORM_TYPES, ids=lambda form: form.code)
def test_required_paths_exist_in_the_schema(form) -> None:  # type: ignore[no-untyped-def]
    patterns = schema_patterns(form.schema)
    unknown = [path for path in form.required_for_send if path not in patterns]
    assert not unknown, f"{form.code}: required_for_send names unknown fields {unknown}"
    assert form.required_for_send, f"{form.code} has no send requirements"


@pytest.mark.parametrize("form", FORM_TYPES, ids=lambda form: form.code)
def test_form_carries_the_fields_of_its_shared_groups_and_locks_only_those(form) -> None:  # type: ignore[no-untyped-def]
    fields = schema_patterns(form.schema)
    carried = shared_keys_of(form)
    assert set(carried) <= fields
    assert set(form.locks) <= set(carried)


def test_every_business_type_can_create_something() -> None:
    for business_type in BusinessType:
        if business_type is BusinessType.PORT_AUTHORITY:
            continue  # the port authority receives forms (DG list, manifest) but creates none here
        assert creatable_by(business_type), business_type


def test_carrier_creates_bl_and_shipper_creates_si() -> None:
    assert form_type("UL150") in creatable_by(BusinessType.CARRIER)
    assert form_type("UL150") not in creatable_by(BusinessType.SHIPPER)
    assert form_type("UL040") in creatable_by(BusinessType.SHIPPER)
    assert BusinessType.TERMINAL_OPERATOR in form_type("UL090").receivers


def test_si_schema_uses_canonical_names() -> None:
    fields = schema_patterns(form_type("UL040").schema)
    for name in [
        "shipper",
        "consignee",
        "notifyParty",
        "billOfLading",
        "commodity",
        "scacCode",
        "totalPackages",
        "commodityTotalGrossWeight",
        "commodityTotalGrossWeightUnitCode",
        "marksAndNumbers",
        "containers",
        "vessel",
        "voyageNumber",
        "portOfLoading",
    ]:
        assert name in fields


@pytest.mark.parametrize("code", ["UL040", "UL290", "MX060"])
def test_json_schema_carries_labels_on_every_property(code: str) -> None:
    schema = labelled_json_schema(form_type(code).schema)
    containers = [schema, *schema["$defs"].values()]
    unlabelled = [
        name
        for container in containers
        for name, prop in container.get("properties", {}).items()
        if not prop.get("label_ja") or not prop.get("label_en")
    ]
    assert unlabelled == []
    assert schema["properties"]["shipper"]["label_ja"] == "荷送人(シッパー)"
