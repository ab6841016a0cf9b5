"""JSON paths over form documents: `containers[0].containerNo`, and patterns with `[*]`.

Form documents are plain JSON-like dicts (what the API stores and partners send); these helpers
let validation, locks and derivation talk about single fields by path.
"""

from __future__ import annotations

import functools
import itertools
import re
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

JsonValue = Any
_INDEX = re.compile(r"\[(\d+|\*)\]")


def split_path(path: str) -> list[str | int]:
    """`a.b[0].c` -> ["a", "b", 0, "c"]; `[*]` stays as "*"."""
    parts: list[str | int] = []
    for segment in path.split("."):
        name, _, rest = segment.partition("[")
        if name:
            parts.append(name)
        for index in _INDEX.findall("[" + rest if rest else ""):
            parts.append("*" if index == "*" else int(index))
    return parts


def join_path(parts: list[str | int]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part == "*":
            text += "[*]"
        else:
            text += f".{part}" if text else part
    return text


def generalize(path: str) -> str:
    """`containers[3].containerNo` -> `containers[*].containerNo`."""
    return _INDEX.sub("[*]", path)


def is_empty(value: JsonValue) -> bool:
    """Empty values are neither required-present nor lockable (Cyber Port: 空欄はロックしない)."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | dict):
        return all(
            is_empty(item) for item in (value.values() if isinstance(value, dict) else value)
        )
    return False


def flatten(document: Mapping[str, JsonValue], prefix: str = "") -> dict[str, JsonValue]:
    """Leaf values by concrete path. Lists of scalars (seal numbers, address lines) are leaves."""
    leaves: dict[str, JsonValue] = {}
    for key, value in document.items():
        path = f"{prefix}.{key}" if prefix else key
        leaves.update(flatten_at(value, path))
    return leaves


def flatten_at(value: JsonValue, path: str) -> dict[str, JsonValue]:
    if isinstance(value, dict):
        return flatten(value, path)
    if isinstance(value, list) and any(isinstance(item, dict) for item in value):
        leaves: dict[str, JsonValue] = {}
        for index, item in enumerate(value):
            leaves.update(flatten_at(item, f"{path}[{index}]"))
        return leaves
    return {path: value}


def get_path(document: JsonValue, path: str) -> JsonValue:
    current = document
    for part in split_path(path):
        if isinstance(part, int):
            if not isinstance(current, list) or part >= len(current):
                return None
            current = current[part]
        elif isinstance(current, dict):
            current = current.get(part)
        else:
            return None
    return current


def set_path(document: dict[str, JsonValue], path: str, value: JsonValue) -> None:
    """Set a value, creating dicts and padding lists on the way."""
    parts = split_path(path)
    current: Any = document
    for part, following in itertools.pairwise(parts):
        container_factory: type[dict[str, Any]] | type[list[Any]] = (
            list if isinstance(following, int) else dict
        )
        if isinstance(part, int):
            while len(current) <= part:
                current.append(None)
            if current[part] is None:
                current[part] = container_factory()
            current = current[part]
        else:
            if current.get(part) is None:
                current[part] = container_factory()
            current = current[part]
    last = parts[-1]
    if isinstance(last, int):
        while len(current) <= last:
            current.append(None)
    current[last] = value


def expand(document: JsonValue, pattern: str) -> Iterator[tuple[str, JsonValue]]:
    """Concrete (path, value) pairs matching a pattern. A missing or empty list under `[*]`
    yields the list's own path with None, so "required" rules can report it."""
    yield from _expand(document, _pattern_parts(pattern), [])


@functools.lru_cache(maxsize=1024)
def _pattern_parts(pattern: str) -> tuple[str | int, ...]:
    """``split_path`` of a pattern, parsed once: patterns come from the catalogue and the
    validation rules, a few hundred at most (the bound only guards against unusual callers)."""
    return tuple(split_path(pattern))


def _expand(
    current: JsonValue, parts: Sequence[str | int], done: list[str | int]
) -> Iterator[tuple[str, JsonValue]]:
    if not parts:
        yield join_path(done), current
        return
    head, rest = parts[0], parts[1:]
    if head == "*":
        if not isinstance(current, list) or not current:
            yield join_path(done), None
            return
        for index, item in enumerate(current):
            yield from _expand(item, rest, [*done, index])
        return
    if isinstance(head, int):
        item = current[head] if isinstance(current, list) and head < len(current) else None
        yield from _expand(item, rest, [*done, head])
        return
    child = current.get(head) if isinstance(current, dict) else None
    yield from _expand(child, rest, [*done, head])


def _models_in(annotation: Any) -> Iterator[tuple[type[BaseModel], bool]]:
    """Pydantic models inside an annotation, with whether they sit inside a list."""
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation, False
    elif origin is list:
        for inner in typing.get_args(annotation):
            for model, _ in _models_in(inner):
                yield model, True
    elif origin in (typing.Union, types.UnionType, typing.Annotated):
        for inner in typing.get_args(annotation):
            yield from _models_in(inner)


def schema_patterns(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every path pattern (leaves and groups) a schema defines, by alias."""
    patterns: set[str] = set()
    for name, field in model.model_fields.items():
        path = f"{prefix}.{field.alias or name}" if prefix else (field.alias or name)
        patterns.add(path)
        for inner, in_list in _models_in(field.annotation):
            patterns |= schema_patterns(inner, f"{path}[*]" if in_list else path)
    return patterns
