"""/workspaces/{id}/imports: imports for owners and admins (application/imports.py).

``POST /imports/trello`` takes a Trello board export (multipart/form-data, a part named
``file``; ``include_archived_lists`` to keep closed lists): the file is checked here (over
IMPORTS_MAX_BYTES 413 while it streams in; not a Trello export, not JSON, NUL bytes, absurd
sizes: 422; nothing recorded), then a job makes the project (202, ``Location`` = its
status). ``POST /imports/worksync`` takes a WorkSync workspace export the same way.
``GET /imports/{import_id}`` is the status: state, counts and the report."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from anyio import to_thread
from fastapi import Form, UploadFile, status
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from application.imports_trello import CONTROL, ImportTooLarge
from interfaces.http.deps import ContainerDep, CurrentUser
from interfaces.http.imports_schemas import (
    TrelloImportForm,
    WorkspaceImportOut,
    WorkSyncImportForm,
    to_out,
)
from interfaces.http.routers import ContextRouter

router = ContextRouter(prefix="/workspaces", tags=["imports"])


@router.post(
    "/{workspace_id}/imports/trello",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WorkspaceImportOut,
)
async def import_trello(
    workspace_id: UUID,
    caller: CurrentUser,
    container: ContainerDep,
    form: Annotated[TrelloImportForm, Form()],
) -> JSONResponse:
    """Import a Trello board as a project with its board (owners and admins); the import's
    status, which its job completes."""
    service = container.imports
    data = await _read(form.file, service.max_bytes)
    name = CONTROL.sub("", form.file.filename or "")[:255] or None
    row = await to_thread.run_sync(
        lambda: service.request_trello(
            workspace_id=workspace_id,
            actor_id=caller.id,
            data=data,
            filename=name,
            include_archived_lists=form.include_archived_lists,
        )
    )
    return _accepted(workspace_id, row)


@router.post(
    "/{workspace_id}/imports/worksync",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WorkspaceImportOut,
)
async def import_worksync(
    workspace_id: UUID,
    caller: CurrentUser,
    container: ContainerDep,
    form: Annotated[WorkSyncImportForm, Form()],
) -> JSONResponse:
    """Recreate the projects, boards, cards, tasks and comments of a WorkSync workspace
    export here (owners and admins); the import's status, which its job completes."""
    service = container.imports
    data = await _read(form.file, service.max_bytes)
    name = CONTROL.sub("", form.file.filename or "")[:255] or None
    row = await to_thread.run_sync(
        lambda: service.request_worksync(
            workspace_id=workspace_id, actor_id=caller.id, data=data, filename=name
        )
    )
    return _accepted(workspace_id, row)


async def _read(file: UploadFile, limit: int) -> bytes:
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise ImportTooLarge(f"the file is larger than the limit of {limit} bytes")
    return data


def _accepted(workspace_id: UUID, row: dict) -> JSONResponse:
    out = to_out(row)
    return JSONResponse(
        out.model_dump(mode="json"),
        status_code=status.HTTP_202_ACCEPTED,
        headers={"Location": f"/api/v1/workspaces/{workspace_id}/imports/{out.id}"},
    )


async def not_here() -> None:
    raise StarletteHTTPException(405)


# /imports/trello and /imports/worksync are no import ids: other methods there are 405.
for source in ("trello", "worksync"):
    router.add_api_route(
        f"/{{workspace_id}}/imports/{source}",
        not_here,
        methods=["GET", "HEAD", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )


@router.get("/{workspace_id}/imports/{import_id}", response_model=WorkspaceImportOut)
async def get_import(
    workspace_id: UUID, import_id: UUID, caller: CurrentUser, container: ContainerDep
) -> WorkspaceImportOut:
    """One import's status: ``pending``, ``running``, ``done`` (with what was made and the
    report) or ``failed`` (with the error; nothing was made)."""
    row = await to_thread.run_sync(
        lambda: container.imports.get(
            workspace_id=workspace_id, import_id=import_id, actor_id=caller.id
        )
    )
    return to_out(row)
