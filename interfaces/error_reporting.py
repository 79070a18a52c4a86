"""Errors to Sentry when ``SENTRY_DSN`` is set (sentry-sdk, with its FastAPI and dramatiq
integrations), without personal data.

``send_default_pii`` is off, and ``scrub`` (the ``before_send`` hook) goes further: a
request keeps its method, route URL and harmless headers, never its body, cookies, query
string values that look like secrets or ``Authorization``; the user is reduced to the id;
every string left (messages, exception values, breadcrumbs, local variables) goes through
the log redaction (tokens, JWTs, passwords in URLs) and has e-mail addresses masked.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.dramatiq import DramatiqIntegration
from sentry_sdk.integrations.fastapi import FastApiIntegration
from sentry_sdk.integrations.starlette import StarletteIntegration

from application.config import Settings
from interfaces.logs import REDACTED, redact_text

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
KEPT_HEADERS = frozenset(
    {"accept", "accept-encoding", "content-type", "content-length", "user-agent", "x-request-id"}
)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return EMAIL.sub(REDACTED, redact_text(value))
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def scrub(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """``before_send`` (and ``before_send_transaction``): the event without personal data."""
    request = event.get("request")
    if isinstance(request, dict):
        for key in ("data", "cookies", "env"):
            request.pop(key, None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {k: v for k, v in headers.items() if k.lower() in KEPT_HEADERS}
        if request.get("query_string"):
            request["query_string"] = REDACTED
    user = event.get("user")
    if isinstance(user, dict):
        event["user"] = {"id": user["id"]} if "id" in user else {}
    event.pop("server_name", None)  # a host name says nothing a tag does not
    return _clean(event)


def init_error_reporting(settings: Settings, component: str) -> bool:
    """Start reporting to Sentry when ``SENTRY_DSN`` is set; True when it did."""
    if not settings.sentry_dsn:
        return False
    if sentry_sdk.get_client().dsn:  # set up already: e.g. the API's in-process projector
        return True
    with warnings.catch_warnings():
        # sentry-sdk 2.5x+ prefers ``data_collection``; send_default_pii=False still means
        # the same (no user info, cookies, bodies) on every version this project accepts.
        warnings.filterwarnings("ignore", "The send_default_pii option", DeprecationWarning)
        _init(settings)
    sentry_sdk.set_tag("component", component)
    return True


def _init(settings: Settings) -> None:
    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        environment=settings.sentry_environment or settings.app_env,
        send_default_pii=False,
        include_local_variables=False,  # a frame's locals may hold passwords or tokens
        max_request_body_size="never",
        traces_sample_rate=settings.sentry_traces_sample_rate,
        before_send=scrub,
        before_send_transaction=scrub,
        integrations=[StarletteIntegration(), FastApiIntegration(), DramatiqIntegration()],
    )
