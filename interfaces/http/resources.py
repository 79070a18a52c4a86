"""Resource allocation: team members, allocations (one by one and in bulk), conflicts,
utilization, the capacity forecast and the allocation optimizer.

Managers (owner, admin) change team members and allocations, resolve or ignore conflicts and
run the optimizer; every member of the workspace (viewers too) reads; outsiders get 404.
Conflicts are detected and resolved by themselves live (the ``resources_workload`` policy):
they appear shortly after the allocation change that causes them (``resource:conflict:*``
over Socket.IO). Dates are the workspace's days; weeks are ISO weeks in its time zone
(``settings.timezone``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import Query, Response, status

from application import resources_reports
from application.authorization import Action
from application.resources import Change
from interfaces.http.deps import Conn, ContainerDep, CurrentUser, IfMatch, run_command
from interfaces.http.idempotency import CommandRoute
from interfaces.http.pagination import Page, PageQuery, decode_time_id_cursor, paginate
from interfaces.http.resources_schemas import (
    AllocationCreate,
    AllocationOut,
    AllocationUpdate,
    BulkOut,
    BulkUpdate,
    Day,
    TeamMemberCreate,
    TeamMemberOut,
    TeamMemberUpdate,
    team_member_out,
)
from interfaces.http.routers import ContextRouter
from interfaces.http.schemas import ACCEPTED, Line, accepted, set_etag
from projections import resources_queries

router = ContextRouter(tags=["resources"], route_class=CommandRoute)
WS = "/workspaces/{workspace_id}"


def now_utc() -> datetime:
    return datetime.now(UTC)


def answer_row(
    row: dict[str, Any] | None,
    collection: str,
    ident: UUID,
    position: int | None,
    response: Response,
) -> Any:
    if row is None:
        return accepted(collection, ident, position)
    set_etag(response, row["version"])
    return row


# Team members ---------------------------------------------------------------------------------


@router.get(f"{WS}/team-members", response_model=Page[TeamMemberOut])
async def list_team_members(
    workspace_id: UUID,
    caller: CurrentUser,
    conn: Conn,
    page: PageQuery,
    active: bool | None = None,
    skill: Annotated[Line | None, Query(max_length=100, description="members with it")] = None,
) -> Page[TeamMemberOut]:
    await resources_reports.scope(conn, workspace_id, caller.id, Action.RESOURCES_READ)
    rows = await resources_queries.list_team_members(
        conn,
        workspace_id,
        active=active,
        skill=skill,
        limit=page.limit + 1,
        after=decode_time_id_cursor(page.cursor),
    )
    data, cursor = paginate(rows, page.limit, lambda r: (r["created_at"], r["id"]))
    return Page[TeamMemberOut](data=[team_member_out(r) for r in data], next_cursor=cursor)


@router.post(
    f"{WS}/team-members",
    status_code=status.HTTP_201_CREATED,
    response_model=TeamMemberOut,
    responses=ACCEPTED,
)
async def add_team_member(
    workspace_id: UUID,
    body: TeamMemberCreate,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    response: Response,
) -> Any:
    """A workspace member becomes a team member (managers). 409 if they already are one;
    422 if the user is not a member of the workspace."""
    saved, caught_up = await run_command(
        container,
        lambda: container.resources.add_team_member(
            workspace_id=workspace_id, actor_id=caller.id, user_id=body.user_id, **body.fields()
        ),
    )
    row = await resources_queries.team_member(conn, saved.value, caller.id) if caught_up else None
    response.headers["Location"] = f"/api/v1/team-members/{saved.value}"
    out = answer_row(row, "team-members", saved.value, saved.position, response)
    return team_member_out(out) if isinstance(out, dict) else out


@router.put("/team-members/{team_member_id}", response_model=TeamMemberOut, responses=ACCEPTED)
async def update_team_member(
    team_member_id: UUID,
    body: TeamMemberUpdate,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    expected: IfMatch,
    response: Response,
) -> Any:
    """Change role, skills, capacity, rate, availability or the active flag (managers).
    Conflicts follow: raising capacity resolves the ones it removes."""
    saved, caught_up = await run_command(
        container,
        lambda: container.resources.update_team_member(
            member_id=team_member_id, actor_id=caller.id, expected=expected, **body.fields()
        ),
    )
    row = (
        await resources_queries.team_member(conn, team_member_id, caller.id) if caught_up else None
    )
    out = answer_row(row, "team-members", team_member_id, saved.position, response)
    return team_member_out(out) if isinstance(out, dict) else out


# Allocations ----------------------------------------------------------------------------------


@router.get(f"{WS}/allocations", response_model=Page[AllocationOut])
async def list_allocations(
    workspace_id: UUID,
    caller: CurrentUser,
    conn: Conn,
    page: PageQuery,
    user_id: UUID | None = None,
    project_id: UUID | None = None,
    date_from: Annotated[Day | None, Query(alias="from", description="overlapping from")] = None,
    date_to: Annotated[Day | None, Query(alias="to", description="overlapping to (incl.)")] = None,
) -> Page[AllocationOut]:
    await resources_reports.scope(conn, workspace_id, caller.id, Action.RESOURCES_READ)
    rows = await resources_queries.list_allocations(
        conn,
        workspace_id,
        user_id=user_id,
        project_id=project_id,
        date_from=date_from,
        date_to=date_to,
        limit=page.limit + 1,
        after=decode_time_id_cursor(page.cursor),
    )
    data, cursor = paginate(rows, page.limit, lambda r: (r["created_at"], r["id"]))
    return Page[AllocationOut](data=[AllocationOut(**r) for r in data], next_cursor=cursor)


@router.post(
    f"{WS}/allocations",
    status_code=status.HTTP_201_CREATED,
    response_model=AllocationOut,
    responses=ACCEPTED,
)
async def create_allocation(
    workspace_id: UUID,
    body: AllocationCreate,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    response: Response,
) -> Any:
    """Book a team member's hours on a project (managers). 422: the user is not an active
    team member, the project is not the workspace's, hours not in (0, 168], end before
    start or more than 731 days after it."""
    saved, caught_up = await run_command(
        container,
        lambda: container.resources.create_allocation(
            workspace_id=workspace_id,
            actor_id=caller.id,
            project_id=body.project_id,
            user_id=body.user_id,
            hours_per_week=body.hours_per_week,
            start_date=body.start_date,
            end_date=body.end_date,
            role=body.role,
            required_skills=body.required_skills,
        ),
    )
    row = await resources_queries.allocation(conn, saved.value, caller.id) if caught_up else None
    response.headers["Location"] = f"/api/v1/allocations/{saved.value}"
    return answer_row(row, "allocations", saved.value, saved.position, response)


@router.put("/allocations/bulk-update", response_model=BulkOut)
async def bulk_update(
    body: BulkUpdate, caller: CurrentUser, container: ContainerDep, conn: Conn
) -> BulkOut:
    """Many creations, changes and deletions in one command, all or nothing (managers): one
    invalid item is a 422 naming it (``changes[3].end_date``), a stale ``version`` a 409,
    and nothing changes."""
    changes = [
        Change(id=c.id, delete=c.delete, version=c.version, fields=c.fields()) for c in body.changes
    ]
    saved, _ = await run_command(
        container,
        lambda: container.resources.bulk_update(
            workspace_id=body.workspace_id, actor_id=caller.id, changes=changes
        ),
    )
    deleted = {c.id for c in body.changes if c.delete and c.id is not None}
    kept = [i for i in dict.fromkeys(saved.value) if i not in deleted]
    rows = {r["id"]: r for r in await resources_queries.allocations_by_ids(conn, kept)}
    return BulkOut(
        data=[AllocationOut(**rows[i]) for i in kept if i in rows],
        deleted=sorted(deleted, key=str),
        position=saved.position,
    )


@router.get("/allocations/{allocation_id:uuid}", response_model=AllocationOut)
async def get_allocation(
    allocation_id: UUID, caller: CurrentUser, conn: Conn, response: Response
) -> Any:
    row = resources_reports.readable(
        await resources_queries.allocation(conn, allocation_id, caller.id), "allocation"
    )
    set_etag(response, row["version"])
    return row


@router.put("/allocations/{allocation_id:uuid}", response_model=AllocationOut, responses=ACCEPTED)
async def update_allocation(
    allocation_id: UUID,
    body: AllocationUpdate,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    expected: IfMatch,
    response: Response,
) -> Any:
    """Change hours, dates, role or required skills (managers; ``If-Match`` for a version
    check). The user and the project stay: to move hours to someone else, use bulk-update
    or optimize-allocations."""
    fields = body.model_dump(exclude_unset=True)
    saved, caught_up = await run_command(
        container,
        lambda: container.resources.update_allocation(
            allocation_id=allocation_id, actor_id=caller.id, expected=expected, **fields
        ),
    )
    row = await resources_queries.allocation(conn, allocation_id, caller.id) if caught_up else None
    return answer_row(row, "allocations", allocation_id, saved.position, response)


@router.delete("/allocations/{allocation_id:uuid}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_allocation(
    allocation_id: UUID, caller: CurrentUser, container: ContainerDep, expected: IfMatch
) -> Response:
    await run_command(
        container,
        lambda: container.resources.delete_allocation(
            allocation_id=allocation_id, actor_id=caller.id, expected=expected
        ),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
