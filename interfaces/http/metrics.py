"""``GET /metrics`` (Prometheus text format) and the request-latency middleware.

Each request is observed under its route template (``/api/v1/workspaces/{workspace_id}``,
never the raw path: bounded label values), method and status; a path no route matched is
``unmatched``. The route answers 404 when ``METRICS_ENABLED`` is false or ``METRICS_BIND``
serves the metrics on an internal address instead, and wants ``Authorization: Bearer
<METRICS_TOKEN>`` when a token is set (401 otherwise). Not in the OpenAPI document: it is
for the operator's Prometheus, not for clients.
"""

from __future__ import annotations

import hmac
import time
from typing import Annotated

from anyio import to_thread
from fastapi import FastAPI, Header
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from application.config import Settings
from application.errors import NotFound, Unauthorized
from interfaces import metrics
from interfaces.http.deps import ContainerDep
from interfaces.http.routers import ContextRouter

router = ContextRouter(include_in_schema=False)


class HttpMetrics:
    """Pure ASGI: the latency histogram by route template, method and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            metrics.REQUEST_SECONDS.labels(
                scope["method"], route_template(scope), str(status)
            ).observe(time.perf_counter() - started)


def route_template(scope: Scope) -> str:
    """The matched route's path template with its router's prefix (``scope["route"]`` is
    the route as its router declared it: ``/workspaces/{workspace_id}``; the prefix is the
    raw path's leading segments, which hold no ids), or ``unmatched``."""
    path = getattr(scope.get("route"), "path", None)
    if not path:
        return "unmatched"
    segments = scope["path"].split("/")
    declared = path.count("/")
    if declared >= len(segments):
        return path
    prefix = "/".join(segments[: len(segments) - declared])
    return prefix + path if prefix not in ("", "/") else path


def _authorized(settings: Settings, authorization: str | None) -> bool:
    if not settings.metrics_token:
        return True
    scheme, _, credentials = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        credentials.strip().encode(), settings.metrics_token.encode()
    )


@router.get("/metrics")
async def scrape(
    container: ContainerDep,
    authorization: Annotated[str | None, Header(max_length=512)] = None,
) -> Response:
    settings = container.settings
    if not settings.metrics_enabled or settings.metrics_bind:
        raise NotFound("metrics are not served here")
    if not _authorized(settings, authorization):
        raise Unauthorized("the metrics want the METRICS_TOKEN bearer token")
    body = await to_thread.run_sync(metrics.exposition, container.database_url)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def install(app: FastAPI, settings: Settings, database_url: str | None) -> None:
    """The route and the middleware; with ``METRICS_BIND``, the internal server (one of the
    workers gets the address)."""
    app.include_router(router)
    app.add_middleware(HttpMetrics)
    if settings.metrics_enabled and settings.metrics_bind:
        metrics.serve_internal(settings.metrics_bind, database_url)
