"""This service's own token for calls to other Minato services.

Normally ``shared.service_auth.ServiceTokenProvider``: OAuth2 client credentials at the gateway as
``svc-forms`` (``FORMS_TOKEN_URL``, ``FORMS_SERVICE_CLIENT_ID``, ``FORMS_SERVICE_CLIENT_SECRET``, set
by the devstack), cached until shortly before it expires. ``StaticToken`` serves a fixed token
(``FORMS_SERVICE_TOKEN``) where no service client is provisioned, and tests. Only this service's
token is cached, never an answer about who may see what.
"""

from __future__ import annotations


class StaticToken:
    def __init__(self, token: str | None) -> None:
        self._token = token

    async def __call__(self) -> str | None:
        return self._token
