"""Helpers shared by the deploy tests: what ``docker build -f deploy/Dockerfile .`` would see."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "deploy" / "Dockerfile"
DOCKERIGNORE = REPO / "deploy" / "Dockerfile.dockerignore"


def dockerignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    """The ignore file as (negated, regex) in order; the last rule that matches decides."""
    rules = []
    for raw in DOCKERIGNORE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        regex = ""
        for token in re.split(r"(\*\*/|\*\*|\*|\?)", pattern):
            regex += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(
                token, re.escape(token)
            )
        rules.append((negated, re.compile(regex)))
    return rules


def path_in_build_context(path: str) -> bool:
    """Whether a file (repo-relative, posix) reaches the build: the last rule matching it or a folder."""
    candidates = [path, *(str(p) for p in Path(path).parents if str(p) != ".")]
    included = True
    for negated, regex in dockerignore_rules():
        if any(regex.fullmatch(c) for c in candidates):
            included = negated
    return included


@pytest.fixture
def in_build_context() -> Callable[[str], bool]:
    return path_in_build_context
