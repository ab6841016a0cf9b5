"""Optimistic concurrency over HTTP: ``ETag`` from a row version, ``If-Match`` required on edits.

The ETag is strong and opaque to clients: ``"<id>-<version>"``. A missing ``If-Match`` is 428 (RFC 6585),
a stale one 412 (RFC 9110). ``If-Match: *`` matches any current version, for clients that accept a
blind overwrite knowingly. Weak tags never match (strong comparison).
"""

from __future__ import annotations

from shared.errors import PreconditionFailed, PreconditionRequired


def etag_for(resource_id: object, version: int) -> str:
    return f'"{resource_id}-{version}"'


def parse_if_match(header: str | None) -> list[str] | None:
    """The listed entity tags; ``["*"]`` for a wildcard, ``None`` when the header is absent."""
    if header is None or not header.strip():
        return None
    tags = [part.strip() for part in header.split(",") if part.strip()]
    return tags or None


def check_if_match(header: str | None, current_etag: str) -> None:
    """Raise 428 when the header is missing and 412 when no listed tag is the current one."""
    tags = parse_if_match(header)
    if tags is None:
        raise PreconditionRequired(
            "Send If-Match with the ETag from your last read of this resource"
        )
    if "*" in tags:
        return
    if current_etag not in tags:
        raise PreconditionFailed(
            "The resource was changed by someone else; read it again and reapply your change",
            extra={"current_etag": current_etag},
        )
