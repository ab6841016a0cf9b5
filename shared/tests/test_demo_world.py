"""The demo world's guards and data, without a running system (tests/e2e/test_demo_and_cli_e2e.py seeds
it for real, twice)."""

from __future__ import annotations

import httpx
import pytest

from shared.codes.corporate_number import check_corporate_number
from shared.devstack.demo import ORGS, TRADES, DemoError, DemoWorld, refuse_unless_local


@pytest.mark.parametrize(
    "url", ["https://api.minato.example.co.jp", "http://10.0.0.5:8000", "http://minato:8000"]
)
def test_a_gateway_on_another_machine_is_refused_before_any_request(url: str) -> None:
    requests: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda r: requests.append(r) or httpx.Response(200))
    with httpx.Client(base_url=url, transport=transport) as client, pytest.raises(DemoError):
        DemoWorld(client, operator_token="t", mail_url="http://127.0.0.1:8026")
    assert requests == []


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000", "http://localhost:54321", "http://[::1]:8000"]
)
def test_this_machine_is_allowed(url: str) -> None:
    refuse_unless_local(url)


def test_every_business_type_has_an_organisation_with_a_valid_corporate_number() -> None:
    # The gateway's list is the truth (a new business type should get a demo organisation too).
    from gateway.domain.catalogue import BusinessType

    assert {org.business_type for org in ORGS} == {t.value for t in BusinessType}
    assert all(check_corporate_number(org.corporate_number).is_valid for org in ORGS)
    assert len({org.email for org in ORGS}) == len(ORGS)
    assert len({trade.reference for trade in TRADES}) == len(TRADES)
