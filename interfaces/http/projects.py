"""/projects: list, create, read, update, delete; members, activity feed and analytics.

Only members of a project's workspace see it (others get 404); viewers read, members and up
write, owners and admins delete.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import Response, status

from application.errors import NotFound
from interfaces.http.activities_schemas import ActivityOut, feed_page
from interfaces.http.deps import Conn, ContainerDep, CurrentUser, IfMatch, run_command
from interfaces.http.idempotency import CommandRoute
from interfaces.http.pagination import (
    Page,
    PageQuery,
    decode_int_cursor,
    decode_time_id_cursor,
    paginate,
)
from interfaces.http.projects_schemas import (
    Hours,
    ItemStats,
    ProjectAnalytics,
    ProjectCreate,
    ProjectMemberAdd,
    ProjectMemberOut,
    ProjectOut,
    ProjectUpdate,
    Status,
    WeekDone,
)
from interfaces.http.routers import ContextRouter
from interfaces.http.schemas import ACCEPTED, accepted, set_etag
from projections import activities_queries, projects_queries

router = ContextRouter(prefix="/projects", tags=["projects"], route_class=CommandRoute)


async def visible_project(conn: Conn, project_id: UUID, user_id: UUID) -> dict[str, Any]:
    row = await projects_queries.get_for_member(conn, project_id, user_id)
    if row is None:
        raise NotFound("project not found")
    return row


@router.get("", response_model=Page[ProjectOut])
async def list_projects(
    caller: CurrentUser,
    conn: Conn,
    page: PageQuery,
    workspace_id: UUID | None = None,
    status: Status | None = None,
) -> Page[ProjectOut]:
    """The projects of every workspace the caller belongs to, oldest first."""
    rows = await projects_queries.list_for_member(
        conn,
        caller.id,
        limit=page.limit + 1,
        after=decode_time_id_cursor(page.cursor),
        workspace_id=workspace_id,
        status=status,
    )
    data, next_cursor = paginate(rows, page.limit, lambda r: (r["created_at"], r["id"]))
    return Page[ProjectOut](data=[ProjectOut(**r) for r in data], next_cursor=next_cursor)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ProjectOut, responses=ACCEPTED)
async def create_project(
    body: ProjectCreate,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    response: Response,
) -> Any:
    saved, caught_up = await run_command(
        container,
        lambda: container.projects.create(
            actor_id=caller.id,
            workspace_id=body.workspace_id,
            name=body.name,
            description=body.description,
            status=body.status,
            priority=body.priority,
            start_date=body.start_date,
            end_date=body.end_date,
            budget=body.budget,
            owner_id=body.owner_id,
            settings=body.settings,
        ),
    )
    row = await projects_queries.get_for_member(conn, saved.value, caller.id) if caught_up else None
    if row is None:
        return accepted("projects", saved.value, saved.position)
    response.headers["Location"] = f"/api/v1/projects/{saved.value}"
    set_etag(response, row["version"])
    return ProjectOut(**row)


@router.get("/{project_id}", response_model=ProjectOut)
async def get_project(
    project_id: UUID, caller: CurrentUser, conn: Conn, response: Response
) -> ProjectOut:
    row = await visible_project(conn, project_id, caller.id)
    set_etag(response, row["version"])
    return ProjectOut(**row)


@router.put("/{project_id}", response_model=ProjectOut, responses=ACCEPTED)
async def update_project(
    project_id: UUID,
    body: ProjectUpdate,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    expected: IfMatch,
    response: Response,
) -> Any:
    """Change any fields. A new status is recorded as a status change of its own. An end date
    before the start date is 422 when both are sent, 409 when it clashes with the stored one."""
    fields = body.model_dump(exclude_unset=True)
    saved, caught_up = await run_command(
        container,
        lambda: container.projects.update(
            project_id=project_id, actor_id=caller.id, expected_version=expected, **fields
        ),
    )
    row = await projects_queries.get_for_member(conn, project_id, caller.id) if caught_up else None
    if row is None:
        return accepted("projects", project_id, saved.position)
    set_etag(response, row["version"])
    return ProjectOut(**row)


@router.delete("/{project_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_project(
    project_id: UUID, caller: CurrentUser, container: ContainerDep, expected: IfMatch
) -> Response:
    await run_command(
        container,
        lambda: container.projects.delete(
            project_id=project_id, actor_id=caller.id, expected_version=expected
        ),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# Members ------------------------------------------------------------------------------------


@router.get("/{project_id}/members", response_model=Page[ProjectMemberOut])
async def list_members(
    project_id: UUID, caller: CurrentUser, conn: Conn, page: PageQuery
) -> Page[ProjectMemberOut]:
    await visible_project(conn, project_id, caller.id)
    rows = await projects_queries.list_members(
        conn, project_id, limit=page.limit + 1, after=decode_time_id_cursor(page.cursor)
    )
    data, cursor = paginate(rows, page.limit, lambda r: (r["joined_at"], r["user_id"]))
    return Page[ProjectMemberOut](data=[ProjectMemberOut(**r) for r in data], next_cursor=cursor)


@router.post(
    "/{project_id}/members",
    status_code=status.HTTP_201_CREATED,
    response_model=ProjectMemberOut,
    responses=ACCEPTED,
)
async def add_member(
    project_id: UUID,
    body: ProjectMemberAdd,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
) -> Any:
    """Add a member of the project's workspace (422 if they are not one, 409 if already in)."""
    saved, caught_up = await run_command(
        container,
        lambda: container.projects.add_member(
            project_id=project_id, actor_id=caller.id, user_id=body.user_id, role=body.role
        ),
    )
    row = await projects_queries.member(conn, project_id, body.user_id) if caught_up else None
    return ProjectMemberOut(**row) if row else accepted("projects", project_id, saved.position)


@router.delete("/{project_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(
    project_id: UUID, user_id: UUID, caller: CurrentUser, container: ContainerDep
) -> Response:
    await run_command(
        container,
        lambda: container.projects.remove_member(
            project_id=project_id, actor_id=caller.id, user_id=user_id
        ),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# Activity and analytics ---------------------------------------------------------------------


@router.get("/{project_id}/activity", response_model=Page[ActivityOut])
async def project_activity(
    project_id: UUID, caller: CurrentUser, conn: Conn, page: PageQuery
) -> Page[ActivityOut]:
    """Everything that happened to the project and in it, newest first."""
    project = await visible_project(conn, project_id, caller.id)
    rows = await activities_queries.list_activities(
        conn,
        project["workspace_id"],
        limit=page.limit + 1,
        before=decode_int_cursor(page.cursor),
        project_id=project_id,
    )
    return feed_page(rows, page.limit)


@router.get("/{project_id}/analytics", response_model=ProjectAnalytics)
async def project_analytics(project_id: UUID, caller: CurrentUser, conn: Conn) -> ProjectAnalytics:
    await visible_project(conn, project_id, caller.id)
    stats = await projects_queries.analytics(conn, project_id)
    cards, tasks = stats["cards"], stats["tasks"]
    return ProjectAnalytics(
        project_id=project_id,
        cards=ItemStats(**cards),
        tasks=ItemStats(**tasks),
        done_per_week=[WeekDone(**w) for w in stats["done_per_week"]],
        hours=Hours(
            estimated=cards["estimated_hours"] + tasks["estimated_hours"],
            actual=cards["actual_hours"] + tasks["actual_hours"],
        ),
    )
