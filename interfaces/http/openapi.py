"""The OpenAPI document, with the errors: every operation lists the problem+json answers it
can give, derived in one place from what the operation is (``document``).

- 400 (a body that is not JSON), 413 (a body over the size limit): operations with a body
- 415 (a file type the bytes contradict or the allowlist lacks): multipart uploads
- 401 (no or bad bearer token), 403 (not allowed for your role): operations that need a token
- 404: operations with path ids, and every signed-in one (what is outside the caller's
  workspaces does not exist for them)
- 409: commands (a rule of the domain, a duplicate, a running timer...)
- 412: operations that take ``If-Match``
- 422: operations with parameters or a body (``errors`` lists the fields)
- 429: everything rate limited; 500 and 503: everything under /api/v1

The document also says what the server really accepts: a query or header parameter is never
``null`` (absent is how one leaves it out).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from interfaces.http.problems import PROBLEM, TYPE_BASE
from interfaces.http.ratelimit import EXEMPT_PATHS

API_PREFIX = "/api/v1"

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; extension members may follow.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri", "examples": [f"{TYPE_BASE}not-found"]},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}},
    },
    "additionalProperties": True,
}
FIELD_ERROR_SCHEMA: dict[str, Any] = {
    "title": "FieldError",
    "type": "object",
    "required": ["field", "message"],
    "properties": {
        "field": {"type": "string", "description": "dotted path of the field"},
        "location": {"type": "string", "description": "body, query, path or header"},
        "message": {"type": "string"},
        "type": {"type": "string"},
    },
}

DESCRIPTIONS = {
    400: "The body is not valid JSON (or not well-formed multipart)",
    401: "No bearer token, or an invalid, expired or ended one",
    403: "Not allowed for your role",
    404: "Not found (or outside your workspaces)",
    409: "Conflicts with the current state (a rule, a duplicate...)",
    412: "If-Match names a version that is no longer current",
    413: "The body is too large",
    415: "The file's type is not accepted, or contradicts its bytes",
    422: "The request is not valid; `errors` lists the fields",
    429: "Too many requests; retry after Retry-After",
    500: "An unexpected error",
    503: "Temporarily unavailable (database)",
}


# Operations that take credentials in the body rather than a bearer token.
CREDENTIALS = {f"{API_PREFIX}/auth/login", f"{API_PREFIX}/auth/refresh"}


def errors_for(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses one operation can answer."""
    params = operation.get("parameters", [])
    has_body = "requestBody" in operation
    signed_in = bool(operation.get("security"))
    command = method != "get" or "202" in operation.get("responses", {})
    statuses = {500}
    if path.startswith(API_PREFIX):
        statuses.add(503)
    if path not in EXEMPT_PATHS:
        statuses.add(429)
    if has_body:
        statuses |= {400, 413}
    if "multipart/form-data" in operation.get("requestBody", {}).get("content", {}):
        statuses.add(415)
    if params or has_body:
        statuses.add(422)
    if signed_in:
        statuses |= {401, 403, 404}
    if path in CREDENTIALS:
        statuses.add(401)
    if any(p["in"] == "path" for p in params):
        statuses.add(404)
    if command and path.startswith(API_PREFIX):
        statuses.add(409)
    if any(p["in"] == "header" and p["name"].lower() == "if-match" for p in params):
        statuses.add(412)
    return statuses


def _problem_response(status: int) -> dict[str, Any]:
    return {
        "description": DESCRIPTIONS[status],
        "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """``anyOf: [X, {type: null}]`` -> X (a parameter is absent, never null)."""
    options = schema.get("anyOf")
    if not options:
        return schema
    kept = [o for o in options if o.get("type") != "null"]
    if len(kept) == len(options):
        return schema
    rest = {k: v for k, v in schema.items() if k != "anyOf"}
    return {**rest, **kept[0]} if len(kept) == 1 else {**rest, "anyOf": kept}


def describe_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the problem responses (and fix parameter schemas) in a generated document."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    components["FieldError"] = FIELD_ERROR_SCHEMA
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            for param in operation.get("parameters", []):
                if param["in"] in ("query", "header") and "schema" in param:
                    param["schema"] = _not_null(param["schema"])
            responses = operation.setdefault("responses", {})
            for status in errors_for(path, method, operation):
                responses[str(status)] = _problem_response(status)
            operation["responses"] = dict(sorted(responses.items()))
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


def install(app: FastAPI) -> None:
    """Serve the described document at /openapi.json (built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe_errors(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    openapi_version=app.openapi_version,
                    description=app.description,
                    routes=app.routes,
                    tags=app.openapi_tags,
                    servers=app.servers,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
