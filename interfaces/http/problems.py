"""RFC 9457 problem+json for every error path: ours, FastAPI's validation, unknown routes."""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

import sentry_sdk
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from application.config import ConfigError
from application.errors import ApplicationError, Forbidden
from application.security_log import security_event

PROBLEM = "application/problem+json"
TYPE_BASE = "https://worksync.dev/problems/"
log = structlog.get_logger("http")


def problem(
    status: int,
    detail: str,
    *,
    code: str | None = None,
    title: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    phrase = HTTPStatus(status).phrase
    body = {
        "type": TYPE_BASE + (code or phrase.lower().replace(" ", "-")),
        "title": title or phrase,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        errors.append(
            {
                "field": ".".join(loc[1:]) or loc[0] if loc else "",
                "location": loc[0] if loc else "",
                "message": err.get("msg", "invalid"),
                "type": err.get("type", ""),
            }
        )
    return errors


def allowed_methods(request: Request) -> list[str]:
    """Every method the OpenAPI document lists at this request's path. Where templates with
    fewer parameters match too, only they count, as in routing: ``/allocations/bulk-update``
    is that route, not an ``/allocations/{allocation_id}``."""
    matching: dict[int, set[str]] = {}
    for template, item in request.app.openapi().get("paths", {}).items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, request.url.path):
            methods = matching.setdefault(template.count("{"), set())
            methods |= {method.upper() for method in item}
    return sorted(matching[min(matching)]) if matching else []


def install(app: FastAPI) -> None:
    @app.exception_handler(ApplicationError)
    async def application_error(request: Request, exc: ApplicationError) -> JSONResponse:
        if isinstance(exc, Forbidden):
            security_event(
                "permission_denied",
                workspace_id=exc.workspace_id
                or request.path_params.get("workspace_id")
                or request.query_params.get("workspace_id"),
                method=request.method,
                path=request.url.path,
                detail=exc.detail,
            )
        return problem(
            exc.status,
            exc.detail,
            code=exc.code,
            title=exc.title,
            instance=request.url.path,
            **exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem(
            422,
            "the request is not valid; see errors",
            code="validation",
            title="Validation failed",
            instance=request.url.path,
            errors=_field_errors(exc),
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no route for {request.method} {request.url.path}"
        headers = exc.headers
        if exc.status_code == 405:  # Starlette names one route's methods: name the path's
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
        return problem(exc.status_code, detail, instance=request.url.path, headers=headers)

    @app.exception_handler(ConfigError)
    async def config_error(request: Request, exc: ConfigError) -> JSONResponse:
        return problem(500, str(exc), code="misconfigured")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        sentry_sdk.capture_exception(exc)  # a no-op unless SENTRY_DSN is set
        return problem(
            500, "an unexpected error occurred", code="internal", instance=request.url.path
        )
