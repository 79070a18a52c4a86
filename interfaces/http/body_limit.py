"""Request size limits (pure ASGI, cheap): a body above the limit gets 413 problem+json while
it streams in, never after it has been read into memory.

A ``Content-Length`` above the limit is refused before a byte of the body is read; a body
without one (chunked) is counted as it arrives and refused at the first chunk past the limit.
So at most the limit plus one chunk is ever held. JSON bodies (``application/json``,
``*/*+json``, or no content type: FastAPI reads those as JSON) may have MAX_JSON_BODY_BYTES;
any other body MAX_BODY_BYTES (the API takes only JSON, so a small bound suffices), except
a multipart upload to an upload path (``UPLOAD_PATHS``): MAX_UPLOAD_BYTES plus
``MULTIPART_OVERHEAD`` for the envelope (the upload route itself refuses a file over
MAX_UPLOAD_BYTES exactly, as it streams).

The middleware also sets, for each request, the app's depth and size limits of the free-form
JSON fields (``schemas.json_limits``).
"""

from __future__ import annotations

import re

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from application.config import Settings
from interfaces.http.problems import problem
from interfaces.http.schemas import JsonLimits, json_limits

UPLOAD_PATHS = frozenset({"/api/v1/files/upload"})
# Imports (interfaces/http/imports.py): a multipart file of up to IMPORTS_MAX_BYTES.
IMPORT_PATH = re.compile(r"^/api/v1/workspaces/[^/]+/imports/(trello|worksync)$")
MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around an upload's file


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` past the limit. FastAPI re-raises an HTTPException met while
    it reads the body, so the app's handler answers it; the middleware answers it otherwise.
    ``Connection: close``: the server does not go on reading the rest of the body to keep the
    connection alive."""

    def __init__(self, limit: int) -> None:
        detail = f"the request body is larger than the limit of {limit} bytes"
        super().__init__(413, detail, headers={"Connection": "close"})


def _is_multipart(content_type: bytes | None) -> bool:
    return (content_type or b"").split(b";", 1)[0].strip().lower() == b"multipart/form-data"


def _is_json(content_type: bytes | None) -> bool:
    if not content_type:
        return True
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (
        media.startswith(b"application/") and media.endswith(b"+json")
    )


class BodyLimit:
    def __init__(
        self,
        app: ASGIApp,
        json_bytes: int,
        other_bytes: int,
        fields: JsonLimits | None = None,
        upload_bytes: int = 0,
        import_bytes: int = 0,
    ) -> None:
        self.app = app
        self.json_bytes = json_bytes
        self.other_bytes = other_bytes
        self.upload_bytes = upload_bytes
        self.import_bytes = import_bytes
        self.fields = fields or JsonLimits()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type")
        limit = self.json_bytes if _is_json(content_type) else self.other_bytes
        if scope["path"] in UPLOAD_PATHS and _is_multipart(content_type):
            limit = self.upload_bytes + MULTIPART_OVERHEAD
        elif _is_multipart(content_type) and IMPORT_PATH.match(scope["path"]):
            limit = self.import_bytes + MULTIPART_OVERHEAD
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)  # the body is never read
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        token = json_limits.set(self.fields)
        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send, limit)
        finally:
            json_limits.reset(token)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        error = BodyTooLarge(limit)
        response = problem(413, error.detail, instance=scope["path"], headers=error.headers)
        await response(scope, receive, send)


def install(app: FastAPI, settings: Settings) -> None:
    """The body size limits and the free-form JSON fields' limits, from the settings."""
    app.add_middleware(
        BodyLimit,
        json_bytes=settings.max_json_body_bytes,
        other_bytes=settings.max_body_bytes,
        fields=JsonLimits(settings.max_json_depth, settings.max_json_field_bytes),
        upload_bytes=settings.max_upload_bytes,
        import_bytes=settings.imports_max_bytes,
    )
