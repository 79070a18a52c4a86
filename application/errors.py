"""Errors a use case can raise; interfaces render them (HTTP: RFC 9457 problem+json)."""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    status = 400
    code = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class Unauthorized(ApplicationError):
    status, code, title = 401, "unauthorized", "Authentication required"


class Forbidden(ApplicationError):
    status, code, title = 403, "forbidden", "Not allowed for your role"
    workspace_id: Any = None  # the workspace where it was denied (security log), if known


class NotFound(ApplicationError):
    status, code, title = 404, "not-found", "Not found"


class Conflict(ApplicationError):
    status, code, title = 409, "conflict", "Conflict with the current state"


class PreconditionFailed(ApplicationError):
    status, code, title = 412, "stale-version", "The resource has changed (stale If-Match)"


class Invalid(ApplicationError):
    status, code, title = 422, "invalid", "Invalid request"


class TooManyRequests(ApplicationError):
    status, code, title = 429, "rate-limited", "Too many requests"
