"""The gateway: the only public entry. Routes ``/api/v1/...`` to the services, serves the merged docs,
publishes the JWKS, reports the health of the whole system, and owns identity and access
(``/api/v1/auth``, ``/orgs``, ``/users``, ``/clients``: its own routes, not proxied)."""

from __future__ import annotations

import asyncio
import contextlib
from contextlib import AsyncExitStack
from typing import Any

import httpx
import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import func, select

from gateway.api import identity_routers
from gateway.api.deps import IdentityRuntime
from gateway.config import Settings
from gateway.domain.bootstrap import ensure_demo_operator
from gateway.domain.clients import provision_service_clients
from gateway.domain.clock import Clock, Randomness, SystemClock, SystemRandomness
from gateway.domain.context import Env
from gateway.domain.crypto import PasswordHashing, SecretBox
from gateway.domain.mail import Mailer
from gateway.domain.tokens import AccessTokens
from gateway.keys import ALGORITHM, KeyRing
from gateway.openapi import OpenAPIMerger
from gateway.proxy import Route, UpstreamProxy, install_edge
from shared.auth import TokenVerifier
from shared.errors import PROBLEM_SCHEMA
from shared.service import NotReady, create_service_app
from shared.settings import Environment

log = structlog.get_logger("gateway.app")
# The advisory lock gateway replicas take turns on at start (see bootstrap_identity).
BOOTSTRAP_LOCK = "minato-gateway-bootstrap"

DESCRIPTION = """Minato: an open, API-first port-logistics platform with a direct bridge to NACCS.

Every operation of every service is listed here, tagged by the service that owns it. Errors are
RFC 9457 `application/problem+json` with a stable `code` and the `request_id`."""


def build_routes(settings: Settings) -> list[Route]:
    routes = []
    replicas = settings.upstream_replicas
    for prefix, service in settings.routes.items():
        urls = replicas.get(service)
        if urls is None:
            raise ValueError(f"route {prefix} names unknown upstream {service!r}")
        routes.append(
            Route(
                prefix=prefix.rstrip("/"),
                service=service,
                base_url=urls[0],
                replica_urls=tuple(urls) if len(urls) > 1 else (),
            )
        )
    return routes


def system_router() -> APIRouter:
    router = APIRouter(tags=["gateway"])

    @router.get("/.well-known/jwks.json", summary="Public keys that verify Minato's access tokens")
    async def jwks(request: Request) -> dict[str, Any]:
        keyring: KeyRing = request.app.state.keyring
        return keyring.jwks()

    @router.get(
        "/health/services",
        summary="Readiness of every service behind the gateway",
        responses={503: PROBLEM_SCHEMA},
    )
    async def services_health(request: Request) -> JSONResponse:
        settings: Settings = request.app.state.settings
        client: httpx.AsyncClient = request.app.state.health_client
        proxy: UpstreamProxy = request.app.state.proxy

        async def check(base: str) -> dict[str, Any]:
            try:
                response = await client.get(base.rstrip("/") + "/readyz")
            except httpx.HTTPError:
                return {"status": "unreachable"}
            try:
                body = response.json()
            except ValueError:
                body = {}
            status = "ok" if response.status_code == 200 else "not_ready"
            checks = body.get("checks", {}) if isinstance(body, dict) else {}
            return {"status": status, "checks": checks}

        async def check_service(name: str, urls: list[str]) -> tuple[str, dict[str, Any]]:
            found = await asyncio.gather(*(check(url) for url in urls))
            if len(urls) == 1:
                return name, found[0]
            # Several replicas: each one's own answer, and the service as a whole.
            now = asyncio.get_running_loop().time()
            skipped = proxy.skipped_replicas(name, now)
            replicas = [
                {"url": url, **result, "skipped_by_proxy": url in skipped}
                for url, result in zip(urls, found, strict=True)
            ]
            ready = [r for r in replicas if r["status"] == "ok"]
            status = "ok" if len(ready) == len(replicas) else "degraded" if ready else "unreachable"
            checks = ready[0]["checks"] if ready else {}
            return name, {"status": status, "checks": checks, "replicas": replicas}

        results = dict(
            await asyncio.gather(
                *(check_service(n, urls) for n, urls in settings.upstream_replicas.items())
            )
        )
        overall = "ok" if all(r["status"] == "ok" for r in results.values()) else "degraded"
        return JSONResponse(
            {"status": overall, "services": results}, status_code=200 if overall == "ok" else 503
        )

    @router.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> dict[str, Any]:
        merger: OpenAPIMerger = request.app.state.openapi_merger
        return await merger.document(request.app.openapi())

    @router.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="Minato API")

    return router


def build_identity(
    settings: Settings, keyring: KeyRing, clock: Clock | None, random: Randomness | None
) -> IdentityRuntime:
    clock = clock or SystemClock()
    return IdentityRuntime(
        settings=settings,
        clock=clock,
        random=random or SystemRandomness(),
        box=SecretBox(settings.secrets_key.get_secret_value()),
        hashing=PasswordHashing(settings.hash_concurrency),
        access_tokens=AccessTokens(
            keyring,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            ttl_s=settings.access_token_ttl_s,
            clock=clock,
        ),
        mailer=Mailer(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.mail_from,
            timeout_s=settings.smtp_timeout_s,
        ),
    )


