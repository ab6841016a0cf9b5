"""Edit locks on shared items (Cyber Port reportItemsEditControl).

* When a trigger form (export: UL050, UL040, UL150; import: UL290) is *sent*, its non-empty
  values lock the shared items in its lock set, in every *other* form of the trade.
* The trigger form itself stays editable (its edits flow to the root document as usual).
* Empty values are not locked. Un-sending (or deleting) the trigger releases its locks.

Locks are computed from the forms' current state every time, so "release" needs no bookkeeping:
a form that is no longer sent holds nothing. Granularity is the leaf: a trigger that filled
`shipper.name` but not `shipper.phone` leaves the phone editable elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from forms.domain.catalogue import form_type, shared_keys_of
from forms.domain.labels import FIELD_LABELS
from forms.domain.paths import is_empty, split_path
from forms.domain.projection import project_to_shared


@dataclass(frozen=True, slots=True)
class FormState:
    form_id: str
    form_code: str
    values: Mapping[str, Any]
    is_sent: bool = False


@dataclass(frozen=True, slots=True)
class Lock:
    path: str
    value: Any
    holder_form_id: str
    holder_form_code: str


@dataclass(frozen=True, slots=True)
class RefusedField:
    """An edited field the lock rules refuse, named so the API can show it."""

    path: str
    locked_by: tuple[str, ...]  # form codes of the sent trigger forms holding the lock
    message_en: str
    message_ja: str


LockTable = Mapping[str, tuple[Lock, ...]]


def active_locks(forms: Iterable[FormState]) -> dict[str, tuple[Lock, ...]]:
    """Locks held on shared-item paths by the sent trigger forms of one trade."""
    table: dict[str, list[Lock]] = {}
    for form in forms:
        spec = form_type(form.form_code)
        if not form.is_sent or not spec.is_trigger:
            continue
        locked_keys = set(spec.locks)
        for path, value in project_to_shared(form.form_code, form.values).items():
            top_level = split_path(path)[0]
            if top_level in locked_keys and not is_empty(value):
                table.setdefault(path, []).append(Lock(path, value, form.form_id, form.form_code))
    return {path: tuple(locks) for path, locks in table.items()}


def locked_paths_for(form: FormState, locks: LockTable) -> dict[str, tuple[str, ...]]:
    """Paths of this form that other forms lock (for greying out fields in the UI)."""
    shared_paths = project_to_shared(form.form_code, form.values).keys() | set(locks)
    result: dict[str, tuple[str, ...]] = {}
    for path in shared_paths:
        holders = _foreign_holders(form.form_id, locks.get(path, ()))
        if holders and _carries(form.form_code, path):
            result[path] = holders
    return result


def refused_edits(
    form: FormState, proposed_values: Mapping[str, Any], locks: LockTable
) -> list[RefusedField]:
    """Fields of `proposed_values` that change a shared item locked by another form."""
    before = project_to_shared(form.form_code, form.values)
    after = project_to_shared(form.form_code, proposed_values)
    refused = []
    for path in sorted(before.keys() | after.keys()):
        old, new = before.get(path), after.get(path)
        if old == new or (is_empty(old) and is_empty(new)):
            continue
        holders = _foreign_holders(form.form_id, locks.get(path, ()))
        if holders:
            refused.append(_refusal(path, holders))
    return refused


def _foreign_holders(form_id: str, locks: Iterable[Lock]) -> tuple[str, ...]:
    holders = tuple(lock.holder_form_code for lock in locks)
    # The trigger form stays editable: a lock it holds itself never refuses its own edit.
    if any(lock.holder_form_id == form_id for lock in locks):
        return ()
    return holders


def _carries(form_code: str, path: str) -> bool:
    return split_path(path)[0] in shared_keys_of(form_type(form_code))


def _refusal(path: str, holders: tuple[str, ...]) -> RefusedField:
    names = [str(part) for part in split_path(path) if isinstance(part, str)]
    label_ja = " › ".join(FIELD_LABELS[name].ja if name in FIELD_LABELS else name for name in names)
    label_en = " › ".join(FIELD_LABELS[name].en if name in FIELD_LABELS else name for name in names)
    forms = ", ".join(holders)
    return RefusedField(
        path,
        holders,
        f"{label_en} is locked because {forms} has been sent; edit it there or un-send it",
        f"{label_ja} は {forms} が送信済みのためロックされています。"
        f"{forms} で編集するか、送信を取り消してください",
    )
