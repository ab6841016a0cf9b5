"""The identity errors a client can see. Authentication failures are deliberately generic."""

from __future__ import annotations

from shared.errors import AppError


class InvalidCredentials(AppError):
    status_code = 401
    code = "invalid_credentials"
    title = "The e-mail, password or code is not correct"


class TotpRequired(AppError):
    status_code = 401
    code = "totp_required"
    title = "A confirmation code from your authenticator app is required"


class TooManyAttempts(AppError):
    status_code = 429
    code = "too_many_attempts"
    title = "Too many failed attempts; try again later"

    def __init__(self, retry_after_s: int) -> None:
        retry_after_s = max(1, retry_after_s)
        super().__init__(
            f"Try again in {retry_after_s} seconds",
            headers={"Retry-After": str(retry_after_s)},
            extra={"retry_after_s": retry_after_s},
        )


class InvalidToken(AppError):
    status_code = 401
    code = "invalid_token"
    title = "The token is invalid, expired or already used"


class InvalidCode(AppError):
    status_code = 400
    code = "invalid_code"
    title = "The code is invalid or has expired"


class InvalidClient(AppError):
    """RFC 6749 §5.2 ``invalid_client``; ``error`` is set so OAuth2 libraries understand it."""

    status_code = 401
    code = "invalid_client"
    title = "Client authentication failed"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, extra={"error": "invalid_client"})


class InvalidScope(AppError):
    status_code = 400
    code = "invalid_scope"
    title = "The requested scope is not granted to this client"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, extra={"error": "invalid_scope"})


class UnsupportedGrantType(AppError):
    status_code = 400
    code = "unsupported_grant_type"
    title = "Only grant_type=client_credentials is supported here"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, extra={"error": "unsupported_grant_type"})


class AccountInactive(AppError):
    status_code = 401
    code = "account_inactive"
    title = "This account is not active"
