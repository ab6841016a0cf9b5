"""Loading and validating the data files under ``naccs_bridge/maps``. Results are cached: the files are
read-only package data, so every call after the first is a dictionary lookup."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from naccs_bridge.domain.errors import MapDataError, UnknownBusinessCode
from naccs_bridge.domain.specs import Catalogue, FieldMap

ModelT = TypeVar("ModelT", bound=BaseModel)


def maps_dir() -> Traversable:
    return resources.files("naccs_bridge").joinpath("maps")


def read_toml(relative_path: str) -> dict[str, Any]:
    file = maps_dir().joinpath(relative_path)
    try:
        with file.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise MapDataError(relative_path, "file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise MapDataError(relative_path, f"invalid TOML: {exc}") from exc


def validate_file(relative_path: str, model: type[ModelT]) -> ModelT:
    try:
        return model.model_validate(read_toml(relative_path))
    except ValidationError as exc:
        raise MapDataError(relative_path, str(exc)) from exc


@cache
def load_catalogue() -> Catalogue:
    """The catalogue of the 82 business codes (``maps/catalogue.toml``)."""
    return validate_file("catalogue.toml", Catalogue)


def field_map_file(code: str) -> str:
    return f"fieldmaps/{code}.toml"


@cache
def load_field_map(code: str) -> FieldMap:
    """The field map of one business code: its own file when the catalogue says ``map = "full"``,
    otherwise a catalogue-only map built from the catalogue's public key items."""
    entry = load_catalogue().get(code)
    if entry is None:
        raise UnknownBusinessCode(code)
    if entry.map == "full":
        field_map = validate_file(field_map_file(entry.code), FieldMap)
        if field_map.code != entry.code:
            raise MapDataError(field_map_file(entry.code), f"declares code {field_map.code}")
        return field_map
    return FieldMap(
        code=entry.code,
        name_ja=entry.name_ja,
        completeness="catalogue",
        note="Only the public key items are known; the full 入力項目表 is not public.",
        items=entry.public_items,
    )
