"""Standard Webhooks signatures: ``v1,<base64 HMAC-SHA256(secret, "{id}.{timestamp}.{body}")>``."""

from __future__ import annotations

import base64
import hmac
from collections.abc import Sequence

from notifications.domain.secrets import secret_key_bytes


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.digest(secret_key_bytes(secret), signed, "sha256")
    return "v1," + base64.b64encode(digest).decode()


def webhook_headers(
    secrets: Sequence[str], message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """Headers of one attempt. During a rotation every active secret signs (space-separated)."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(s, message_id, timestamp, body) for s in secrets),
        "content-type": "application/json",
        "user-agent": "Minato-Webhooks/1",
    }
