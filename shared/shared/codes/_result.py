"""The typed result every code check returns, and the bridge to Pydantic validation errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic_core import PydanticCustomError


@dataclass(frozen=True, slots=True)
class CodeError:
    """Why a value is not a valid code, in both languages the platform shows."""

    code: str
    message_en: str
    message_ja: str


@dataclass(frozen=True, slots=True)
class CodeCheck:
    """Outcome of checking one value against one code list or format.

    `normalized` is the canonical spelling (upper-cased, separators removed) and is what
    schemas store, so that `mscu 663487-1` and `MSCU6634871` compare equal downstream.
    """

    value: str
    normalized: str
    error: CodeError | None = None

    @property
    def is_valid(self) -> bool:
        return self.error is None


def invalid(value: str, normalized: str, code: str, message_en: str, message_ja: str) -> CodeCheck:
    return CodeCheck(value, normalized, CodeError(code, message_en, message_ja))


def valid(value: str, normalized: str) -> CodeCheck:
    return CodeCheck(value, normalized)


def pydantic_validator(check: Callable[[str], CodeCheck]) -> Callable[[str], str]:
    """Turn a pure check into an `AfterValidator` callable.

    The Japanese message travels in the error context (`ctx["message_ja"]`) so that API
    layers can show it next to the English one without a second lookup.
    """

    def validate(value: str) -> str:
        result = check(value)
        if result.error is not None:
            raise PydanticCustomError(
                result.error.code,
                result.error.message_en,
                {"message_ja": result.error.message_ja, "value": value},
            )
        return result.normalized

    validate.__name__ = f"validate_{check.__name__.removeprefix('check_')}"
    return validate


def compact(value: str) -> str:
    """Upper-case and drop spaces, hyphens and dots that people type into codes."""
    return "".join(ch for ch in value.strip().upper() if ch not in " -./")
