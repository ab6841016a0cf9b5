"""Which channel a user wants for which event type: the most specific setting wins."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from notifications.domain.mail import EMAIL_DEFAULT_TYPES

CHANNELS = ("in_app", "email")


class PreferenceLike(Protocol):
    @property
    def event_type(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def enabled(self) -> bool: ...


def _specificity(pattern: str, event_type: str) -> int:
    """3 exact, 2 family ("form.*"), 1 everything ("*"), 0 no match."""
    if pattern == event_type:
        return 3
    if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
        return 2
    if pattern == "*":
        return 1
    return 0


def wants(preferences: Iterable[PreferenceLike], event_type: str, channel: str) -> bool:
    best = 0
    decision = channel == "in_app" or event_type in EMAIL_DEFAULT_TYPES
    for pref in preferences:
        if pref.channel != channel:
            continue
        score = _specificity(pref.event_type, event_type)
        if score > best:
            best, decision = score, pref.enabled
    return decision


def muted_in_app(preferences: Iterable[PreferenceLike], event_types: Iterable[str]) -> list[str]:
    prefs = list(preferences)
    return sorted(t for t in event_types if not wants(prefs, t, "in_app"))
