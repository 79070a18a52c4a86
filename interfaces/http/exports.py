"""/workspaces/{id}/exports: workspace exports for owners and admins (application/exports.py).

POST starts one (202, ``Location`` = its status), GET lists them newest first, GET
``/{export_id}`` is one's status (with ``download_url`` once ready), GET
``/{export_id}/download`` streams the file."""

from __future__ import annotations

from uuid import UUID

from anyio import to_thread
from fastapi import Response, status
from fastapi.responses import JSONResponse, StreamingResponse

from application.adapters.files_storage import content_disposition
from application.errors import Conflict, NotFound
from application.exports import MEDIA_TYPES, filename
from interfaces.http.deps import Conn, ContainerDep, CurrentUser
from interfaces.http.exports_schemas import (
    ExportCreate,
    WorkspaceExportOut,
    exports_page,
    to_out,
)
from interfaces.http.pagination import Page, PageQuery, decode_time_id_cursor
from interfaces.http.routers import ContextRouter
from projections import exports_queries

router = ContextRouter(prefix="/workspaces", tags=["exports"])


@router.post(
    "/{workspace_id}/exports",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WorkspaceExportOut,
)
async def start_export(
    workspace_id: UUID, body: ExportCreate, caller: CurrentUser, container: ContainerDep
) -> JSONResponse:
    """Start an export of the whole workspace (owners and admins); a notification
    (``export_ready``) tells you when it is ready."""
    row = await to_thread.run_sync(
        lambda: container.exports.request(
            workspace_id=workspace_id, actor_id=caller.id, fmt=body.format
        )
    )
    out = to_out(row)
    return JSONResponse(
        out.model_dump(mode="json"),
        status_code=status.HTTP_202_ACCEPTED,
        headers={"Location": f"/api/v1/workspaces/{workspace_id}/exports/{out.id}"},
    )


@router.get("/{workspace_id}/exports", response_model=Page[WorkspaceExportOut])
async def list_exports(
    workspace_id: UUID, caller: CurrentUser, container: ContainerDep, conn: Conn, page: PageQuery
) -> Page[WorkspaceExportOut]:
    """The workspace's exports, newest first."""
    await to_thread.run_sync(
        lambda: container.exports.authorize(workspace_id=workspace_id, actor_id=caller.id)
    )
    rows = await exports_queries.list_exports(
        conn, workspace_id, limit=page.limit + 1, before=decode_time_id_cursor(page.cursor)
    )
    return exports_page(rows, page.limit)


@router.get("/{workspace_id}/exports/{export_id}", response_model=WorkspaceExportOut)
async def get_export(
    workspace_id: UUID, export_id: UUID, caller: CurrentUser, container: ContainerDep
) -> WorkspaceExportOut:
    """One export's status; ``download_url`` once it is ready."""
    row = await to_thread.run_sync(
        lambda: container.exports.get(
            workspace_id=workspace_id, export_id=export_id, actor_id=caller.id
        )
    )
    return to_out(row)


@router.get(
    "/{workspace_id}/exports/{export_id}/download",
    response_class=Response,
    responses={
        200: {
            "description": "The export's file",
            "content": {"application/json": {}, "application/zip": {}},
        }
    },
)
async def download_export(
    workspace_id: UUID, export_id: UUID, caller: CurrentUser, container: ContainerDep
) -> StreamingResponse:
    """The file of a ready export (409 while it is not ready, 404 once expired)."""
    row = await to_thread.run_sync(
        lambda: container.exports.get(
            workspace_id=workspace_id, export_id=export_id, actor_id=caller.id
        )
    )
    if row["status"] != "ready":
        raise Conflict(f"the export is {row['status']}, not ready")
    storage = container.exports.storage
    if not await to_thread.run_sync(storage.exists, row["storage_key"]):
        raise NotFound("the export's file is gone")
    return StreamingResponse(
        storage.read(row["storage_key"]),
        media_type=MEDIA_TYPES[row["format"]],
        headers={
            "Content-Disposition": content_disposition(filename(row)),
            "Content-Length": str(row["size"]),
            "ETag": f'"{row["checksum"]}"',
        },
    )
