"""Domain errors and the Webex error body every 4xx/5xx carries."""

from typing import Any


class DomainError(Exception):
    """An error a client can act on; maps to one HTTP status and the Webex error body."""

    status_code = 400
    error_code = 400000

    def __init__(
        self,
        message: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        error_code: int | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.message = message
        if error_code is not None:
            self.error_code = error_code
        self.errors = errors or [{"description": message, "errorCode": self.error_code}]
        self.headers = headers or {}


class BadRequest(DomainError):
    """The request is malformed or breaks a rule (400)."""

    status_code = 400
    error_code = 400000


class Unauthorized(DomainError):
    """No or bad credentials (401)."""

    status_code = 401
    error_code = 401000


class Forbidden(DomainError):
    """Authenticated but not allowed (403)."""

    status_code = 403
    error_code = 403000


class NotFound(DomainError):
    """Unknown resource, or one the caller may not know exists (404)."""

    status_code = 404
    error_code = 404000


class Conflict(DomainError):
    """The request conflicts with the current state (409)."""

    status_code = 409
    error_code = 409000


class RateLimited(DomainError):
    """Too many requests (429)."""

    status_code = 429
    error_code = 429000


class InvalidTransition(Conflict):
    """A lifecycle event that the current state does not allow."""

    error_code = 409001


def error_body(message: str, errors: list[dict[str, Any]], tracking_id: str) -> dict[str, Any]:
    """Build the Webex error body that wxc_sdk and other clients parse."""
    return {"message": message, "errors": errors, "trackingId": tracking_id}


def field_error(field: str, description: str, code: int = 400100) -> BadRequest:
    """Build a 400 that names the offending field."""
    text = f"{field}: {description}"
    return BadRequest(text, errors=[{"description": text, "errorCode": code}])
