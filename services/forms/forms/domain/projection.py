"""Projection between a form's values and the trade's shared items (root document).

A form carries shared-item groups under the same canonical names, so a form field and its
shared item have the same path (`shipper.name` on UL040 is `shipper.name` in the root). Only
fields that exist in the root schema are shared: an invoice line's `unitPrice` stays on the
invoice while its `description` and `hsCode` are shared `commodity` items.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final

from forms.domain.catalogue import form_type, shared_keys_of
from forms.domain.paths import flatten, generalize, schema_patterns, set_path
from forms.domain.shared_items import SharedItems

SHARED_PATTERNS: Final[frozenset[str]] = frozenset(schema_patterns(SharedItems))


def is_shared_path(path: str) -> bool:
    return generalize(path) in SHARED_PATTERNS


def shared_item_path(form_code: str, form_path: str) -> str | None:
    """The shared-item path a form field is bound to, or None for a form-own field.

    `shipper.name` on UL040 -> `shipper.name`; `commodity[0].unitPrice` on UL100 -> None;
    `containers[0].containerNo` on UL100 -> None (the invoice does not carry containers).
    """
    top_level = form_path.split(".", 1)[0].split("[", 1)[0]
    if top_level not in shared_keys_of(form_type(form_code)) or not is_shared_path(form_path):
        return None
    return form_path


def project_to_shared(form_code: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Shared-item leaves (concrete path -> value) that this form's values define."""
    carried = shared_keys_of(form_type(form_code))
    leaves = flatten({key: values[key] for key in carried if key in values})
    return {path: value for path, value in leaves.items() if is_shared_path(path)}


def shared_subtree(form_code: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The form's shared items as a nested root-document fragment."""
    fragment: dict[str, Any] = {}
    for path, value in project_to_shared(form_code, values).items():
        set_path(fragment, path, copy.deepcopy(value))
    return fragment


def merge_into_shared(
    shared: Mapping[str, Any], form_code: str, values: Mapping[str, Any]
) -> dict[str, Any]:
    """New root document after saving a form: each group key the form carries is replaced by
    the form's version (an edit on one form updates the root, hence every other form)."""
    updated = copy.deepcopy(dict(shared))
    fragment = shared_subtree(form_code, values)
    for key in shared_keys_of(form_type(form_code)):
        if key in values:
            if key in fragment:
                updated[key] = fragment[key]
            else:
                updated.pop(key, None)
    return updated


def apply_shared(
    form_code: str, values: Mapping[str, Any], shared: Mapping[str, Any]
) -> dict[str, Any]:
    """The form's values refreshed from the root document; form-only fields are kept
    (invoice prices stay on their lines), list lengths follow the root."""
    refreshed = copy.deepcopy(dict(values))
    for key in shared_keys_of(form_type(form_code)):
        if key not in shared:
            continue
        root_value = shared[key]
        current = refreshed.get(key)
        if isinstance(root_value, list) and isinstance(current, list):
            del current[len(root_value) :]
        if not isinstance(root_value, dict | list) or current is None:
            refreshed[key] = copy.deepcopy(root_value)
            continue
        for path, leaf in flatten({key: root_value}).items():
            set_path(refreshed, path, copy.deepcopy(leaf))
    return refreshed
