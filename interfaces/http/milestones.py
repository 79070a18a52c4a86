"""Milestones endpoints: a project's milestones and their deliverables, the project's critical
path and milestone report (templates and applying one: interfaces/http/milestones_templates.py).

A dependency on another project's milestone, or one that closes a cycle, is 409 naming it;
completing a milestone whose dependencies are not completed is 409 unless ``force`` (then
recorded); an assignee outside the workspace, or a task's milestone outside its project, 422.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

import orjson
from anyio import to_thread
from fastapi import Query, Response, status
from fastapi.responses import JSONResponse

from application import milestones_reports
from application.errors import NotFound
from interfaces.http.deps import Conn, ContainerDep, CurrentUser, IfMatch, run_command
from interfaces.http.idempotency import CommandRoute
from interfaces.http.milestones_schemas import (
    CriticalPathOut,
    DeliverableCreate,
    DeliverableOut,
    DeliverableUpdate,
    MilestoneCreate,
    MilestoneDetail,
    MilestoneOut,
    MilestoneReportOut,
    MilestoneUpdate,
    Priority,
    Status,
)
from interfaces.http.pagination import Page, PageQuery, decode_time_id_cursor, paginate
from interfaces.http.routers import ContextRouter
from interfaces.http.schemas import ACCEPTED, accepted, set_etag
from projections import milestones_queries

router = ContextRouter(tags=["milestones"], route_class=CommandRoute)
# Only a UUID is a milestone's id here: /milestones/from-template is another route (a PUT to it
# is 405, not a milestone id that fails to parse).
MILESTONE_ID = "{milestone_id:uuid}"


async def milestone_detail(conn: Conn, milestone_id: UUID, user_id: UUID) -> MilestoneDetail | None:
    row = await milestones_queries.milestone_for_member(conn, milestone_id, user_id)
    if row is None:
        return None
    deliverables = await milestones_queries.deliverables_of(conn, milestone_id, limit=1000)
    return MilestoneDetail(**row, deliverables=[DeliverableOut(**d) for d in deliverables])


async def _milestone_answer(
    conn: Conn,
    milestone_id: UUID,
    user_id: UUID,
    caught_up: bool,
    position: int | None,
    response: Response,
) -> Any:
    detail = await milestone_detail(conn, milestone_id, user_id) if caught_up else None
    if detail is None:
        return accepted("milestones", milestone_id, position)
    set_etag(response, detail.version)
    return detail


# Milestones ---------------------------------------------------------------------------------


@router.get("/projects/{project_id}/milestones", response_model=Page[MilestoneOut])
async def list_milestones(
    project_id: UUID,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    page: PageQuery,
    milestone_status: Annotated[Status | None, Query(alias="status")] = None,
    priority: Annotated[Priority | None, Query()] = None,
    assignee_id: Annotated[UUID | None, Query()] = None,
    due_before: Annotated[date | None, Query(description="due on or before")] = None,
    due_after: Annotated[date | None, Query(description="due on or after")] = None,
) -> Page[MilestoneOut]:
    """A project's milestones by due date; filters combine with AND."""
    await to_thread.run_sync(
        lambda: container.milestones.readable_project(project_id=project_id, actor_id=caller.id)
    )
    after = decode_time_id_cursor(page.cursor)
    rows = await milestones_queries.list_milestones(
        conn,
        project_id,
        filters={
            "status": milestone_status,
            "priority": priority,
            "assignee_id": assignee_id,
            "due_before": due_before,
            "due_after": due_after,
        },
        limit=page.limit + 1,
        after=(after[0].date(), after[1]) if after else None,
    )
    data, next_cursor = paginate(rows, page.limit, lambda r: (r["due_date"], r["id"]))
    return Page[MilestoneOut](data=[MilestoneOut(**r) for r in data], next_cursor=next_cursor)


@router.post(
    "/projects/{project_id}/milestones",
    status_code=status.HTTP_201_CREATED,
    response_model=MilestoneDetail,
    responses=ACCEPTED,
)
async def create_milestone(
    project_id: UUID,
    body: MilestoneCreate,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    response: Response,
) -> Any:
    saved, caught_up = await run_command(
        container,
        lambda: container.milestones.create(
            project_id=project_id, actor_id=caller.id, **body.model_dump()
        ),
    )
    response.headers["Location"] = f"/api/v1/milestones/{saved.value}"
    return await _milestone_answer(
        conn, saved.value, caller.id, caught_up, saved.position, response
    )


@router.get(f"/milestones/{MILESTONE_ID}", response_model=MilestoneDetail)
async def get_milestone(
    milestone_id: UUID, caller: CurrentUser, conn: Conn, response: Response
) -> MilestoneDetail:
    """The milestone with its assignees, dependencies, deliverables and progress."""
    detail = await milestone_detail(conn, milestone_id, caller.id)
    if detail is None:
        raise NotFound("milestone not found")
    set_etag(response, detail.version)
    return detail


@router.put(f"/milestones/{MILESTONE_ID}", response_model=MilestoneDetail, responses=ACCEPTED)
async def update_milestone(
    milestone_id: UUID,
    body: MilestoneUpdate,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    expected: IfMatch,
    response: Response,
) -> Any:
    fields = body.model_dump(exclude_unset=True)
    force = bool(fields.pop("force", False))
    saved, caught_up = await run_command(
        container,
        lambda: container.milestones.update(
            milestone_id=milestone_id,
            actor_id=caller.id,
            expected_version=expected,
            force=force,
            **fields,
        ),
    )
    return await _milestone_answer(
        conn, milestone_id, caller.id, caught_up, saved.position, response
    )


