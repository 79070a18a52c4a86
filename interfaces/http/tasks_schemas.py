"""Request and response models of the task endpoints."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from interfaces.http.files_schemas import AttachmentSummary
from interfaces.http.schemas import TEXT_BLOCK, Name, Strict, cents, not_null, stripped_line

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


class TaskCreate(Strict):
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


class TaskUpdate(Strict):
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
