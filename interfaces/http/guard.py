"""What a request has done, and how it answers when something unexpected fails.

``Guard`` (pure ASGI, inside the request-id and security-header middlewares) turns an
exception nobody handled into an answer sent through those middlewares, and does not re-raise
it: the answer has the request id and security headers, and the keep-alive connection serves
the next request (Starlette's ServerErrorMiddleware answers outside every middleware and
re-raises, so the server drops the connection).

The answer depends on what the request did. ``run_command`` records a command that has
committed; once one has, the request answers 2xx whatever fails after it (reading the result
back, rendering it): 202 Accepted with the resource's ``Location``, as when the read model has
not caught up in time. Otherwise an unexpected error is a 500 problem.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import sentry_sdk
import structlog
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from application.adapters.store import Saved
from interfaces.http.problems import problem

log = structlog.get_logger("http")
API_PREFIX = "/api/v1"
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_SCOPE_KEY = "worksync.request"
# The response model of each ``GET /<collection>/{id}`` -> "/<collection>", filled by
# ``CommandRoute`` as routes are declared: where a created resource can be read.
READ_PATHS: dict[Any, str] = {}

Hook = Callable[[int, list[tuple[bytes, bytes]], bytes], Awaitable[None]]


@dataclass
class RequestState:
    committed: Saved | None = None  # the last command this request committed
    read: Any = None  # the request's ReadConnection (interfaces.http.db), once asked for:
    # given back when the request ends (``Guard``)
    on_response: list[Hook] = field(default_factory=list)  # see ``Guard``


_state: ContextVar[RequestState | None] = ContextVar("worksync_request", default=None)


def request_state() -> RequestState | None:
    return _state.get()


def _created_id(value: Any) -> UUID | None:
    if isinstance(value, UUID):
        return value
    ident = getattr(value, "id", None)
    return ident if isinstance(ident, UUID) else None


def committed_answer(scope: Scope) -> JSONResponse | None:
    """202 + Location for a request whose command has committed (None if none has)."""
    state = request_state()
    if state is None or state.committed is None:
        return None
    saved, path = state.committed, scope["path"]
    segments = path.rstrip("/").split("/")
    created = _created_id(saved.value)
    if created is not None and str(created) not in segments:  # a create: the new resource
        route = scope.get("route")
        collection = READ_PATHS.get(getattr(route, "response_model", None))
        location = f"{API_PREFIX}{collection or '/' + segments[-1]}/{created}"
        ident: UUID | None = created
    else:  # the resource the request addressed: the path up to its last id
        ids = [i for i, s in enumerate(segments) if _UUID.match(s)]
        location = "/".join(segments[: ids[-1] + 1]) if ids else path
        ident = UUID(segments[ids[-1]]) if ids else None
    body = {"id": str(ident) if ident else None, "position": saved.position, "status": "accepted"}
    return JSONResponse(body, status_code=202, headers={"Location": location})


def error_answer(scope: Scope, exc: Exception) -> JSONResponse:
    sentry_sdk.capture_exception(exc)  # a no-op unless SENTRY_DSN is set
    answer = committed_answer(scope)
    if answer is not None:
        log.warning(
            "the command committed but answering it failed: 202",
            path=scope["path"],
            error=f"{type(exc).__name__}: {exc}",
        )
        return answer
    log.error("unhandled error", path=scope["path"], exc_info=exc)
    return problem(500, "an unexpected error occurred", code="internal", instance=scope["path"])


class Guard:
    """Per request: the ``RequestState``, the answer to unexpected errors, and the response
    hooks (``on_response``: run with the complete response before it is sent, e.g. to store
    it for an Idempotency-Key). Installed twice: innermost (errors in routes, the answer
    still through CORS, gzip...) and just inside the security headers (errors in the other
    middlewares)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault(_SCOPE_KEY, RequestState())
        token = _state.set(state)
        started = False
        held: Message | None = None
        chunks: list[bytes] = []

        async def guarded_send(message: Message) -> None:
            nonlocal started, held
            if message["type"] == "http.response.start":
                started = True
                if state.on_response:
                    held = message
                    return
            elif message["type"] == "http.response.body" and held is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                body = b"".join(chunks)
                await self._run_hooks(state, held, body)
                await send(held)
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        try:
            await self.app(scope, receive, guarded_send)
        except Exception as exc:
            if started:  # part of the answer is out: nothing sensible can follow it
                raise
            await error_answer(scope, exc)(scope, receive, guarded_send)
        finally:
            _state.reset(token)
            if state.read is not None:
                await state.read.release()

    @staticmethod
    async def _run_hooks(state: RequestState, start: Message, body: bytes) -> None:
        hooks, state.on_response = state.on_response, []
        for hook in hooks:
            try:
                await hook(start["status"], list(start.get("headers", [])), body)
            except Exception:
                log.exception("a response hook failed")


def install(app: Any) -> None:
    """A 404 raised after a command committed means its result could not be read back
    (the row is missing): 202, like any other failure after the commit."""
    from fastapi import Request

    from application.errors import NotFound

    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        answer = committed_answer(request.scope)
        if answer is not None:
            log.warning(
                "the command committed but its result is missing: 202", path=request.url.path
            )
            return answer
        return problem(
            exc.status,
            exc.detail,
            code=exc.code,
            title=exc.title,
            instance=request.url.path,
            **exc.extra,
        )

    app.add_exception_handler(NotFound, not_found)
