"""The FastAPI application: routers under /api/v1, problem+json errors, request ids, gzip;
and the served ASGI app, with Socket.IO at /socket.io beside it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import socketio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import Message, Receive, Scope, Send

from application.config import Settings, get_settings
from interfaces import realtime
from interfaces.bootstrap import close_container, open_container, settle_heap
from interfaces.embedded import resolve_database_url
from interfaces.error_reporting import init_error_reporting
from interfaces.http import (
    activities,
    analytics,
    audit,
    body_limit,
    comments,
    exports,
    files,
    guard,
    health,
    idempotency,
    identity,
    identity_users,
    imports,
    kanban,
    metrics,
    milestones,
    milestones_templates,
    notifications,
    openapi,
    problems,
    projects,
    ratelimit,
    resources,
    resources_planning,
    tasks,
    templates,
    time_tracking,
    webhooks,
    workspaces,
)
from interfaces.http.middleware import RequestContext
from interfaces.http.security_headers import SecurityHeaders
from interfaces.logs import configure_logging

API_PREFIX = "/api/v1"


class GZipExceptFiles(GZipMiddleware):
    """gzip for clients that accept it, except for files' bytes: stored as they are (a
    checksum ETag, byte ranges), and compressed already when it pays.

    A client that does not accept gzip gets the answer as the route sent it, with ``Vary:
    Accept-Encoding`` added: Starlette's identity path parses the headers of every answer and
    compares its body with itself (12 µs a 125 KB answer in-process, against 1.5 µs here)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith(f"{API_PREFIX}/files/"):
            await self.app(scope, receive, send)
            return
        for key, value in scope["headers"]:
            if key == b"accept-encoding" and b"gzip" in value:
                await super().__call__(scope, receive, send)
                return

        async def send_varying(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), VARY_ACCEPT_ENCODING]
            await send(message)

        await self.app(scope, receive, send_varying)


VARY_ACCEPT_ENCODING = (b"vary", b"Accept-Encoding")


def create_app(
    settings: Settings | None = None, *, with_projector: bool = True, settle: bool = False
) -> FastAPI:
    """``settle``: a server process's app (``app_factory``); its start-up heap is frozen
    (``settle_heap``) once the container is open."""
    settings = settings or get_settings()
    settings.check_safe()
    init_error_reporting(settings, "api")  # Sentry, when SENTRY_DSN is set

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database_url = resolve_database_url(settings.database_url, settings.data_dir)
        app.state.container = await open_container(
            settings, database_url, with_projector=with_projector
        )
        hub = getattr(app.state, "realtime", None)  # set by create_asgi_app
        try:
            if hub is not None:
                await hub.start(app.state.container)
            if settle:
                settle_heap()
            yield
        finally:
            if hub is not None:
                await hub.stop()
            await close_container(app.state.container)

    app = FastAPI(
        title="WorkSync API",
        version="0.1.0",
        description="Event-sourced project management: workspaces, projects, Kanban, tasks, comments, time tracking, files, resource allocation, notifications, milestones, project templates.",
        lifespan=lifespan,
    )
    problems.install(app)
    guard.install(app)
    idempotency.install(app)
    app.include_router(health.router)
    app.include_router(identity.router, prefix=API_PREFIX)
    app.include_router(identity_users.router, prefix=API_PREFIX)
    app.include_router(workspaces.router, prefix=API_PREFIX)
    for context in (
        projects,
        kanban,
        tasks,
        comments,
        audit,
        activities,
        time_tracking,
        files,
        resources,
        resources_planning,
        notifications,
        milestones,
        milestones_templates,
        templates,
        analytics,
        exports,
        webhooks,
        imports,
    ):
        app.include_router(context.router, prefix=API_PREFIX)
    app.add_middleware(guard.Guard)  # innermost: unexpected errors answered through CORS...
    openapi.install(app)  # every operation's errors, described in one place
    ratelimit.install(app, ratelimit.RateLimits(settings))  # inside CORS: 429s stay readable
    body_limit.install(app, settings)  # 413 while streaming; free-form JSON field limits
    # zlib's default level: a 4 MB critical path compresses in a third of level 9's time
    # (Starlette's default), 3 % larger.
    app.add_middleware(GZipExceptFiles, minimum_size=1024, compresslevel=6)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=[
                "ETag",
                "Location",
                "X-Request-Id",
                "Content-Disposition",  # a download's file name
                "Content-Range",
                "Accept-Ranges",
            ],
        )
    app.add_middleware(guard.Guard)  # ...and errors in the middlewares above, still with ids
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestContext)
    metrics.install(app, settings, settings.database_url)  # outermost: 429s and 413s counted
    return app


def create_asgi_app(
    settings: Settings | None = None,
    *,
    with_projector: bool = True,
    realtime_emitter: bool = True,
    settle: bool = False,
) -> socketio.ASGIApp:
    """The API with Socket.IO mounted beside it at /socket.io (same port)."""
    settings = settings or get_settings()
    app = create_app(settings, with_projector=with_projector, settle=settle)
    return realtime.mount(app, settings, emitter=realtime_emitter)


def app_factory() -> socketio.ASGIApp:
    """Entry point for uvicorn workers (``--factory``)."""
    settings = get_settings()
    configure_logging(settings.log_level)
    import os

    return create_asgi_app(
        settings,
        with_projector=os.environ.get("WORKSYNC_WITH_PROJECTOR", "1") == "1",
        realtime_emitter=os.environ.get("WORKSYNC_REALTIME_EMITTER", "1") == "1",
        settle=True,
    )
