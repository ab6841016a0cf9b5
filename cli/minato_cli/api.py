"""The gateway over HTTP: bearer tokens (refreshed when stale), RFC 9457 problems as exceptions."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Mapping
from typing import Any

import click
import httpx

from minato_cli import session

DEFAULT_URL = "http://127.0.0.1:8000"


class CliError(click.ClickException):
    """Something to tell the operator (on stderr) and exit 1; never a traceback."""


class NotLoggedIn(CliError):
    pass


class Problem(CliError):
    """An RFC 9457 problem answered by the gateway or a service behind it."""

    def __init__(self, status: int, body: Mapping[str, Any]) -> None:
        self.status = status
        self.body = dict(body)
        self.code = str(body.get("code") or "")
        self.detail = str(body.get("detail") or body.get("title") or f"HTTP {status}")
        super().__init__(self.render())

    def render(self) -> str:
        head = f"{self.status} {self.code}: {self.detail}" if self.code else self.detail
        lines = [head]
        for error in self.body.get("errors") or []:
            if isinstance(error, Mapping):
                lines.append(f"  {error.get('field') or '?'}: {error.get('message', '')}")
        if self.body.get("request_id"):
            lines.append(f"  (request id {self.body['request_id']})")
        return "\n".join(lines)


def problem_from(response: httpx.Response) -> Problem:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {"detail": response.text[:200] or response.reason_phrase}
    return Problem(response.status_code, body)


class Gateway:
    """One gateway; ``token`` overrides the stored login (``MINATO_TOKEN``)."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float = 15.0,
    ) -> None:
        self.url = url.rstrip("/")
        self._token = token if token is not None else os.environ.get(session.TOKEN_ENV) or None
        self._http = httpx.Client(
            base_url=self.url, timeout=httpx.Timeout(timeout_s), transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ----------------------------------------------------------------------------------
    def send(
        self,
        method: str,
        path: str,
        *,
        auth: bool = True,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (),
    ) -> httpx.Response:
        all_headers = dict(headers or {})
        if auth:
            all_headers["Authorization"] = f"Bearer {self.access_token()}"
        try:
            response = self._http.request(
                method, path, params=_clean(params), json=json, headers=all_headers
            )
        except httpx.TransportError as exc:
            raise CliError(f"Cannot reach the gateway at {self.url}: {exc}") from exc
        if response.is_success or response.status_code in ok:
            return response
        if response.status_code == 401 and auth and self._token is None:
            raise NotLoggedIn(problem_from(response).render() + "\nLog in again: minato login")
        raise problem_from(response)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.send("GET", path, **kwargs).json()

    def post(self, path: str, **kwargs: Any) -> Any:
        response = self.send("POST", path, **kwargs)
        return response.json() if response.content else None

    # -- tokens -------------------------------------------------------------------------------------
    def access_token(self) -> str:
        if self._token:
            return self._token
        stored = session.load(self.url)
        if stored is None:
            raise NotLoggedIn(
                f"Not logged in to {self.url}: run `minato login` (or set MINATO_TOKEN)"
            )
        if not stored.fresh():
            stored = self._refresh(stored)
        return stored.access_token

    def _refresh(self, stored: session.StoredLogin) -> session.StoredLogin:
        if not stored.refresh_token:
            raise NotLoggedIn(f"The login to {self.url} has expired: run `minato login`")
        response = self._http.post(
            "/api/v1/auth/refresh", json={"refresh_token": stored.refresh_token}
        )
        if not response.is_success:
            session.forget(self.url)
            raise NotLoggedIn(
                f"The login to {self.url} has expired ({problem_from(response).detail}): "
                "run `minato login`"
            )
        renewed = stored_from_tokens(stored.email, response.json())
        session.save(self.url, renewed)
        return renewed

    def login(
        self,
        email: str,
        password: str,
        totp_code: str | None = None,
        recovery_code: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"email": email, "password": password}
        if totp_code:
            body["totp_code"] = totp_code
        if recovery_code:
            body["recovery_code"] = recovery_code
        result: dict[str, Any] = self.post("/api/v1/auth/login", auth=False, json=body)
        return result

    def enrol_totp(self, enrolment_token: str, code: str) -> dict[str, Any]:
        result: dict[str, Any] = self.post(
            "/api/v1/auth/totp/enrol",
            auth=False,
            json={"enrolment_token": enrolment_token, "code": code},
        )
        return result


def stored_from_tokens(email: str, tokens: Mapping[str, Any]) -> session.StoredLogin:
    return session.StoredLogin(
        email=email,
        access_token=str(tokens["access_token"]),
        refresh_token=tokens.get("refresh_token"),
        expires_at=time.time() + float(tokens.get("expires_in", 600)),
    )


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


def _clean(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Drop unset options, so the service applies its own defaults."""
    if params is None:
        return None
    return {k: v for k, v in params.items() if v is not None and v != () and v != []}
