"""A test token issuer: a real RSA key and real JWTs, verified by the real ``TokenVerifier``."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.auth import TokenVerifier

TEST_ISSUER = "minato-gateway"
TEST_AUDIENCE = "minato"


class TestIssuer:
    __test__ = False  # not a test class

    def __init__(self, kid: str = "test-key") -> None:
        self.kid = kid
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @cached_property
    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    def verifier(self) -> TokenVerifier:
        return TokenVerifier(issuer=TEST_ISSUER, audience=TEST_AUDIENCE, jwks=self.jwks)

    def claims(
        self,
        *,
        subject: str | None = None,
        org_id: str | None = None,
        kind: str = "user",
        roles: Iterable[str] = (),
        scopes: Iterable[str] = (),
        business_types: Iterable[str] = (),
        forms: Mapping[str, str] | None = None,
        ttl_s: int = 300,
        **extra: Any,
    ) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": TEST_ISSUER,
            "aud": TEST_AUDIENCE,
            "sub": subject or str(uuid.uuid4()),
            "iat": now,
            "exp": now + ttl_s,
            "jti": uuid.uuid4().hex,
            "kind": kind,
            "roles": list(roles),
            "scope": " ".join(scopes),
            "btypes": list(business_types),
            "forms": dict(forms or {}),
        }
        if org_id is not None:
            claims["org"] = org_id
        claims.update(extra)
        return claims

    def token(self, **kwargs: Any) -> str:
        return self.sign(self.claims(**kwargs))

    def sign(self, claims: Mapping[str, Any], *, kid: str | None = None) -> str:
        return jwt.encode(
            dict(claims), self.private_key, algorithm="RS256", headers={"kid": kid or self.kid}
        )

    def auth(self, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(**kwargs)}"}
