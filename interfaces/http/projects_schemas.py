"""Request and response models of the project endpoints."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from interfaces.http.files_schemas import AttachmentSummary
from interfaces.http.schemas import (
    TEXT_BLOCK,
    JsonObject,
    Name,
    Strict,
    cents,
    not_null,
    stripped_line,
)

Description = Annotated[str, StringConstraints(max_length=10_000), TEXT_BLOCK]
Status = Literal["planning", "active", "on_hold", "completed", "cancelled"]
Priority = Literal["low", "medium", "high", "critical"]
Budget = cents(10, "0 to 9,999,999,999.99")
MemberRoleLabel = stripped_line(1, 100)


def _check_dates(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and end < start:
        raise ValueError("end_date must not be before start_date")


class ProjectCreate(Strict):
    workspace_id: UUID
    name: Name
    description: Description | None = None
    status: Status = "planning"
    priority: Priority = "medium"
    start_date: date | None = None
    end_date: date | None = None
    budget: Budget | None = None
    owner_id: UUID | None = Field(
        default=None, description="defaults to the caller; must be a workspace member"
    )
    settings: JsonObject = Field(default_factory=dict)

    @model_validator(mode="after")
    def _dates_in_order(self) -> ProjectCreate:
        _check_dates(self.start_date, self.end_date)
        return self


NOT_NULLABLE = ("name", "status", "priority", "owner_id", "settings")


class ProjectUpdate(Strict):
    """A partial update: only the fields sent change; description, dates and budget may be
    cleared with null."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=not_null(*NOT_NULLABLE))
    name: Name | None = None
    description: Description | None = None
    status: Status | None = None
    priority: Priority | None = None
    start_date: date | None = None
    end_date: date | None = None
    budget: Budget | None = None
    owner_id: UUID | None = None
    settings: JsonObject | None = None

    @model_validator(mode="after")
    def _valid_together(self) -> ProjectUpdate:
        nulls = [k for k in NOT_NULLABLE if k in self.model_fields_set and getattr(self, k) is None]
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null")
        _check_dates(self.start_date, self.end_date)
        return self


class ProjectOut(BaseModel):
    id: UUID
    workspace_id: UUID
    name: str
    description: str | None
    status: Status
    priority: Priority
    start_date: date | None
    end_date: date | None
    budget: Decimal | None
    owner_id: UUID
    settings: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    version: int
    attachments: list[AttachmentSummary] = Field(
        default_factory=list, description="files attached to it, oldest first"
    )


class ProjectMemberOut(BaseModel):
    user_id: UUID
    role: str | None
    joined_at: datetime
    name: str
    email: str
    avatar_url: str | None = None


class ProjectMemberAdd(Strict):
    user_id: UUID = Field(description="must be a member of the project's workspace")
    role: MemberRoleLabel | None = Field(default=None, description="a free label, e.g. 'QA'")


class ItemStats(BaseModel):
    total: int
    done: int
    overdue: int = Field(description="due before now and not done (nor cancelled)")
    estimated_hours: float
    actual_hours: float
    by_status: dict[str, int]
    by_priority: dict[str, int]


class WeekDone(BaseModel):
    week: str = Field(description="ISO week, e.g. 2025-W07 (UTC)")
    week_start: date
    cards: int
    tasks: int


class Hours(BaseModel):
    estimated: float
    actual: float


class ProjectAnalytics(BaseModel):
    project_id: UUID
    cards: ItemStats = Field(description="by_status: open / done (sits in a done column)")
    tasks: ItemStats
    done_per_week: list[WeekDone] = Field(description="the last 12 ISO weeks, oldest first")
    hours: Hours = Field(description="cards and tasks together")