async def bootstrap_identity(app: FastAPI, identity: IdentityRuntime) -> None:
    """Provision our services' clients, and in dev the demo operator, once the database is up."""
    settings = identity.settings
    demo: tuple[str, str] | None = None
    if (
        settings.environment is Environment.DEV
        and settings.demo_operator_email
        and settings.demo_operator_password is not None
    ):
        demo = (settings.demo_operator_email, settings.demo_operator_password.get_secret_value())
    if not settings.service_clients and demo is None:
        return
    async with app.state.sessionmaker() as session:
        # Replicas starting together take turns (held until the commit), so each row is made once.
        await session.execute(
            select(func.pg_advisory_xact_lock(func.hashtextextended(BOOTSTRAP_LOCK, 0)))
        )
        env = Env(
            session=session,
            settings=settings,
            clock=identity.clock,
            random=identity.random,
            box=identity.box,
            hashing=identity.hashing,
            access_tokens=identity.access_tokens,
            ip=None,
            send_mail=lambda mail: None,
        )
        provisioned = await provision_service_clients(
            env, {name: s.get_secret_value() for name, s in settings.service_clients.items()}
        )
        if demo is not None:
            await ensure_demo_operator(env, *demo)
        await session.commit()
    if provisioned:
        log.info("service_clients_provisioned", clients=provisioned)
    if demo is not None:
        # Dev only. The password itself is never logged: `make run` prints it in its banner.
        log.warning("demo_operator_ready", email=demo[0], login="POST /api/v1/auth/login")


def key_retention_s(settings: Settings) -> float:
    return max(24 * 3600, settings.access_token_ttl_s * 2)


def own_verifier(settings: Settings, keyring: KeyRing) -> TokenVerifier:
    return TokenVerifier(
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        jwks=keyring.jwks(),
        algorithms=(ALGORITHM,),
    )


def reload_keys(app: FastAPI) -> bool:
    """Re-read the keys directory; swap the key ring, the signer and our own verifier if it changed."""
    settings: Settings = app.state.settings
    fresh = KeyRing.from_dir(
        settings.keys_dir,
        generate_if_missing=False,
        retain_s=key_retention_s(settings),
        publish_ahead_s=settings.key_publish_ahead_s,
    )
    if fresh.same_as(app.state.keyring):
        return False
    app.state.keyring = fresh
    app.state.identity.access_tokens.keyring = fresh
    # The proxy and the routes read app.state.token_verifier per request.
    app.state.token_verifier = own_verifier(settings, fresh)
    log.info(
        "signing_keys_reloaded", published=[k.kid for k in fresh.keys], signing=fresh.current.kid
    )
    return True


async def reload_keys_forever(app: FastAPI) -> None:
    while True:
        await asyncio.sleep(app.state.settings.key_reload_s)
        try:
            reload_keys(app)
        except (OSError, ValueError, RuntimeError) as exc:  # keep the keys we have
            log.error("signing_keys_reload_failed", error=repr(exc))


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    random: Randomness | None = None,
) -> FastAPI:
    settings = settings or Settings()
    routes = build_routes(settings)
    keyring = KeyRing.from_dir(
        settings.keys_dir,
        generate_if_missing=settings.is_dev,
        rotate_after_s=settings.key_rotation_days * 86400,
        retain_s=key_retention_s(settings),
        publish_ahead_s=settings.key_publish_ahead_s,
    )
    identity = build_identity(settings, keyring, clock, random)
    proxy = UpstreamProxy(
        routes=routes,
        verifier_ref=None,
        connect_timeout_s=settings.upstream_connect_timeout_s,
        read_timeout_s=settings.upstream_read_timeout_s,
        pool_size=settings.upstream_pool_size,
        max_body_bytes=settings.max_request_body_bytes,
        client=settings.proxy_client,
        down_s=settings.upstream_down_s,
    )
    # The gateway is the issuer: it verifies against its own keys, no network round trip.
    verifier = own_verifier(settings, keyring)

    async def start_gateway(app: FastAPI, stack: AsyncExitStack) -> None:
        await proxy.start()
        stack.push_async_callback(proxy.close)
        health_client = httpx.AsyncClient(timeout=httpx.Timeout(2.0))
        stack.push_async_callback(health_client.aclose)
        app.state.health_client = health_client
        if settings.database_url:
            await bootstrap_identity(app, identity)
        reloader = asyncio.create_task(reload_keys_forever(app))

        async def stop_reloader() -> None:
            reloader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reloader

        stack.push_async_callback(stop_reloader)

    app = create_service_app(
        settings,
        title="Minato gateway",
        description=DESCRIPTION,
        routers=[system_router(), *identity_routers()],
        on_startup=[start_gateway],
        token_verifier=verifier,
        serve_openapi=False,  # the merging route above serves /openapi.json and /docs
    )
    app.state.keyring = keyring
    app.state.identity = identity
    app.state.proxy = proxy
    app.state.openapi_merger = OpenAPIMerger(
        settings.upstream_replicas, routes, settings.openapi_cache_s
    )
    proxy.bind_verifier(app.state)
    # Proxied requests are answered in front of the middleware stack (gateway.proxy.EdgeProxy).
    install_edge(app, proxy, service=settings.service_name, access_log=settings.access_log)
    return app


__all__ = ["NotReady", "create_app"]
