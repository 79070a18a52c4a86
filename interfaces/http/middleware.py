"""Request id, Server-Timing and one structured access-log line per request (pure ASGI,
cheap). A command's answer carries ``Server-Timing: command;dur=…, projection;dur=…``: the
time to run and append it, then the time until the read model showed it (projection lag)."""

from __future__ import annotations

import re
import time
import uuid
from contextvars import ContextVar

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger("http")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_timings: ContextVar[list[tuple[str, float]] | None] = ContextVar("server_timing", default=None)


def record_timing(name: str, ms: float) -> None:
    """Add a ``Server-Timing`` entry (name, milliseconds) to the current response."""
    timings = _timings.get()
    if timings is not None:
        timings.append((name, ms))


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v.decode() for k, v in scope["headers"] if k == b"x-request-id"), "")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        timings: list[tuple[str, float]] = []
        _timings.set(timings)

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
                if timings:
                    value = ", ".join(f"{name};dur={ms:.2f}" for name, ms in timings)
                    headers.append((b"server-timing", value.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                ms=round((time.perf_counter() - started) * 1000, 2),
            )
