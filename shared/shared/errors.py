"""RFC 9457 problem details for every error a service returns.

Each error has a stable machine ``code`` and carries the request id, so an integrator can quote it to
operations. Validation errors name the offending field(s) in ``errors``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, ClassVar

import orjson
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from shared.observability import current_request_id

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://minato.dev/problems/"

log = structlog.get_logger("shared.errors")


class AppError(Exception):
    """Base class of errors that become problem responses. Subclasses set the class attributes."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = list(errors) if errors else None
        self.headers = dict(headers) if headers else None
        self.extra = dict(extra) if extra else None


class NotFound(AppError):
    status_code = 404
    code = "not_found"
    title = "Not found"


class Unauthenticated(AppError):
    status_code = 401
    code = "unauthenticated"
    title = "Authentication required"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kwargs)


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"
    title = "Forbidden"


class Conflict(AppError):
    status_code = 409
    code = "conflict"
    title = "Conflict"


class PreconditionFailed(AppError):
    status_code = 412
    code = "precondition_failed"
    title = "The resource has changed since you read it"


class PreconditionRequired(AppError):
    status_code = 428
    code = "precondition_required"
    title = "If-Match header required"


class InvalidInput(AppError):
    status_code = 422
    code = "validation_error"
    title = "Invalid input"


class TooManyRequests(AppError):
    status_code = 429
    code = "too_many_requests"
    title = "Too many requests"


class UpstreamUnavailable(AppError):
    status_code = 502
    code = "upstream_unavailable"
    title = "A backing service is unavailable"


class UpstreamTimeout(AppError):
    status_code = 504
    code = "upstream_timeout"
    title = "A backing service did not answer in time"


def field_error(loc: Sequence[str | int], message: str, *, kind: str = "invalid") -> dict[str, Any]:
    """One entry of a problem's ``errors`` list: where (JSON pointer and path) and what."""
    return {
        "pointer": "/" + "/".join(str(part) for part in loc),
        "field": ".".join(str(part) for part in loc),
        "message": message,
        "type": kind,
    }


def problem_body(
    *,
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    instance: str | None = None,
    errors: Sequence[Mapping[str, Any]] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "code": code,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    request_id = current_request_id()
    if request_id:
        body["request_id"] = request_id
    if errors:
        body["errors"] = list(errors)
    if extra:
        body.update(extra)
    return body


def problem_response(
    body: Mapping[str, Any], *, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        content=orjson.dumps(body),
        status_code=int(body["status"]),
        media_type=PROBLEM_CONTENT_TYPE,
        headers=dict(headers) if headers else None,
    )


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [part for part in err.get("loc", ()) if part not in ("body",)] or list(
            err.get("loc", ())
        )
        out.append(field_error(loc, str(err.get("msg", "invalid")), kind=str(err.get("type", ""))))
    return out


async def _handle_app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    body = problem_body(
        status=exc.status_code,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        instance=request.url.path,
        errors=exc.errors,
        extra=exc.extra,
    )
    return problem_response(body, headers=exc.headers)


async def _handle_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc)
    body_error = any(err.get("type") == "json_invalid" for err in errors)
    if body_error:
        body = problem_body(
            status=400,
            code="malformed_json",
            title="The request body is not valid JSON",
            detail=errors[0]["message"],
            instance=request.url.path,
            errors=errors,
        )
    else:
        fields = ", ".join(err["field"] for err in errors)
        body = problem_body(
            status=422,
            code="validation_error",
            title="Invalid input",
            detail=f"Invalid value for: {fields}",
            instance=request.url.path,
            errors=errors,
        )
    return problem_response(body)


async def _handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    code = {404: "not_found", 405: "method_not_allowed"}.get(status, f"http_{status}")
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
    body = problem_body(
        status=status, code=code, title=title, detail=detail, instance=request.url.path
    )
    return problem_response(body, headers=getattr(exc, "headers", None))


async def _handle_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled_error", path=request.url.path, error_type=type(exc).__name__)
    body = problem_body(
        status=500,
        code="internal_error",
        title="Internal server error",
        instance=request.url.path,
    )
    return problem_response(body)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _handle_app_error)
    app.add_exception_handler(RequestValidationError, _handle_validation)
    app.add_exception_handler(StarletteHTTPException, _handle_http_exception)
    app.add_exception_handler(Exception, _handle_unexpected)


# The shape of a problem response, for OpenAPI ``responses=`` declarations.
PROBLEM_SCHEMA: dict[str, Any] = {
    "description": "RFC 9457 problem details",
    "content": {
        PROBLEM_CONTENT_TYPE: {
            "schema": {
                "type": "object",
                "required": ["type", "title", "status", "code"],
                "properties": {
                    "type": {"type": "string"},
                    "title": {"type": "string"},
                    "status": {"type": "integer"},
                    "code": {"type": "string"},
                    "detail": {"type": "string"},
                    "instance": {"type": "string"},
                    "request_id": {"type": "string"},
                    "errors": {"type": "array", "items": {"type": "object"}},
                },
            }
        }
    },
}
