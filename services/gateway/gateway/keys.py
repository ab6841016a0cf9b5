"""The gateway's token signing keys and the JWKS every service verifies against.

Keys are RSA (RS256), one PEM file per key id in ``keys_dir`` (shared by every gateway replica).
Rotation with overlap, without restarts: ``rotate`` (``python -m gateway.admin rotate-keys``, or at
start when the newest key is older than ``key_rotation_days``) adds a key file. Each replica re-reads
the directory every ``key_reload_s`` and publishes the new key at once, but signs with it only after
``key_publish_ahead_s``, so that every replica and every service's JWKS cache knows it before any
token carries it. The previous keys stay published until every token they signed has expired
(``retain_s`` after their successor began signing), then drop out of the JWKS. A key is generated on
first start in dev and test only; a deployment provides its keys.
"""

from __future__ import annotations

import itertools
import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ALGORITHM = "RS256"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey
    created_at: float

    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(
            jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key())
        )
        jwk.update({"kid": self.kid, "use": "sig", "alg": ALGORITHM})
        return jwk


def generate_key(keys_dir: Path) -> SigningKey:
    keys_dir.mkdir(parents=True, exist_ok=True)
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = time.strftime("%Y%m%d%H%M%S") + "-" + uuid.uuid4().hex[:8]
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = keys_dir / f"{kid}.pem"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return SigningKey(kid, private_key, path.stat().st_mtime)


def load_keys(keys_dir: Path) -> list[SigningKey]:
    keys: list[SigningKey] = []
    if not keys_dir.is_dir():
        return keys
    for path in sorted(keys_dir.glob("*.pem")):
        private_key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise ValueError(f"{path.name}: only RSA keys are supported")
        keys.append(SigningKey(path.stem, private_key, path.stat().st_mtime))
    keys.sort(key=lambda k: (k.created_at, k.kid))
    return keys


def signing_key(keys: list[SigningKey], *, now: float, publish_ahead_s: float) -> SigningKey:
    """The newest key that has been published for ``publish_ahead_s`` (every replica and service has
    had time to see it); a fresh system with no such key signs with its oldest."""
    ready = [key for key in keys if now - key.created_at >= publish_ahead_s]
    return ready[-1] if ready else keys[0]


def still_published(
    keys: list[SigningKey], *, now: float, retain_s: float, publish_ahead_s: float = 0
) -> list[SigningKey]:
    """The signing key, the keys waiting to sign, and each older key until ``retain_s`` after its
    successor started signing (every token it signed has expired by then)."""
    signing = signing_key(keys, now=now, publish_ahead_s=publish_ahead_s)
    kept = [key for key in keys if key.created_at >= signing.created_at]
    for older, successor in itertools.pairwise(keys):
        if older.created_at < signing.created_at and (
            now - successor.created_at < retain_s + publish_ahead_s
        ):
            kept.append(older)
    kept.sort(key=lambda k: (k.created_at, k.kid))
    return kept


class KeyRing:
    def __init__(self, keys: list[SigningKey], signing: SigningKey | None = None) -> None:
        if not keys:
            raise ValueError("no signing keys")
        self.keys = keys
        self._signing = signing or keys[-1]

    @classmethod
    def from_dir(
        cls,
        keys_dir: Path,
        *,
        generate_if_missing: bool,
        rotate_after_s: float = 0,
        retain_s: float = 24 * 3600,
        publish_ahead_s: float = 0,
    ) -> KeyRing:
        keys = load_keys(keys_dir)
        if not keys:
            if not generate_if_missing:
                raise RuntimeError(f"no signing keys in {keys_dir}")
            keys = [generate_key(keys_dir)]
        now = time.time()
        if rotate_after_s and now - keys[-1].created_at > rotate_after_s:
            keys.append(generate_key(keys_dir))
        published = still_published(
            keys, now=now, retain_s=retain_s, publish_ahead_s=publish_ahead_s
        )
        return cls(published, signing_key(keys, now=now, publish_ahead_s=publish_ahead_s))

    def same_as(self, other: KeyRing) -> bool:
        return [k.kid for k in self.keys] == [k.kid for k in other.keys] and (
            self.current.kid == other.current.kid
        )

    @staticmethod
    def rotate(keys_dir: Path) -> SigningKey:
        """Add a new key: replicas publish it at their next reload, and sign with it once it has been
        published for ``key_publish_ahead_s``."""
        return generate_key(keys_dir)

    @property
    def current(self) -> SigningKey:
        return self._signing

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.public_jwk() for key in self.keys]}

    def sign(self, claims: dict[str, Any]) -> str:
        key = self.current
        # RFC 8725 §3.11 explicit typing: an access token says so (RFC 9068 "at+jwt").
        return jwt.encode(
            claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": "at+jwt"}
        )
