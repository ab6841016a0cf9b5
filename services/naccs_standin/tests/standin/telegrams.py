"""Input telegrams for the stand-in's tests, built with the bridge's codec (the real sender's bytes)."""

from __future__ import annotations

from naccs_bridge.domain.loading import load_field_map
from naccs_bridge.domain.telegram import (
    ChannelSettings,
    FormValues,
    InputHeader,
    build_input_telegram,
)

USER_ID = "MNT01001"
PASSWORD = "pass1234"


def telegram(
    code: str,
    items: dict[str, str],
    groups: dict[str, list[dict[str, str]]] | None = None,
    *,
    input_id_no: str = "0000000001",
    user_id: str = USER_ID,
    password: str = PASSWORD,
) -> bytes:
    header = InputHeader(
        business_code=code,
        user_code=user_id[:5],
        identification_no=user_id[5:],
        password=password,
        handover_info=f"T-{input_id_no}",
        input_id_no=input_id_no,
    )
    values = FormValues(items=items, groups=groups or {})
    return build_input_telegram(header, load_field_map(code), values, ChannelSettings())


ECR_ITEMS = {
    "processing_kind": "9",
    "booking_no": "BKG0001",
    "carrier_code": "MAEU",
    "loading_port": "JPTYO",
    "discharge_port": "USLAX",
    "goods_description": "ELECTRIC MOTORS",
    "total_packages": "10",
    "package_unit": "CT",
    "total_gross_weight": "1200",
    "weight_unit": "KGM",
}
ECR_GROUPS = {"carry_in": [{"carry_in_code": "1AW01", "carry_in_date": "20261125"}]}


def ecr(**overrides: str) -> bytes:
    input_id_no = overrides.pop("input_id_no", "0000000001")
    return telegram("ECR", {**ECR_ITEMS, **overrides}, ECR_GROUPS, input_id_no=input_id_no)


EDA_ITEMS = {
    "value_class": "L",
    "declaration_type": "E",
    "customs_office": "1A",
    "customs_department": "01",
    "planned_date": "20261122",
    "storage_code": "1AW01",
    "loading_port": "JPTYO",
    "packages": "10",
    "package_unit": "CT",
    "gross_weight": "1200",
    "weight_unit": "KGM",
    "final_destination_code": "USLAX",
    "etd": "20261128",
}
EDA_LINES = [{"hs_code": "850140000", "description": "ELECTRIC MOTORS"}]


def eda(export_control_no: str = "", input_id_no: str = "0000000002") -> bytes:
    items = dict(EDA_ITEMS)
    if export_control_no:
        items["export_control_no"] = export_control_no
    return telegram("EDA", items, {"lines": EDA_LINES}, input_id_no=input_id_no)
