"""The production path of the access check: forms obtains its own token from the real gateway
(client credentials as ``svc-forms``) and the real trades service accepts it. Real commits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from forms.app import create_app
from gateway.app import create_app as create_gateway_app
from gateway.config import Settings as GatewaySettings
from shared.auth import TokenVerifier
from shared.service_auth import ServiceTokenProvider
from shared.testing.plugin import asgi_client
from shared.testing.tokens import TEST_AUDIENCE, TEST_ISSUER, TestIssuer
from trades.app import create_app as create_trades_app
from trades.runtime import Runtime as TradesRuntime

from .conftest import TRADE_BODY, FakeClock, Org, forms_settings, trades_settings, unique_ids

SECRET = "forms-service-client-secret-for-this-test"


@pytest.fixture(scope="session")
def gateway_database_url(migrated_database: Callable[[str], str]) -> str:
    return migrated_database("gateway")


async def test_forms_uses_a_gateway_minted_service_token_for_the_access_check(
    gateway_database_url: str,
    database_url: str,
    trades_database_url: str,
    token_issuer: TestIssuer,
    tmp_path: Path,
) -> None:
    gateway = create_gateway_app(
        GatewaySettings(
            environment="test",
            database_url=gateway_database_url,
            keys_dir=tmp_path,
            service_clients={"forms": SECRET},
        )
    )
    async with LifespanManager(gateway) as gateway_manager:
        gateway_transport = httpx.ASGITransport(app=gateway_manager.app)
        async with httpx.AsyncClient(
            transport=gateway_transport, base_url="http://gateway"
        ) as gateway_http:
            gateway_keys = (await gateway_http.get("/.well-known/jwks.json")).json()["keys"]
            # Users come from the test issuer, the service token from the gateway: trust both.
            jwks = {"keys": [*gateway_keys, *token_issuer.jwks["keys"]]}

            def verifier() -> TokenVerifier:
                return TokenVerifier(issuer=TEST_ISSUER, audience=TEST_AUDIENCE, jwks=jwks)

            provider = ServiceTokenProvider(
                token_url="http://gateway/api/v1/auth/token",
                client_id="svc-forms",
                client_secret=SECRET,
                http_client=gateway_http,
            )
            trades_app = create_trades_app(
                trades_settings(trades_database_url),
                token_verifier=verifier(),
                runtime=TradesRuntime(clock=FakeClock(), new_id=unique_ids()),
            )
            async with LifespanManager(trades_app) as trades_manager:
                trades_transport = httpx.ASGITransport(app=trades_manager.app)
                shipper = Org(token_issuer, "shipper", "shipper")
                outsider = Org(token_issuer, "outsider", "shipper")
                async with httpx.AsyncClient(
                    transport=trades_transport, base_url="http://trades"
                ) as trades:
                    created = await trades.post(
                        "/api/v1/trades", json=TRADE_BODY, headers=shipper.headers
                    )
                    assert created.status_code == 201, created.text
                trade_id = created.json()["id"]

                app = create_app(
                    forms_settings(database_url),
                    token_verifier=verifier(),
                    trades_transport=trades_transport,
                    service_token=provider.token,
                    id_factory=unique_ids(),
                )
                async for client in asgi_client(app):
                    documents = f"/api/v1/forms/trades/{trade_id}/documents"
                    made = await client.post(
                        documents, json={"form_type": "UL040"}, headers=shipper.headers
                    )
                    assert made.status_code == 201, made.text
                    listed = await client.get(documents, headers=shipper.headers)
                    assert listed.status_code == 200
                    assert (
                        await client.get(documents, headers=outsider.headers)
                    ).status_code == 404
    assert provider.fetches == 1  # one token, reused until it nears expiry
