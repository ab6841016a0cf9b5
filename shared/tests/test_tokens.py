"""Every service rejects expired, tampered, wrong-audience, wrong-issuer, unknown-key and alg=none tokens."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import jwt
import pytest

from shared.auth import TokenVerifier, principal_from_claims
from shared.errors import Unauthenticated
from shared.testing.tokens import TestIssuer


def b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.fixture
def verifier(token_issuer: TestIssuer) -> TokenVerifier:
    return token_issuer.verifier()


class TestVerify:
    async def test_accepts_a_good_token(
        self, verifier: TokenVerifier, token_issuer: TestIssuer
    ) -> None:
        token = token_issuer.token(
            subject="u1", org_id="o1", forms={"UL040": "readwrite"}, scopes=["forms:read"]
        )
        principal = principal_from_claims(await verifier.verify(token))
        assert principal.subject == "u1"
        assert principal.org_id == "o1"
        assert principal.form_access("UL040") == "readwrite"
        assert principal.form_access("UL150") == "none"
        assert principal.has_scope("forms:read")

    async def test_rejects_expired(self, verifier: TokenVerifier, token_issuer: TestIssuer) -> None:
        claims = token_issuer.claims(subject="u1")
        claims["exp"] = int(time.time()) - 60
        with pytest.raises(Unauthenticated, match="expired"):
            await verifier.verify(token_issuer.sign(claims))

    async def test_rejects_tampered_payload(
        self, verifier: TokenVerifier, token_issuer: TestIssuer
    ) -> None:
        header, _payload, signature = token_issuer.token(subject="u1").split(".")
        forged = b64(token_issuer.claims(subject="admin"))
        with pytest.raises(Unauthenticated):
            await verifier.verify(f"{header}.{forged}.{signature}")

    @pytest.mark.parametrize(
        ("claim", "value"), [("aud", "someone-else"), ("iss", "https://evil.example")]
    )
    async def test_rejects_wrong_audience_or_issuer(
        self, verifier: TokenVerifier, token_issuer: TestIssuer, claim: str, value: str
    ) -> None:
        claims = token_issuer.claims(subject="u1")
        claims[claim] = value
        with pytest.raises(Unauthenticated):
            await verifier.verify(token_issuer.sign(claims))

    @pytest.mark.parametrize("missing", ["exp", "aud", "iss", "sub", "iat"])
    async def test_rejects_missing_required_claim(
        self, verifier: TokenVerifier, token_issuer: TestIssuer, missing: str
    ) -> None:
        claims = token_issuer.claims(subject="u1")
        del claims[missing]
        with pytest.raises(Unauthenticated):
            await verifier.verify(token_issuer.sign(claims))

    async def test_rejects_alg_none(
        self, verifier: TokenVerifier, token_issuer: TestIssuer
    ) -> None:
        token = (
            f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': 'test-key'})}.{b64(token_issuer.claims())}."
        )
        with pytest.raises(Unauthenticated, match="algorithm"):
            await verifier.verify(token)

    async def test_rejects_hs256_signed_with_the_public_key(
        self, verifier: TokenVerifier, token_issuer: TestIssuer
    ) -> None:
        # The classic key-confusion attack: HMAC keyed with the (public) RSA key.
        public_pem = token_issuer.jwks["keys"][0]["n"].encode()
        token = jwt.encode(
            token_issuer.claims(), public_pem, algorithm="HS256", headers={"kid": "test-key"}
        )
        with pytest.raises(Unauthenticated, match="algorithm"):
            await verifier.verify(token)

    async def test_rejects_unknown_key(self, verifier: TokenVerifier) -> None:
        other = TestIssuer(kid="other-key")
        with pytest.raises(Unauthenticated, match="unknown key"):
            await verifier.verify(other.token(subject="u1"))

    async def test_rejects_garbage(self, verifier: TokenVerifier) -> None:
        with pytest.raises(Unauthenticated):
            await verifier.verify("not-a-jwt")


class TestVerifiedCache:
    async def test_a_remembered_token_still_expires(self, token_issuer: TestIssuer) -> None:
        strict = TokenVerifier(
            issuer="minato-gateway", audience="minato", jwks=token_issuer.jwks, leeway_s=0
        )
        claims = token_issuer.claims(subject="u1")
        claims["exp"] = int(time.time()) + 1
        token = token_issuer.sign(claims)
        assert (await strict.verify(token))["sub"] == "u1"
        assert (await strict.verify(token))["sub"] == "u1"  # from the cache
        await asyncio.sleep(max(0.0, claims["exp"] - time.time()) + 0.2)
        with pytest.raises(Unauthenticated, match="expired"):
            await strict.verify(token)

    async def test_tampered_copy_of_a_remembered_token_is_refused(
        self, verifier: TokenVerifier, token_issuer: TestIssuer
    ) -> None:
        token = token_issuer.token(subject="u1")
        await verifier.verify(token)
        header, _payload, signature = token.split(".")
        with pytest.raises(Unauthenticated):
            await verifier.verify(
                f"{header}.{b64(token_issuer.claims(subject='admin'))}.{signature}"
            )
