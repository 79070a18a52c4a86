"""/projects/{id}/tasks and /tasks/{id}: tasks with subtasks and dependencies.

Links are checked by the project's task graph: a parent or dependency that would close a cycle
is a 409 naming the cycle; a linked task outside the project, or an assignee who is not a
member of the workspace, is a 422 naming the field. Deleting a task deletes its subtasks.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from anyio import to_thread
from fastapi import APIRouter, Query, Response, status
from fastapi.responses import JSONResponse
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from application.errors import NotFound
from interfaces.http.deps import Conn, ContainerDep, CurrentUser, IfMatch, run_command
from interfaces.http.files_schemas import AttachmentSummary
from interfaces.http.idempotency import CommandRoute
from interfaces.http.pagination import Page, PageQuery, decode_time_id_cursor, paginate
from interfaces.http.schemas import (
    ACCEPTED,
    TEXT_BLOCK,
    Name,
    cents,
    not_null,
    set_etag,
    stripped_line,
)
from interfaces.http.schemas import accepted as shared_accepted
from projections import tasks_queries

router = APIRouter(tags=["tasks"], route_class=CommandRoute)

Status = Literal["todo", "in_progress", "review", "done", "cancelled"]
Priority = Literal["low", "medium", "high", "urgent"]
Title = Name
Description = Annotated[str, StringConstraints(max_length=20_000), TEXT_BLOCK]
Tag = stripped_line(1, 50)
Hours = cents(3)


def _utc(value: datetime | None) -> datetime | None:
    """A due date without an offset is taken as UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


DueDate = Annotated[datetime, AfterValidator(_utc)]
Tags = Annotated[list[Tag], Field(max_length=50)]


def _distinct(values: list[UUID]) -> list[UUID]:
    if len(set(values)) != len(values):
        raise ValueError("dependencies must not repeat a task")
    return values


Dependencies = Annotated[list[UUID], Field(max_length=100), AfterValidator(_distinct)]


class TaskCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Title
    description: Description | None = None
    status: Status = "todo"
    priority: Priority = "medium"
    estimated_hours: Hours | None = None
    assignee_id: UUID | None = Field(default=None, description="a member of the workspace")
    due_date: DueDate | None = None
    tags: Tags = Field(default_factory=list)
    milestone_id: UUID | None = None
    parent_task_id: UUID | None = Field(default=None, description="a live task of the project")
    dependencies: Dependencies = Field(
        default_factory=list, description="ids of tasks of the project this task waits for"
    )


NOT_NULLABLE = ("title", "status", "priority", "tags", "dependencies")


class TaskUpdate(BaseModel):
    """Only the fields present change; null clears a nullable field."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=not_null(*NOT_NULLABLE))
    title: Title | None = None
    description: Description | None = None
    status: Status | None = None
    priority: Priority | None = None
    estimated_hours: Hours | None = None
    assignee_id: UUID | None = None
    due_date: DueDate | None = None
    tags: Tags | None = None
    milestone_id: UUID | None = None
    parent_task_id: UUID | None = None
    dependencies: Dependencies | None = None

    @model_validator(mode="after")
    def _required_not_null(self) -> TaskUpdate:
        for name in NOT_NULLABLE:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} may not be null")
        return self


class TaskOut(BaseModel):
    id: UUID
    workspace_id: UUID
    project_id: UUID
    milestone_id: UUID | None
    parent_task_id: UUID | None
    title: str
    description: str | None
    status: str
    priority: str
    estimated_hours: float | None
    actual_hours: float | None
    assignee_id: UUID | None
    created_by: UUID | None
    due_date: datetime | None
    completed_at: datetime | None
    tags: list[str]
    dependencies: list[UUID]
    version: int
    created_at: datetime
    updated_at: datetime
    attachments: list[AttachmentSummary] = Field(
        default_factory=list, description="files attached to it, oldest first"
    )


def to_out(row: dict[str, Any]) -> TaskOut:
    return TaskOut(**{**row, "tags": row["tags"] or [], "dependencies": row["dependencies"] or []})


def accepted(ident: UUID, position: int | None) -> JSONResponse:
    return shared_accepted("tasks", ident, position)


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
        return accepted(saved.value, saved.position)
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
        return accepted(task_id, saved.position)
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
