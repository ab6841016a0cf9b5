"""JSON diff of two form versions, leaf by leaf, by field path (``commodity[0].grossWeight``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from forms.domain.paths import flatten, is_empty, split_path

ChangeOp = Literal["added", "removed", "changed"]


@dataclass(frozen=True, slots=True)
class FieldChange:
    path: str
    op: ChangeOp
    before: Any
    after: Any


def _path_key(path: str) -> list[tuple[int, str | int]]:
    # Sort list indexes numerically, so commodity[10] comes after commodity[2].
    return [(0, part) if isinstance(part, int) else (1, part) for part in split_path(path)]


def diff_values(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[FieldChange]:
    """Changed leaves; an empty value ("" or null) counts as absent."""
    old, new = flatten(before), flatten(after)
    changes = []
    for path in sorted(old.keys() | new.keys(), key=_path_key):
        a, b = old.get(path), new.get(path)
        if is_empty(a) and is_empty(b):
            continue
        if is_empty(a):
            changes.append(FieldChange(path, "added", None, b))
        elif is_empty(b):
            changes.append(FieldChange(path, "removed", a, None))
        elif a != b:
            changes.append(FieldChange(path, "changed", a, b))
    return changes
