"""Secrets at rest: argon2id for passwords, keyed digests for tokens and codes, AES-GCM for what must be
read back (TOTP secrets, NACCS passwords).

* Passwords: argon2id at the OWASP minimum (m=19 MiB, t=2, p=1), hashed in a worker thread with bounded
  concurrency, because a hash costs ~20 ms of CPU and must not stall the event loop.
* Refresh tokens, invitation tokens, client secrets, recovery and reset codes: HMAC-SHA256 keyed with a
  key derived from ``secrets_key``. The long ones are 256-bit random, so a slow hash adds nothing; the
  short ones (8-digit reset codes, recovery codes) are protected by expiry, attempt limits and the key
  (a stolen table alone cannot be brute-forced offline).
* AES-256-GCM with a per-record associated data (the owning user id and purpose), so a sealed value
  cannot be moved to another user's row. A version byte leads each ciphertext for key rotation.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SEAL_VERSION = b"\x01"
NONCE_BYTES = 12


def _derive(master: str, purpose: str) -> bytes:
    return hmac.new(master.encode(), purpose.encode(), hashlib.sha256).digest()


class SecretBox:
    def __init__(self, master_key: str) -> None:
        if len(master_key) < 32:
            raise ValueError("secrets_key must be at least 32 characters")
        self._aead = AESGCM(_derive(master_key, "minato-gateway/aead/v1"))
        self._digest_key = _derive(master_key, "minato-gateway/digest/v1")

    def seal(self, plaintext: bytes, *, context: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return SEAL_VERSION + nonce + self._aead.encrypt(nonce, plaintext, context.encode())

    def open(self, sealed: bytes, *, context: str) -> bytes:
        if sealed[:1] != SEAL_VERSION:
            raise ValueError("unknown seal version")
        nonce, body = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, body, context.encode())
        except InvalidTag as exc:
            raise ValueError("sealed value does not open with this key and context") from exc

    def digest(self, purpose: str, value: str) -> str:
        """A keyed digest for looking a secret up without storing it."""
        return hmac.new(
            self._digest_key, f"{purpose}\x00{value}".encode(), hashlib.sha256
        ).hexdigest()


class PasswordHashing:
    """argon2id, off the event loop, at most ``concurrency`` hashes at once per process."""

    def __init__(self, concurrency: int = 4) -> None:
        self._hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
        self._slots = asyncio.Semaphore(concurrency)
        # Verified against when the account does not exist, so both cases cost the same.
        self._decoy = self._hasher.hash(os.urandom(16).hex())

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await anyio.to_thread.run_sync(self._hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        target = stored_hash or self._decoy

        def check() -> bool:
            try:
                return self._hasher.verify(target, password)
            except (VerificationError, InvalidHashError):
                return False

        async with self._slots:
            matched = await anyio.to_thread.run_sync(check)
        return matched and stored_hash is not None
