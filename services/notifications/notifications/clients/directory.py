"""Who administers an organisation: asked of the gateway, which owns users.

Mail that an administrator must not miss (``webhook_endpoint.disabled``) goes to every active
administrator of the organisation, not only to those who saved an address in their preferences. The
gateway answers (service token with scope ``directory:read``)::

    GET /api/v1/internal/orgs/{org_id}/admin-contacts
    200 {"org_id": "...", "admins": [{"user_id", "email", "display_name", "locale"}]}   404: no such org

The question is asked when the mail is sent, not when the event is recorded, so the event's
transaction never waits on the gateway, and a gateway that does not answer only delays the mail.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from pydantic import BaseModel

from shared.http import ServiceClient, UpstreamProblem


class AdminContact(BaseModel):
    user_id: str
    email: str
    display_name: str = ""
    locale: str = "ja"


class AdminDirectory(Protocol):
    @property
    def configured(self) -> bool:
        """Whether there is a directory to ask at all."""

    async def admin_contacts(self, org_id: str) -> list[AdminContact]:
        """The organisation's active administrators; raises when the directory cannot answer."""


class GatewayAdminDirectory:
    def __init__(self, client: ServiceClient, token: Callable[[], Awaitable[str | None]]) -> None:
        self._client = client
        self._token = token

    @property
    def configured(self) -> bool:
        return True

    async def admin_contacts(self, org_id: str) -> list[AdminContact]:
        try:
            body = await self._client.json(
                "GET", f"/api/v1/internal/orgs/{org_id}/admin-contacts", token=await self._token()
            )
        except UpstreamProblem as problem:
            if problem.upstream_status == 404:
                return []  # the organisation is gone: nobody to tell
            raise
        admins = body.get("admins", []) if isinstance(body, dict) else []
        return [AdminContact.model_validate(a) for a in admins]


class NoAdminDirectory:
    """No gateway configured: only users who saved an address in their preferences get mail."""

    @property
    def configured(self) -> bool:
        return False

    async def admin_contacts(self, org_id: str) -> list[AdminContact]:
        return []
