"""/projects/{id}/tasks and /tasks/{id}: tasks with subtasks and dependencies.

Links are checked by the project's task graph: a parent or dependency that would close a cycle
is a 409 naming the cycle; a linked task outside the project, or an assignee who is not a
member of the workspace, is a 422 naming the field. Deleting a task deletes its subtasks.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from anyio import to_thread
from fastapi import Query, Response, status

from application.errors import NotFound
from interfaces.http.deps import Conn, ContainerDep, CurrentUser, IfMatch, run_command
from interfaces.http.idempotency import CommandRoute
from interfaces.http.pagination import Page, PageQuery, decode_time_id_cursor, paginate
from interfaces.http.routers import ContextRouter
from interfaces.http.schemas import ACCEPTED, accepted, set_etag
from interfaces.http.tasks_schemas import (
    Priority,
    Status,
    TaskCreate,
    TaskOut,
    TaskUpdate,
    to_out,
)
from projections import tasks_queries

router = ContextRouter(tags=["tasks"], route_class=CommandRoute)


@router.get("/projects/{project_id}/tasks", response_model=Page[TaskOut])
async def list_tasks(
    project_id: UUID,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    page: PageQuery,
    task_status: Annotated[Status | None, Query(alias="status")] = None,
    priority: Annotated[Priority | None, Query()] = None,
    assignee_id: Annotated[UUID | None, Query()] = None,
    milestone_id: Annotated[UUID | None, Query()] = None,
    parent_task_id: Annotated[UUID | None, Query()] = None,
) -> Page[TaskOut]:
    """A project's tasks, oldest first; filters combine with AND."""
    await to_thread.run_sync(
        lambda: container.tasks.readable_project(project_id=project_id, actor_id=caller.id)
    )
    filters = {
        "status": task_status,
        "priority": priority,
        "assignee_id": assignee_id,
        "milestone_id": milestone_id,
        "parent_task_id": parent_task_id,
    }
    rows = await tasks_queries.list_tasks(
        conn,
        project_id,
        filters=filters,
        limit=page.limit + 1,
        after=decode_time_id_cursor(page.cursor),
    )
    data, next_cursor = paginate(rows, page.limit, lambda r: (r["created_at"], r["id"]))
    return Page[TaskOut](data=[to_out(r) for r in data], next_cursor=next_cursor)


@router.post(
    "/projects/{project_id}/tasks",
    status_code=status.HTTP_201_CREATED,
    response_model=TaskOut,
    responses=ACCEPTED,
)
async def create_task(
    project_id: UUID,
    body: TaskCreate,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    response: Response,
) -> Any:
    saved, caught_up = await run_command(
        container,
        lambda: container.tasks.create(
            project_id=project_id, actor_id=caller.id, **body.model_dump()
        ),
    )
    row = await tasks_queries.get_for_member(conn, saved.value, caller.id) if caught_up else None
    if row is None:
        return accepted("tasks", saved.value, saved.position)
    response.headers["Location"] = f"/api/v1/tasks/{saved.value}"
    set_etag(response, row["version"])
    return to_out(row)


@router.get("/tasks/{task_id}", response_model=TaskOut)
async def get_task(task_id: UUID, caller: CurrentUser, conn: Conn, response: Response) -> TaskOut:
    row = await tasks_queries.get_for_member(conn, task_id, caller.id)
    if row is None:
        raise NotFound("task not found")
    set_etag(response, row["version"])
    return to_out(row)


@router.put("/tasks/{task_id}", response_model=TaskOut, responses=ACCEPTED)
async def update_task(
    task_id: UUID,
    body: TaskUpdate,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    expected: IfMatch,
    response: Response,
) -> Any:
    fields = body.model_dump(exclude_unset=True)
    saved, caught_up = await run_command(
        container,
        lambda: container.tasks.update(
            task_id=task_id, actor_id=caller.id, expected_version=expected, **fields
        ),
    )
    row = await tasks_queries.get_for_member(conn, task_id, caller.id) if caught_up else None
    if row is None:
        return accepted("tasks", task_id, saved.position)
    set_etag(response, row["version"])
    return to_out(row)


@router.delete("/tasks/{task_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_task(
    task_id: UUID, caller: CurrentUser, container: ContainerDep, expected: IfMatch
) -> Response:
    """Delete a task and its subtasks; other tasks' dependencies on them are removed."""
    await run_command(
        container,
        lambda: container.tasks.delete(
            task_id=task_id, actor_id=caller.id, expected_version=expected
        ),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
