"""Files (/files/upload, /files/{id}) and attachments (/attachments, /attachments/{id}).

- ``POST /files/upload?workspace_id=&is_public=``: multipart/form-data with one part named
  ``file``. The caller must write in the workspace (checked before a byte is read). The body
  streams to storage (never whole in memory); over MAX_UPLOAD_BYTES it is 413, a type the
  bytes contradict or the allowlist lacks (or executable content) 415, an empty file or a
  name that could name a path 422: in every case nothing is stored.
- ``GET /files/{id}``: the metadata; ``?download=true`` the bytes (``Content-Disposition:
  attachment`` with an RFC 6266 ``filename*``, ``ETag`` = the SHA-256, ``Range``,
  ``If-None-Match``), or a short-lived presigned redirect (307) to S3 when configured. Members
  of the file's workspace only, or anyone when the file ``is_public``.
- ``DELETE /files/{id}``: the uploader or a workspace owner/admin; its attachments go with it
  and the stored bytes are removed after the deletion is recorded.
- ``POST /attachments``, ``DELETE /attachments/{id}``: whoever may edit the target (card,
  task, comment: its author, project), with a file of the target's workspace.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any
from uuid import UUID

import anyio
from anyio import to_thread
from fastapi import Depends, Header, Query, Request, Response, status
from fastapi.responses import JSONResponse, RedirectResponse, StreamingResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials
from starlette.exceptions import HTTPException as StarletteHTTPException

from application.adapters.files_storage import content_disposition
from application.errors import ApplicationError, NotFound, Unauthorized
from application.files import PlannedUpload
from application.files_content import Receiver
from interfaces.http.deps import (
    Caller,
    Conn,
    ContainerDep,
    CurrentUser,
    bearer,
    current_user,
    run_command,
)
from interfaces.http.files_schemas import (
    UPLOAD_FORM,
    AttachmentCreate,
    AttachmentOut,
    FileOut,
    file_out,
)
from interfaces.http.files_upload import FilePart, receive_file
from interfaces.http.guard import request_state
from interfaces.http.idempotency import CommandRoute
from interfaces.http.routers import ContextRouter
from interfaces.http.schemas import ACCEPTED, HEADER_VALUE, accepted
from projections import files_queries

router = ContextRouter(tags=["files"], route_class=CommandRoute)

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
PROBLEM_BODY = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The metadata (JSON), or with ?download=true the bytes",
        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
    },
    206: {
        "description": "The requested range of the bytes (?download=true with Range)",
        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
    },
    304: {"description": "If-None-Match names the current ETag"},
    307: {
        "description": "The bytes are served by storage: a short-lived presigned URL",
        "headers": {"Location": {"schema": {"type": "string"}}},
    },
    416: {"description": "The Range is beyond the file", "content": PROBLEM_BODY},
}


class RangeNotSatisfiable(ApplicationError):
    status, code, title = 416, "range-not-satisfiable", "Range not satisfiable"


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one range (first, last byte) a ``Range`` header asks for, None for the whole file
    (no header, a header this server ignores: other units, several ranges, bad syntax), or
    RangeNotSatisfiable."""
    match = _RANGE.match((header or "").strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        n = int(last)
        if n == 0:
            raise RangeNotSatisfiable("an empty suffix range", size=size)
        return max(0, size - n), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if last and int(last) < start:
        return None  # invalid: ignored, as RFC 9110 allows
    if start >= size:
        raise RangeNotSatisfiable(f"the file has {size} bytes", size=size)
    return start, end


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


async def optional_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller | None:
    """The signed-in caller, or None without a token (a bad token is still 401)."""
    if credentials is None:
        return None
    return await current_user(request, credentials)


async def upload_file(
    request: Request,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    workspace_id: Annotated[UUID, Query(description="the workspace the file belongs to")],
    is_public: Annotated[
        bool, Query(description="anyone with the link may download it, signed in or not")
    ] = False,
) -> Any:
    """Upload one file (multipart/form-data, a part named `file`) into a workspace."""
    plan: PlannedUpload = await to_thread.run_sync(
        lambda: container.files.plan_upload(workspace_id=workspace_id, actor_id=caller.id)
    )
    await conn.release()  # no pooled connection is held while the body streams in

    def start(part: FilePart) -> Receiver:
        container.files.display_name(part.filename)  # a bad name: 422 before storing
        return container.files.receiver(plan, declared=part.content_type)

    part, received = await receive_file(request, start)
    try:
        saved, caught_up = await run_command(
            container,
            lambda: container.files.record_upload(
                plan=plan,
                actor_id=caller.id,
                name=part.filename,
                received=received,
                is_public=is_public,
            ),
        )
    except BaseException:
        state = request_state()
        if state is None or state.committed is None:  # not recorded: nothing refers to it
            with anyio.CancelScope(shield=True):
                await to_thread.run_sync(container.files.storage.delete, plan.key)
        raise
    row = await files_queries.get_file(conn, plan.file_id, caller.id) if caught_up else None
    if row is None:
        return accepted("files", plan.file_id, saved.position)
    body = file_out(row)
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=status.HTTP_201_CREATED,
        headers={"ETag": f'"{body.checksum}"', "Location": f"/api/v1/files/{body.id}"},
    )


