"""Opaque keyset cursors: the sort key of the last row of a page, never an offset."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime

from shared.errors import InvalidInput, field_error

MAX_PAGE_SIZE = 200


def encode_cursor(at: datetime, row_id: uuid.UUID) -> str:
    raw = f"{at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at_text, _, id_text = base64.urlsafe_b64decode(padded).decode().partition("|")
        at = datetime.fromisoformat(at_text)
        if at.tzinfo is None:
            raise ValueError("naive timestamp")
        return at, uuid.UUID(id_text)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput(
            "The cursor is not one this API issued",
            errors=[field_error(["query", "cursor"], "invalid cursor")],
        ) from exc
