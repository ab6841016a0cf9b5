"""Validation report of a form document: what is missing for sending, what is wrong.

A draft may be incomplete (missing items do not block saving) but must not contain wrong
values; sending requires the report to be clean. Every issue carries the JSON path of the
field and messages in Japanese and English, so the UI can paint the field red (as Cyber Port
does with NACCS errors).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from forms.domain.catalogue import form_type
from forms.domain.labels import FIELD_LABELS
from forms.domain.paths import expand, generalize, get_path, is_empty, join_path, split_path
from forms.domain.totals import compute_totals, to_decimal
from shared.codes import BUNDLED_LOCODES

IssueKind = Literal["missing", "invalid", "warning"]


@dataclass(frozen=True, slots=True)
class Issue:
    path: str
    kind: IssueKind
    code: str
    message_en: str
    message_ja: str


@dataclass(frozen=True, slots=True)
class ValidationReport:
    form_code: str
    missing: tuple[Issue, ...]
    invalid: tuple[Issue, ...]
    warnings: tuple[Issue, ...]

    @property
    def can_save_draft(self) -> bool:
        return not self.invalid

    @property
    def can_send(self) -> bool:
        return not self.missing and not self.invalid

    @property
    def issues(self) -> tuple[Issue, ...]:
        return self.missing + self.invalid + self.warnings


def field_label(path: str) -> tuple[str, str]:
    """Japanese and English label of a path: `shipper.name` -> 荷送人(シッパー) › 名称."""
    names = [part for part in split_path(path) if isinstance(part, str) and part != "*"]
    index_suffix = "".join(f" #{part + 1}" for part in split_path(path) if isinstance(part, int))
    ja = " › ".join(FIELD_LABELS[name].ja if name in FIELD_LABELS else name for name in names)
    en = " › ".join(FIELD_LABELS[name].en if name in FIELD_LABELS else name for name in names)
    return ja + index_suffix, en + index_suffix


# Japanese wording of Pydantic's generic error types (code-list errors bring their own).
_JA_BY_ERROR_TYPE = {
    "extra_forbidden": "この帳票にない項目です",
    "string_type": "文字列で入力してください",
    "int_parsing": "整数で入力してください",
    "int_type": "整数で入力してください",
    "int_from_float": "整数で入力してください",
    "decimal_parsing": "数値で入力してください",
    "decimal_type": "数値で入力してください",
    "float_parsing": "数値で入力してください",
    "float_type": "数値で入力してください",
    "greater_than_equal": "0以上の値を入力してください",
    "bool_parsing": "はい/いいえ(true/false)で入力してください",
    "bool_type": "はい/いいえ(true/false)で入力してください",
    "literal_error": "選択肢の中から入力してください",
    "list_type": "一覧(配列)で入力してください",
    "model_type": "項目のまとまり(オブジェクト)で入力してください",
    "dict_type": "項目のまとまり(オブジェクト)で入力してください",
    "date_parsing": "日付で入力してください",
    "date_type": "日付で入力してください",
}


def _issue_from_pydantic(error: ErrorDetails) -> Issue:
    path = join_path([part if isinstance(part, int) else str(part) for part in error["loc"]])
    context = error.get("ctx") or {}
    label_ja, label_en = field_label(path)
    message_ja = context.get("message_ja") or _JA_BY_ERROR_TYPE.get(
        error["type"], "入力値が正しくありません"
    )
    if error["type"] == "literal_error":
        message_ja = f"{message_ja}: {context.get('expected', '')}"
    return Issue(
        path,
        "invalid",
        error["type"],
        f"{label_en}: {error['msg']}",
        f"{label_ja}: {message_ja}",
    )


# IMDG assigns no packing group to explosives, gases, organic peroxides, infectious
# substances and radioactive material.
_CLASSES_WITHOUT_PACKING_GROUP = ("1", "2", "5.2", "6.2", "7")


def _has_no_packing_group(imdg_class: Any) -> bool:
    if not isinstance(imdg_class, str):
        return False
    return any(
        imdg_class == cls or (len(cls) == 1 and imdg_class.startswith(cls + "."))
        for cls in _CLASSES_WITHOUT_PACKING_GROUP
    )


def _waived(pattern: str, path: str, document: Mapping[str, Any]) -> bool:
    """Requirements that international practice lifts in some situations."""
    if pattern == "consignee.name" and get_path(document, "billOfLading.isToOrder") is True:
        return True  # a to-order B/L names no consignee (DCSA: consignee only when not to order)
    if pattern.endswith("dangerousGoods[*].packingGroup"):
        return _has_no_packing_group(get_path(document, path.rsplit(".", 1)[0] + ".imdgClass"))
    return False


def _requirements(form_code: str, document: Mapping[str, Any]) -> tuple[str, ...]:
    required = form_type(form_code).required_for_send
    if "consignee.name" in required and get_path(document, "billOfLading.isToOrder") is True:
        # DCSA: notify parties are mandatory for to-order B/Ls.
        required = (*required, "notifyParty.name")
    return required


def _missing(form_code: str, document: Mapping[str, Any]) -> list[Issue]:
    issues = []
    for pattern in _requirements(form_code, document):
        for path, value in expand(document, pattern):
            if is_empty(value) and not _waived(pattern, path, document):
                label_ja, label_en = field_label(path if generalize(path) == pattern else pattern)
                issues.append(
                    Issue(
                        path,
                        "missing",
                        "required_for_send",
                        f"{label_en} is required before sending",
                        f"{label_ja} は送信前に入力が必要です",
                    )
                )
    return issues


_AMOUNT_UNIT_PAIRS = (
    ("grossWeight", "grossWeightUnitCode"),
    ("netWeight", "netWeightUnitCode"),
    ("measurement", "measurementUnitCode"),
    ("tareWeight", "tareWeightUnitCode"),
    ("cargoWeight", "cargoWeightUnitCode"),
    ("verifiedGrossMass", "verifiedGrossMassUnitCode"),
    ("commodityTotalGrossWeight", "commodityTotalGrossWeightUnitCode"),
    ("commodityTotalNetWeight", "commodityTotalNetWeightUnitCode"),
    ("commodityTotalMeasurement", "commodityTotalMeasurementUnitCode"),
)


def _amounts_without_unit(document: Mapping[str, Any]) -> list[Issue]:
    """A weight without its unit is meaningless on a trade document (UN/CEFACT pairs them)."""
    issues = []
    for prefix in ("", "commodity[*].", "containers[*].", "dangerousGoods[*]."):
        for amount_key, unit_key in _AMOUNT_UNIT_PAIRS:
            for path, value in expand(document, prefix + amount_key):
                unit_path = path.rsplit(".", 1)[0] + "." + unit_key if "." in path else unit_key
                if not is_empty(value) and is_empty(get_path(document, unit_path)):
                    label_ja, label_en = field_label(unit_path)
                    issues.append(
                        Issue(
                            unit_path,
                            "invalid",
                            "unit_required",
                            f"{label_en} is required when {amount_key} is given",
                            f"{label_ja} を入力してください(数量には単位が必要です)",
                        )
                    )
    return issues


_LOCATION_KEYS = (
    "placeOfReceipt",
    "portOfLoading",
    "portOfDischarge",
    "placeOfDelivery",
    "finalDestination",
)


def _unknown_locodes(document: Mapping[str, Any]) -> list[Issue]:
    issues = []
    for key in _LOCATION_KEYS:
        code = get_path(document, f"{key}.code")
        if isinstance(code, str) and len(code) == 5 and not code.upper().endswith("ZZZ"):
            if code.upper() not in BUNDLED_LOCODES:
                label_ja, label_en = field_label(f"{key}.code")
                issues.append(
                    Issue(
                        f"{key}.code",
                        "warning",
                        "locode_not_in_table",
                        f"{label_en}: {code} is not in our UN/LOCODE table; please check it",
                        f"{label_ja}: {code} はUN/LOCODE表にありません。確認してください",
                    )
                )
    return issues


def _totals_disagree(document: Mapping[str, Any]) -> list[Issue]:
    issues = []
    computed = compute_totals(document)
    for key, value in computed.items():
        if key.endswith("UnitCode"):
            continue
        declared = to_decimal(document.get(key))
        unit_key = f"{key}UnitCode"
        same_unit = document.get(unit_key) in (None, computed.get(unit_key))
        if declared is not None and same_unit and declared != value:
            label_ja, label_en = field_label(key)
            issues.append(
                Issue(
                    key,
                    "warning",
                    "total_mismatch",
                    f"{label_en} is {declared} but the lines add up to {value}",
                    f"{label_ja} は {declared} ですが、明細の合計は {value} です",
                )
            )
    return issues


def normalized_values(form_code: str, document: Mapping[str, Any]) -> dict[str, Any]:
    """The document as its schema stores it: codes in canonical spelling (`UN3082`, packing
    group `III`, upper-case container numbers), text stripped, numbers as JSON numbers.
    A document that does not validate is returned unchanged (as a plain dict)."""
    try:
        model = form_type(form_code).schema.model_validate(document)
    except ValidationError:
        return dict(document)
    normalized: dict[str, Any] = model.model_dump(mode="json", exclude_unset=True)
    return normalized


def invalid_issues(form_code: str, document: Mapping[str, Any]) -> tuple[Issue, ...]:
    """The report's ``invalid`` alone (what blocks saving), without the checks for sending."""
    invalid: list[Issue] = []
    try:
        form_type(form_code).schema.model_validate(document)
    except ValidationError as error:
        invalid.extend(_issue_from_pydantic(detail) for detail in error.errors())
    invalid.extend(_amounts_without_unit(document))
    return _dedupe(invalid)


def validate_form(form_code: str, document: Mapping[str, Any]) -> ValidationReport:
    return ValidationReport(
        form_code,
        missing=tuple(_missing(form_code, document)),
        invalid=invalid_issues(form_code, document),
        warnings=tuple(_unknown_locodes(document) + _totals_disagree(document)),
    )


def _dedupe(issues: Sequence[Issue]) -> tuple[Issue, ...]:
    seen: set[tuple[str, str]] = set()
    unique = []
    for issue in issues:
        if (issue.path, issue.code) not in seen:
            seen.add((issue.path, issue.code))
            unique.append(issue)
    return tuple(unique)