@router.delete(f"/milestones/{MILESTONE_ID}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_milestone(
    milestone_id: UUID, caller: CurrentUser, container: ContainerDep, expected: IfMatch
) -> Response:
    """Delete a milestone: its tasks are unlinked, other milestones' dependencies on it
    removed."""
    await run_command(
        container,
        lambda: container.milestones.delete(
            milestone_id=milestone_id, actor_id=caller.id, expected_version=expected
        ),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# Deliverables -------------------------------------------------------------------------------


@router.get("/milestones/{milestone_id}/deliverables", response_model=Page[DeliverableOut])
async def list_deliverables(
    milestone_id: UUID, caller: CurrentUser, conn: Conn, page: PageQuery
) -> Page[DeliverableOut]:
    if await milestones_queries.milestone_for_member(conn, milestone_id, caller.id) is None:
        raise NotFound("milestone not found")
    rows = await milestones_queries.deliverables_of(
        conn, milestone_id, limit=page.limit + 1, after=decode_time_id_cursor(page.cursor)
    )
    data, next_cursor = paginate(rows, page.limit, lambda r: (r["created_at"], r["id"]))
    return Page[DeliverableOut](data=[DeliverableOut(**r) for r in data], next_cursor=next_cursor)


async def _deliverable_answer(
    conn: Conn,
    deliverable_id: UUID,
    user_id: UUID,
    caught_up: bool,
    position: int | None,
    response: Response,
) -> Any:
    row = (
        await milestones_queries.deliverable_for_member(conn, deliverable_id, user_id)
        if caught_up
        else None
    )
    if row is None:
        return accepted("deliverables", deliverable_id, position)
    set_etag(response, row["version"])
    return DeliverableOut(**row)


@router.post(
    "/milestones/{milestone_id}/deliverables",
    status_code=status.HTTP_201_CREATED,
    response_model=DeliverableOut,
    responses=ACCEPTED,
)
async def create_deliverable(
    milestone_id: UUID,
    body: DeliverableCreate,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    response: Response,
) -> Any:
    saved, caught_up = await run_command(
        container,
        lambda: container.milestones.add_deliverable(
            milestone_id=milestone_id, actor_id=caller.id, **body.model_dump()
        ),
    )
    return await _deliverable_answer(
        conn, saved.value, caller.id, caught_up, saved.position, response
    )


async def _milestone_of(conn: Conn, deliverable_id: UUID, user_id: UUID) -> UUID:
    row = await milestones_queries.deliverable_for_member(conn, deliverable_id, user_id)
    if row is None:
        raise NotFound("deliverable not found")
    return row["milestone_id"]


@router.put("/deliverables/{deliverable_id}", response_model=DeliverableOut, responses=ACCEPTED)
async def update_deliverable(
    deliverable_id: UUID,
    body: DeliverableUpdate,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    expected: IfMatch,
    response: Response,
) -> Any:
    milestone_id = await _milestone_of(conn, deliverable_id, caller.id)
    fields = body.model_dump(exclude_unset=True)
    saved, caught_up = await run_command(
        container,
        lambda: container.milestones.update_deliverable(
            milestone_id=milestone_id,
            deliverable_id=deliverable_id,
            actor_id=caller.id,
            expected_version=expected,
            **fields,
        ),
    )
    return await _deliverable_answer(
        conn, deliverable_id, caller.id, caught_up, saved.position, response
    )


@router.delete("/deliverables/{deliverable_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_deliverable(
    deliverable_id: UUID,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    expected: IfMatch,
) -> Response:
    milestone_id = await _milestone_of(conn, deliverable_id, caller.id)
    await run_command(
        container,
        lambda: container.milestones.delete_deliverable(
            milestone_id=milestone_id,
            deliverable_id=deliverable_id,
            actor_id=caller.id,
            expected_version=expected,
        ),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# Planning -----------------------------------------------------------------------------------


@router.get("/projects/{project_id}/critical-path", response_model=CriticalPathOut)
async def critical_path(
    project_id: UUID, caller: CurrentUser, container: ContainerDep, conn: Conn
) -> Any:
    """The critical path method over the project's tasks and milestones: per item the
    earliest and latest start and finish, total slack and whether it is critical; the
    critical chain; the projected finish date and the slip against the project's end date.
    A dependency cycle is 409 naming it."""
    await to_thread.run_sync(
        lambda: container.milestones.readable_project(project_id=project_id, actor_id=caller.id)
    )
    body = await milestones_reports.critical_path_of(
        conn, project_id, container.settings.working_hours_per_day
    )
    return Response(orjson.dumps(body), media_type="application/json")


@router.get("/projects/{project_id}/milestone-report", response_model=MilestoneReportOut)
async def milestone_report(
    project_id: UUID, caller: CurrentUser, container: ContainerDep, conn: Conn
) -> Any:
    """Each milestone on track, at risk, overdue, completed or cancelled, with the reasons;
    deliverables done and pending; linked tasks' estimated and tracked hours."""
    await to_thread.run_sync(
        lambda: container.milestones.readable_project(project_id=project_id, actor_id=caller.id)
    )
    body = await milestones_reports.milestone_report(
        conn, project_id, container.settings.working_hours_per_day
    )
    return JSONResponse(body)
