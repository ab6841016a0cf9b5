"""Offline verification of the gateway's access tokens, in every service.

Every request is authenticated twice: at the gateway and again here. A service never trusts a header
that says who the caller is; it verifies the JWT itself against the gateway's JWKS, with the algorithm
pinned and ``aud``/``iss``/``exp`` required (RFC 8725).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any

import httpx
import jwt
from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from shared.errors import Forbidden, Unauthenticated

DEFAULT_ALGORITHMS = ("RS256",)
# Verified tokens are remembered briefly: an RSA verification costs ~80 us, a dict lookup ~0.1 us, and
# the gateway and services see the same token on every request of a session. Keyed by the whole token
# (signature included), re-checked against ``exp``, and bounded in size and age.
VERIFIED_CACHE_SIZE = 10_000
VERIFIED_CACHE_TTL_S = 60.0
# A token signed by a key we have not seen may be the first after a rotation: refetch, but not too often.
JWKS_REFETCH_INTERVAL_S = 30.0


class PrincipalKind(StrEnum):
    USER = "user"
    CLIENT = "client"  # a partner system using client credentials
    SERVICE = "service"  # one of our own services


class FormAccess(StrEnum):
    NONE = "none"
    READ = "read"
    READWRITE = "readwrite"


class Principal(BaseModel):
    """Who is calling, as proven by a verified token."""

    model_config = ConfigDict(frozen=True)

    subject: str
    kind: PrincipalKind
    org_id: str | None = None
    roles: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    business_types: frozenset[str] = frozenset()
    # Per form type (e.g. "UL040"): none / read / readwrite. Absent means none.
    form_permissions: Mapping[str, FormAccess] = Field(default_factory=dict)
    token_id: str | None = None
    raw_token: str | None = Field(default=None, repr=False)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def form_access(self, form_type: str) -> FormAccess:
        return self.form_permissions.get(form_type, FormAccess.NONE)


class TokenVerifier:
    """Verifies JWTs against a JWKS (fetched from the gateway, or given directly in tests)."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        jwks: Mapping[str, Any] | None = None,
        algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS,
        http_client: httpx.AsyncClient | None = None,
        leeway_s: float = 5.0,
    ) -> None:
        if jwks_url is None and jwks is None:
            raise ValueError("a TokenVerifier needs jwks_url or jwks")
        self.issuer = issuer
        self.audience = audience
        self.jwks_url = jwks_url
        self.algorithms = list(algorithms)
        self.leeway_s = leeway_s
        self._http = http_client
        self._keys: dict[str, jwt.PyJWK] = {}
        self._verified: dict[str, tuple[float, dict[str, Any]]] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()
        if jwks is not None:
            self._load(jwks)

    def _load(self, jwks: Mapping[str, Any]) -> None:
        keys: dict[str, jwt.PyJWK] = {}
        for entry in jwks.get("keys", []):
            kid = entry.get("kid")
            if not kid or entry.get("use", "sig") != "sig":
                continue
            try:
                key = jwt.PyJWK(dict(entry))
            except jwt.PyJWTError:
                continue
            if key.algorithm_name in self.algorithms:
                keys[kid] = key
        self._keys = keys

    async def _refresh(self) -> None:
        if self.jwks_url is None:
            return
        async with self._lock:
            if time.monotonic() - self._fetched_at < JWKS_REFETCH_INTERVAL_S and self._keys:
                return
            client = self._http or httpx.AsyncClient(timeout=httpx.Timeout(3.0))
            try:
                response = await client.get(self.jwks_url)
                response.raise_for_status()
                self._load(response.json())
            finally:
                if self._http is None:
                    await client.aclose()
            self._fetched_at = time.monotonic()

    async def _key_for(self, kid: str) -> jwt.PyJWK:
        key = self._keys.get(kid)
        if key is None:
            try:
                await self._refresh()
            except (httpx.HTTPError, ValueError) as exc:
                raise Unauthenticated("Signing keys are unavailable") from exc
            key = self._keys.get(kid)
        if key is None:
            raise Unauthenticated("Token signed by an unknown key")
        return key

    async def verify(self, token: str) -> dict[str, Any]:
        cached = self._verified.get(token)
        if cached is not None:
            remembered_at, claims = cached
            now = time.time()
            if now < claims["exp"] and now - remembered_at < VERIFIED_CACHE_TTL_S:
                return claims
            del self._verified[token]
        claims = await self._verify_signature_and_claims(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()  # crude but bounded; a full cache means an unusual burst
        self._verified[token] = (time.time(), claims)
        return claims

    async def _verify_signature_and_claims(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated("Malformed token") from exc
        if header.get("alg") not in self.algorithms:
            raise Unauthenticated("Token algorithm not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise Unauthenticated("Token has no key id")
        key = await self._key_for(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("Token expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated("Invalid token") from exc
        return claims


def principal_from_claims(claims: Mapping[str, Any], raw_token: str | None = None) -> Principal:
    try:
        return Principal(
            subject=str(claims["sub"]),
            kind=PrincipalKind(claims.get("kind", PrincipalKind.USER)),
            org_id=claims.get("org"),
            roles=frozenset(claims.get("roles", ())),
            scopes=frozenset(str(claims.get("scope", "")).split()),
            business_types=frozenset(claims.get("btypes", ())),
            form_permissions={
                str(k): FormAccess(v) for k, v in dict(claims.get("forms", {})).items()
            },
            token_id=claims.get("jti"),
            raw_token=raw_token,
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise Unauthenticated("Token claims are malformed") from exc


def bearer_token(request: Request) -> str:
    return bearer_token_from_header(request.headers.get("authorization"))


def bearer_token_from_header(header: str | None) -> str:
    if not header:
        raise Unauthenticated("Missing bearer token")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization must be a bearer token")
    return token.strip()


async def get_principal(request: Request) -> Principal:
    verifier: TokenVerifier = request.app.state.token_verifier
    token = bearer_token(request)
    claims = await verifier.verify(token)
    return principal_from_claims(claims, raw_token=token)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_scope(scope: str) -> Any:
    """Dependency: the caller's token must carry ``scope`` (partner clients and services)."""

    async def check(principal: PrincipalDep) -> Principal:
        if principal.kind is not PrincipalKind.USER and not principal.has_scope(scope):
            raise Forbidden(f"Scope {scope!r} required")
        return principal

    return Depends(check)
