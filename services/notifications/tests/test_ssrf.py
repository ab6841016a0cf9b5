"""SSRF: webhook URLs whose host is, or resolves to, a non-public address are refused (at save time
and again at delivery time) unless configuration allows private targets."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from notifications.domain.ssrf import UnsafeUrl, check_target, is_public


async def real_resolver(host: str, port: int) -> list[str]:
    from notifications.domain.runtime import resolve_host

    return await resolve_host(host, port)


def fixed_resolver(answers: dict[str, list[str]]) -> Any:
    async def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            raise OSError("NXDOMAIN")
        return answers[host]

    return resolve


REFUSED_URLS = [
    "https://127.0.0.1/hook",
    "https://127.1.2.3:8443/hook",
    "https://10.0.0.5/hook",
    "https://10.255.255.255/hook",
    "https://172.16.0.1/hook",
    "https://192.168.1.1/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://100.64.0.1/hook",
    "https://0.0.0.0/hook",
    "https://224.0.0.1/hook",
    "https://240.0.0.1/hook",
    "https://[::1]/hook",
    "https://[::]/hook",
    "https://[fe80::1]/hook",
    "https://[fc00::1]/hook",
    "https://[ff02::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[::ffff:a00:1]/hook",
    "https://[64:ff9b::a9fe:a9fe]/hook",
    "https://[2002:7f00:1::]/hook",
    "https://localhost/hook",
    "https://2130706433/hook",
]


class TestCheckTarget:
    @pytest.mark.parametrize("url", REFUSED_URLS)
    async def test_non_public_targets_are_refused(self, url: str) -> None:
        with pytest.raises(UnsafeUrl):
            await check_target(url, resolve=real_resolver, allow_private=False, require_https=True)

    async def test_names_resolving_to_private_addresses_are_refused(self) -> None:
        resolve = fixed_resolver(
            {
                "metadata.partner.test": ["169.254.169.254"],
                "mixed.partner.test": ["93.184.215.14", "10.1.2.3"],
                "v6.partner.test": ["::ffff:192.168.0.1"],
            }
        )
        for host in ("metadata.partner.test", "mixed.partner.test", "v6.partner.test"):
            with pytest.raises(UnsafeUrl, match="not a public address"):
                await check_target(
                    f"https://{host}/hook", resolve=resolve, allow_private=False, require_https=True
                )

    async def test_a_public_name_is_accepted_and_pinned_without_any_connection(self) -> None:
        resolve = fixed_resolver({"hooks.partner.test": ["93.184.215.14"]})
        target = await check_target(
            "https://hooks.partner.test/x", resolve=resolve, allow_private=False, require_https=True
        )
        assert target.pinned_address == "93.184.215.14"
        assert target.port == 443

    @pytest.mark.parametrize(
        "url",
        [
            "http://hooks.partner.test/x",
            "ftp://hooks.partner.test/x",
            "https://user:pw@hooks.partner.test/x",
            "https:///x",
            "https://hooks.partner.test:99999/x",
        ],
    )
    async def test_malformed_or_plain_http_urls_are_refused(self, url: str) -> None:
        resolve = fixed_resolver({"hooks.partner.test": ["93.184.215.14"]})
        with pytest.raises(UnsafeUrl):
            await check_target(url, resolve=resolve, allow_private=False, require_https=True)

    async def test_unresolvable_names_are_refused(self) -> None:
        with pytest.raises(UnsafeUrl, match="does not resolve"):
            await check_target(
                "https://nowhere.partner.test/x",
                resolve=fixed_resolver({}),
                allow_private=False,
                require_https=True,
            )

    async def test_configuration_can_allow_private_targets(self) -> None:
        target = await check_target(
            "http://127.0.0.1:8080/hook",
            resolve=real_resolver,
            allow_private=True,
            require_https=False,
        )
        assert target.pinned_address == "127.0.0.1"

    def test_public_addresses_are_public(self) -> None:
        import ipaddress

        assert is_public(ipaddress.ip_address("93.184.215.14"))
        assert is_public(ipaddress.ip_address("2606:2800:220:1::1"))


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"webhook_allow_private_targets": False}


class TestEndpointApiRefusesPrivateTargets:
    @pytest.mark.parametrize(
        "url",
        [
            "https://127.0.0.1/hook",
            "https://10.0.0.8/hook",
            "https://[::1]/hook",
            "https://169.254.169.254/latest/meta-data/",
            "https://localhost/hook",
        ],
    )
    async def test_refused_with_a_problem_naming_the_url_field(
        self, client: httpx.AsyncClient, tokens: Any, url: str
    ) -> None:
        response = await client.post(
            "/api/v1/notifications/webhooks",
            json={"url": url, "event_types": ["*"]},
            headers=tokens.admin(uuid.uuid4()),
        )
        assert response.status_code == 422, response.text
        problem = response.json()
        assert response.headers["content-type"] == "application/problem+json"
        assert problem["errors"][0]["field"] == "url"
        assert problem["errors"][0]["type"] == "unsafe_url"

    async def test_changing_the_url_is_checked_too(
        self, client: httpx.AsyncClient, tokens: Any, app: Any
    ) -> None:
        app.state.runtime.resolve = fixed_resolver({"hooks.partner.test": ["93.184.215.14"]})
        org = uuid.uuid4()
        created = await client.post(
            "/api/v1/notifications/webhooks",
            json={"url": "https://hooks.partner.test/x", "event_types": ["*"]},
            headers=tokens.admin(org),
        )
        assert created.status_code == 201, created.text
        patched = await client.patch(
            f"/api/v1/notifications/webhooks/{created.json()['id']}",
            json={"url": "https://10.0.0.1/x"},
            headers=tokens.admin(org),
        )
        assert patched.status_code == 422
        assert patched.json()["errors"][0]["field"] == "url"
