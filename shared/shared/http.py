"""Service-to-service HTTP client.

Timeouts on every call; retries only for idempotent methods (or requests carrying an
``Idempotency-Key``), with jittered exponential backoff; the request id and the caller's token are
propagated; an upstream problem becomes an ``UpstreamProblem`` carrying its status and body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import stamina

from shared import tracing
from shared.errors import AppError, UpstreamTimeout, UpstreamUnavailable
from shared.observability import current_request_id, outgoing_traceparent

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class UpstreamProblem(AppError):
    """An upstream service answered with an error; its problem body is passed on."""

    status_code = 502
    code = "upstream_error"
    title = "A backing service refused the request"

    def __init__(self, status: int, body: Mapping[str, Any] | None) -> None:
        detail = str((body or {}).get("detail") or (body or {}).get("title") or "")
        super().__init__(detail or None, extra={"upstream_status": status})
        self.upstream_status = status
        self.upstream_body = dict(body or {})


class _Retryable(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class ServiceClient:
    def __init__(
        self,
        base_url: str,
        *,
        timeout: httpx.Timeout | None = None,
        attempts: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.attempts = attempts
        self._host = httpx.URL(self.base_url).netloc.decode("ascii")
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=timeout or httpx.Timeout(5.0, connect=2.0),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    def _headers(self, token: str | None, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers: dict[str, str] = {}
        request_id = current_request_id()
        if request_id:
            headers["X-Request-ID"] = request_id
        traceparent = outgoing_traceparent()
        if traceparent:
            headers["traceparent"] = traceparent
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if extra:
            headers.update(extra)
        return headers

    async def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        method = method.upper()
        all_headers = self._headers(token, headers)
        retryable = method in IDEMPOTENT_METHODS or "Idempotency-Key" in all_headers
        attempts = self.attempts if retryable else 1

        async def once() -> httpx.Response:
            if tracing.tracer is None:
                response = await self._client.request(
                    method, path, json=json, params=params, headers=all_headers
                )
            else:
                response = await self._traced(method, path, json, params, all_headers)
            if response.status_code in (502, 503, 504) and retryable:
                raise _Retryable(response)
            return response

        try:
            async for attempt in stamina.retry_context(
                on=(httpx.TransportError, _Retryable), attempts=attempts, wait_max=2.0
            ):
                with attempt:
                    return await once()
        except _Retryable as exc:
            return exc.response
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(f"{self.base_url} did not answer in time") from exc
        except httpx.TransportError as exc:
            raise UpstreamUnavailable(f"{self.base_url} is unreachable") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def _traced(
        self,
        method: str,
        path: str,
        json: Any,
        params: Mapping[str, Any] | None,
        headers: dict[str, str],
    ) -> httpx.Response:
        """One attempt as a CLIENT span; the callee's span is its child (``traceparent``)."""
        attributes = {"http.request.method": method, "url.full": self.base_url + path}
        with tracing.client_span(f"{method} {self._host}", attributes) as span:
            traceparent = tracing.current_traceparent()
            if traceparent:
                headers = {**headers, "traceparent": traceparent}
            response = await self._client.request(
                method, path, json=json, params=params, headers=headers
            )
            tracing.record_status(span, response.status_code)
            return response

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Request and return the decoded JSON body; an error status becomes ``UpstreamProblem``."""
        response = await self.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"detail": response.text[:200]}
            raise UpstreamProblem(response.status_code, body if isinstance(body, dict) else None)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()
