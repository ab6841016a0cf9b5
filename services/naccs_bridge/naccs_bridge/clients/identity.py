"""The sending user's linked NACCS 利用者ID and password, from the gateway's identity store.

At the gateway (``gateway.api.internal``; service tokens with scope ``naccs:credentials`` only)::

    GET /api/v1/internal/naccs-credentials/{user_id}
    200 {"naccs_user_id": "ABCDE001", "password": "...", ...}   404 when the user has no linked 利用者ID
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from pydantic import SecretStr

from shared.http import ServiceClient, UpstreamProblem


@dataclass(frozen=True)
class NaccsCredentials:
    naccs_user_id: str  # 利用者コード (5) + 識別番号 (3)
    password: SecretStr

    @property
    def user_code(self) -> str:
        return self.naccs_user_id[:5]

    @property
    def identification_no(self) -> str:
        return self.naccs_user_id[5:8]


class CredentialsProvider(Protocol):
    async def credentials_for(self, user_subject: str) -> NaccsCredentials | None: ...


class GatewayCredentials:
    def __init__(self, client: ServiceClient, token: Callable[[], Awaitable[str | None]]) -> None:
        self._client = client
        self._token = token

    async def credentials_for(self, user_subject: str) -> NaccsCredentials | None:
        try:
            body = await self._client.json(
                "GET",
                f"/api/v1/internal/naccs-credentials/{user_subject}",
                token=await self._token(),
            )
        except UpstreamProblem as problem:
            if problem.upstream_status == 404:
                return None
            raise
        return NaccsCredentials(
            naccs_user_id=str(body["naccs_user_id"]), password=SecretStr(str(body["password"]))
        )


class StaticCredentials:
    """Credentials from configuration: development without a gateway, and tests."""

    def __init__(self, by_subject: Mapping[str, str]) -> None:
        self._by_subject: dict[str, NaccsCredentials] = {}
        for subject, value in by_subject.items():
            user_id, _, password = value.partition(":")
            self._by_subject[subject] = NaccsCredentials(user_id, SecretStr(password))

    def link(self, subject: str, naccs_user_id: str, password: str) -> None:
        self._by_subject[subject] = NaccsCredentials(naccs_user_id, SecretStr(password))

    async def credentials_for(self, user_subject: str) -> NaccsCredentials | None:
        return self._by_subject.get(user_subject)
