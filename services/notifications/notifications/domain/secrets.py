"""Webhook signing secrets: ``whsec_`` + base64 of 32 random bytes, stored encrypted with AES-GCM."""

from __future__ import annotations

import base64
import hashlib
import os
import random

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format prefix, not a secret
SECRET_BYTES = 32  # the spec asks for 24-64 random bytes
_NONCE_BYTES = 12


def generate_secret(rng: random.Random) -> str:
    return SECRET_PREFIX + base64.b64encode(rng.randbytes(SECRET_BYTES)).decode()


def secret_key_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


class SecretBox:
    """Encrypts secrets at rest. The key is derived from a configured passphrase (SHA-256)."""

    def __init__(self, passphrase: str) -> None:
        self._aead = AESGCM(hashlib.sha256(passphrase.encode()).digest())

    def seal(self, secret: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, secret.encode(), b"whsec")

    def open(self, sealed: bytes) -> str:
        nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        return self._aead.decrypt(nonce, ciphertext, b"whsec").decode()