# Not a CommandRoute: its Idempotency-Key would read the whole body into memory.
router.add_api_route(
    "/files/upload",
    upload_file,
    methods=["POST"],
    status_code=status.HTTP_201_CREATED,
    response_model=FileOut,
    responses={**ACCEPTED},
    openapi_extra={"requestBody": UPLOAD_FORM},
    route_class_override=APIRoute,
)


async def not_here() -> None:
    raise StarletteHTTPException(405)


# /files/upload is not a file id: the methods of /files/{file_id} are 405 here, not a 422.
router.add_api_route(
    "/files/upload",
    not_here,
    methods=["GET", "HEAD", "DELETE"],
    include_in_schema=False,
    route_class_override=APIRoute,
)


@router.get("/files/{file_id}", response_model=FileOut, responses=DOWNLOAD_RESPONSES)
async def get_file(
    file_id: UUID,
    container: ContainerDep,
    conn: Conn,
    caller: Annotated[Caller | None, Depends(optional_caller)],
    download: Annotated[bool, Query(description="the bytes instead of the metadata")] = False,
    range_: Annotated[
        str | None,
        Header(
            alias="Range",
            max_length=200,
            pattern=HEADER_VALUE,
            description="one byte range (`bytes=0-1023`, `bytes=1024-`, `bytes=-500`)",
        ),
    ] = None,
    if_none_match: Annotated[
        str | None,
        Header(max_length=1000, pattern=HEADER_VALUE, description="ETags the client has (304)"),
    ] = None,
    if_range: Annotated[
        str | None,
        Header(max_length=200, pattern=HEADER_VALUE, description="Range applies only to this ETag"),
    ] = None,
) -> Any:
    """A file's metadata, or its bytes (members of its workspace, or anyone if public)."""
    row = await files_queries.get_file(conn, file_id, caller.id if caller else None)
    if row is None or (row["role"] is None and not row["is_public"]):
        if caller is None:
            raise Unauthorized("sign in to read this file")
        raise NotFound("file not found")
    await conn.release()
    etag = f'"{row["checksum"]}"'
    if not download:
        return JSONResponse(file_out(row).model_dump(mode="json"), headers={"ETag": etag})
    headers = {
        "ETag": etag,
        "Cache-Control": "private, no-cache",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    if _etag_matches(if_none_match, etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    storage = container.files.storage
    settings = container.settings
    if settings.files_presigned_redirect:
        url = await to_thread.run_sync(
            lambda: storage.url(
                row["file_path"],
                filename=row["name"],
                mime_type=row["mime_type"],
                expires=settings.files_url_ttl,
            )
        )
        if url is not None:
            return RedirectResponse(
                url, status.HTTP_307_TEMPORARY_REDIRECT, headers={"Cache-Control": "no-store"}
            )
    size = row["file_size"]
    wanted = None if if_range and if_range.strip() != etag else byte_range(range_, size)
    headers |= {
        "Content-Disposition": content_disposition(row["name"]),
        "Accept-Ranges": "bytes",
    }
    first, last = wanted if wanted is not None else (0, size - 1)
    headers["Content-Length"] = str(last - first + 1)
    if wanted is not None:
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    chunks = storage.read(row["file_path"], first, last if wanted is not None else None)
    try:  # the object is opened before the answer starts: a missing one is a 404, not a cut
        head = await to_thread.run_sync(next, chunks, b"")
    except FileNotFoundError:
        raise NotFound("file not found") from None
    return StreamingResponse(
        _chained(head, chunks),
        status_code=status.HTTP_206_PARTIAL_CONTENT if wanted else status.HTTP_200_OK,
        media_type=row["mime_type"],
        headers=headers,
    )


def _chained(head: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if head:
        yield head
    yield from rest


@router.delete("/files/{file_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_file(file_id: UUID, caller: CurrentUser, container: ContainerDep) -> Response:
    """Delete a file (the uploader, or a workspace owner or admin); its attachments go with
    it, and its bytes are removed from storage once the deletion is recorded."""
    await run_command(
        container, lambda: container.files.delete(file_id=file_id, actor_id=caller.id)
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/attachments",
    status_code=status.HTTP_201_CREATED,
    response_model=AttachmentOut,
    responses=ACCEPTED,
)
async def create_attachment(
    body: AttachmentCreate, caller: CurrentUser, container: ContainerDep, conn: Conn
) -> Any:
    """Attach a file to a card, task, comment or project you may edit (same workspace)."""
    saved, caught_up = await run_command(
        container,
        lambda: container.files.attach(
            file_id=body.file_id,
            attachable_type=body.attachable_type,
            attachable_id=body.attachable_id,
            actor_id=caller.id,
        ),
    )
    row = await files_queries.get_attachment(conn, saved.value) if caught_up else None
    return AttachmentOut(**row) if row else accepted("files", body.file_id, saved.position)


@router.delete("/attachments/{attachment_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_attachment(
    attachment_id: UUID, caller: CurrentUser, container: ContainerDep
) -> Response:
    """Detach (the file stays): whoever may edit the object it is on."""
    await run_command(
        container,
        lambda: container.files.detach(attachment_id=attachment_id, actor_id=caller.id),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
