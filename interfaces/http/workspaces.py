"""/workspaces: list, create, read, update, delete. Only members see a workspace."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from application.errors import NotFound
from interfaces.http.deps import Conn, ContainerDep, CurrentUser, IfMatch, run_command
from interfaces.http.pagination import Page, PageParams, decode_time_id_cursor, paginate
from projections import workspaces as queries

router = APIRouter(prefix="/workspaces", tags=["workspaces"])

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Description = Annotated[str, StringConstraints(max_length=10_000)]


class WorkspaceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    description: Description | None = None
    settings: dict[str, Any] = Field(default_factory=dict)


class WorkspaceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    description: Description | None = None
    settings: dict[str, Any] | None = None


class WorkspaceOut(BaseModel):
    id: UUID
    name: str
    description: str | None
    owner_id: UUID
    settings: dict[str, Any]
    is_active: bool
    created_at: datetime
    updated_at: datetime
    version: int
    role: str = Field(description="the caller's role in this workspace")


class Accepted(BaseModel):
    id: UUID
    position: int | None
    status: str = "accepted"


ACCEPTED = {202: {"model": Accepted, "description": "Accepted; the read model is catching up"}}


def to_out(row: dict[str, Any]) -> WorkspaceOut:
    return WorkspaceOut(**row, role=row["my_role"])


def accepted(workspace_id: UUID, position: int | None) -> JSONResponse:
    body = Accepted(id=workspace_id, position=position).model_dump(mode="json")
    return JSONResponse(
        body, status_code=202, headers={"Location": f"/api/v1/workspaces/{workspace_id}"}
    )


@router.get("", response_model=Page[WorkspaceOut])
async def list_workspaces(
    caller: CurrentUser, conn: Conn, page: Annotated[PageParams, Depends()]
) -> Page[WorkspaceOut]:
    rows = await queries.list_for_member(
        conn, caller.id, limit=page.limit + 1, after=decode_time_id_cursor(page.cursor)
    )
    data, next_cursor = paginate(rows, page.limit, lambda r: (r["created_at"], r["id"]))
    return Page[WorkspaceOut](data=[to_out(r) for r in data], next_cursor=next_cursor)


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=WorkspaceOut, responses=ACCEPTED
)
async def create_workspace(
    body: WorkspaceCreate,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    response: Response,
) -> Any:
    saved, caught_up = await run_command(
        container,
        container.workspaces.create,
        caller.id,
        body.name,
        body.description,
        body.settings,
    )
    row = await queries.get_for_member(conn, saved.value, caller.id) if caught_up else None
    if row is None:
        return accepted(saved.value, saved.position)
    response.headers["Location"] = f"/api/v1/workspaces/{saved.value}"
    response.headers["ETag"] = f'"{row["version"]}"'
    return to_out(row)


@router.get("/{workspace_id}", response_model=WorkspaceOut)
async def get_workspace(
    workspace_id: UUID, caller: CurrentUser, conn: Conn, response: Response
) -> WorkspaceOut:
    row = await queries.get_for_member(conn, workspace_id, caller.id)
    if row is None:
        raise NotFound("workspace not found")
    response.headers["ETag"] = f'"{row["version"]}"'
    return to_out(row)


@router.put("/{workspace_id}", response_model=WorkspaceOut, responses=ACCEPTED)
async def update_workspace(
    workspace_id: UUID,
    body: WorkspaceUpdate,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    expected: IfMatch,
    response: Response,
) -> Any:
    fields = body.model_dump(exclude_unset=True)
    fields = {k: v for k, v in fields.items() if not (k in ("name", "settings") and v is None)}
    saved, caught_up = await run_command(
        container, container.workspaces.update, workspace_id, caller.id, expected, **fields
    )
    row = await queries.get_for_member(conn, workspace_id, caller.id) if caught_up else None
    if row is None:
        return accepted(workspace_id, saved.position)
    response.headers["ETag"] = f'"{row["version"]}"'
    return to_out(row)


@router.delete("/{workspace_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_workspace(
    workspace_id: UUID, caller: CurrentUser, container: ContainerDep, expected: IfMatch
) -> Response:
    await run_command(container, container.workspaces.delete, workspace_id, caller.id, expected)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
