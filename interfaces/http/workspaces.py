"""/workspaces: list, create, read, update, delete. Only members see a workspace."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from anyio import to_thread
from fastapi import Path, Response, status
from fastapi.responses import JSONResponse

from application.errors import NotFound
from interfaces.http.deps import Conn, ContainerDep, CurrentUser, IfMatch, run_command
from interfaces.http.idempotency import CommandRoute
from interfaces.http.pagination import Page, PageQuery, decode_time_id_cursor, paginate
from interfaces.http.routers import ContextRouter
from interfaces.http.schemas import ACCEPTED, Token, accepted, set_etag
from interfaces.http.workspaces_schemas import (
    InviteCreate,
    InviteOut,
    MemberRole,
    WorkspaceCreate,
    WorkspaceMemberAdd,
    WorkspaceMemberOut,
    WorkspaceOut,
    WorkspaceUpdate,
    to_out,
)
from projections import workspaces_queries

router = ContextRouter(prefix="/workspaces", tags=["workspaces"], route_class=CommandRoute)


@router.get("", response_model=Page[WorkspaceOut])
async def list_workspaces(caller: CurrentUser, conn: Conn, page: PageQuery) -> Page[WorkspaceOut]:
    rows = await workspaces_queries.list_for_member(
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
        lambda: container.workspaces.create(
            actor_id=caller.id,
            name=body.name,
            description=body.description,
            settings=body.settings,
        ),
    )
    row = (
        await workspaces_queries.get_for_member(conn, saved.value, caller.id) if caught_up else None
    )
    if row is None:
        return accepted("workspaces", saved.value, saved.position)
    response.headers["Location"] = f"/api/v1/workspaces/{saved.value}"
    set_etag(response, row["version"])
    return to_out(row)


@router.get("/{workspace_id}", response_model=WorkspaceOut)
async def get_workspace(
    workspace_id: UUID, caller: CurrentUser, conn: Conn, response: Response
) -> WorkspaceOut:
    row = await workspaces_queries.get_for_member(conn, workspace_id, caller.id)
    if row is None:
        raise NotFound("workspace not found")
    set_etag(response, row["version"])
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
        container,
        lambda: container.workspaces.update(
            workspace_id=workspace_id, actor_id=caller.id, expected_version=expected, **fields
        ),
    )
    row = (
        await workspaces_queries.get_for_member(conn, workspace_id, caller.id)
        if caught_up
        else None
    )
    if row is None:
        return accepted("workspaces", workspace_id, saved.position)
    set_etag(response, row["version"])
    return to_out(row)


@router.delete("/{workspace_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_workspace(
    workspace_id: UUID, caller: CurrentUser, container: ContainerDep, expected: IfMatch
) -> Response:
    await run_command(
        container,
        lambda: container.workspaces.delete(
            workspace_id=workspace_id, actor_id=caller.id, expected_version=expected
        ),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# Members and invitations ------------------------------------------------------------------


async def _member_or_accepted(
    conn: Conn, workspace_id: UUID, user_id: UUID, caught_up: bool, position: int | None
) -> Any:
    row = await workspaces_queries.member(conn, workspace_id, user_id) if caught_up else None
    return WorkspaceMemberOut(**row) if row else accepted("workspaces", workspace_id, position)


@router.get("/{workspace_id}/members", response_model=Page[WorkspaceMemberOut])
async def list_members(
    workspace_id: UUID, caller: CurrentUser, conn: Conn, page: PageQuery
) -> Page[WorkspaceMemberOut]:
    if await workspaces_queries.get_for_member(conn, workspace_id, caller.id) is None:
        raise NotFound("workspace not found")
    rows = await workspaces_queries.list_members(
        conn, workspace_id, limit=page.limit + 1, after=decode_time_id_cursor(page.cursor)
    )
    data, cursor = paginate(rows, page.limit, lambda r: (r["joined_at"], r["user_id"]))
    return Page[WorkspaceMemberOut](
        data=[WorkspaceMemberOut(**r) for r in data], next_cursor=cursor
    )


@router.post(
    "/{workspace_id}/members",
    status_code=status.HTTP_201_CREATED,
    response_model=WorkspaceMemberOut,
    responses=ACCEPTED,
)
async def add_member(
    workspace_id: UUID,
    body: WorkspaceMemberAdd,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
) -> Any:
    user_id = body.user_id
    if user_id is None:
        email = str(body.email)
        user_id = await to_thread.run_sync(
            lambda: container.identity.user_id_for_email(email=email)
        )
        if user_id is None:
            raise NotFound("no user with this e-mail; send an invitation instead")
    saved, caught_up = await run_command(
        container,
        lambda: container.workspaces.add_member(
            workspace_id=workspace_id, actor_id=caller.id, user_id=user_id, role=body.role
        ),
    )
    return await _member_or_accepted(conn, workspace_id, user_id, caught_up, saved.position)


@router.put(
    "/{workspace_id}/members/{user_id}", response_model=WorkspaceMemberOut, responses=ACCEPTED
)
async def change_member_role(
    workspace_id: UUID,
    user_id: UUID,
    body: MemberRole,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
) -> Any:
    saved, caught_up = await run_command(
        container,
        lambda: container.workspaces.change_role(
            workspace_id=workspace_id, actor_id=caller.id, user_id=user_id, role=body.role
        ),
    )
    return await _member_or_accepted(conn, workspace_id, user_id, caught_up, saved.position)


@router.delete("/{workspace_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(
    workspace_id: UUID, user_id: UUID, caller: CurrentUser, container: ContainerDep
) -> Response:
    """Remove a member (owners and admins), or leave (anyone, for themselves)."""
    await run_command(
        container,
        lambda: container.workspaces.remove_member(
            workspace_id=workspace_id, actor_id=caller.id, user_id=user_id
        ),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{workspace_id}/invite",
    status_code=status.HTTP_201_CREATED,
    response_model=InviteOut,
    responses={202: {"model": InviteOut, "description": "Accepted; the read model is catching up"}},
)
async def invite(
    workspace_id: UUID, body: InviteCreate, caller: CurrentUser, container: ContainerDep
) -> Any:
    """Create a single-use invitation that expires in 7 days; the invitee gets it by e-mail.
    202 (same body) when the read model has not caught up within the wait bound."""
    saved, caught_up = await run_command(
        container,
        lambda: container.workspaces.invite(
            workspace_id=workspace_id, actor_id=caller.id, email=str(body.email), role=body.role
        ),
    )
    info = saved.value
    out = InviteOut(
        invite_id=info["invite_id"],
        workspace_id=workspace_id,
        email=str(body.email).lower(),
        role=body.role,
        expires_at=info["expires_at"],
        token=info["token"],
        accept_url=f"/api/v1/workspaces/{workspace_id}/invite/{info['token']}",
    )
    if not caught_up:
        return JSONResponse(out.model_dump(mode="json"), status_code=202)
    return out


@router.get("/{workspace_id}/invite/{token}", response_model=WorkspaceMemberOut, responses=ACCEPTED)
async def accept_invite(
    workspace_id: UUID,
    token: Annotated[Token, Path()],
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
) -> Any:
    """Accept an invitation as the signed-in user (whose e-mail it was sent to)."""
    saved, caught_up = await run_command(
        container,
        lambda: container.workspaces.accept_invite(
            workspace_id=workspace_id, token=token, user_id=caller.id
        ),
    )
    return await _member_or_accepted(conn, workspace_id, caller.id, caught_up, saved.position)
