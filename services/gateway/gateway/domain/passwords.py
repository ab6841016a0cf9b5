"""Password policy (NIST SP 800-63B §5.1.1.2): long enough, not a known common password, not built from
the account's own e-mail, no composition rules, no forced expiry."""

from __future__ import annotations

import itertools
from functools import cache
from importlib import resources

MIN_LENGTH = 12
MAX_LENGTH = 128  # argon2 has no input limit; this caps the work a single request can ask for


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("gateway.domain").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def _is_trivial(password: str) -> bool:
    lowered = password.lower()
    if len(set(lowered)) <= 3:
        return True  # "aaaaaaaaaaaa", "abababababab"
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(lowered)}
    return steps <= {1} or steps <= {-1}  # "abcdefghijkl", "987654321098" is caught by the list


def password_problems(password: str, *, email: str) -> list[str]:
    """Reasons the password is refused (empty when it is acceptable)."""
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(f"must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        problems.append(f"must be at most {MAX_LENGTH} characters")
    lowered = password.lower()
    core = lowered.rstrip("0123456789!.?@#$%&*")
    if lowered in common_passwords() or core in common_passwords() or _is_trivial(password):
        problems.append("is too common or too easy to guess")
    local_part = email.split("@", 1)[0].lower()
    if len(local_part) >= 4 and local_part in lowered:
        problems.append("must not contain your e-mail address")
    return problems
