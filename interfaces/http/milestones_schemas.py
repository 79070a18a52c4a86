"""Request and response models of the milestones endpoints (milestones, deliverables,
milestone templates, the critical path and the milestone report)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field, model_validator

from interfaces.http.schemas import TEXT_BLOCK, Name, Strict, not_null, stripped_line

Text = Annotated[str, Field(max_length=20_000), TEXT_BLOCK]
Status = Literal["pending", "in_progress", "completed", "cancelled"]
NewStatus = Literal["pending", "in_progress"]
Priority = Literal["low", "medium", "high", "critical"]
DeliverableType = Literal["document", "code", "design", "review", "other"]
DeliverableStatus = Literal["pending", "in_progress", "completed", "rejected"]
Progress = Annotated[int, Field(ge=0, le=100, description="percent, 0 to 100")]
Category = stripped_line(1, 100)
Offset = Annotated[int, Field(ge=0, le=3650, description="days after the start date")]
Index = Annotated[int, Field(ge=0, le=99)]


def _distinct(values: list[Any]) -> list[Any]:
    if len(set(values)) != len(values):
        raise ValueError("must not repeat an item")
    return values


Ids = Annotated[list[UUID], Field(max_length=100), AfterValidator(_distinct)]


def _required_not_null(model: BaseModel, names: tuple[str, ...]) -> None:
    for name in names:
        if name in model.model_fields_set and getattr(model, name) is None:
            raise ValueError(f"{name} may not be null")


# Milestones ---------------------------------------------------------------------------------


class MilestoneCreate(Strict):
    title: Name
    description: Text | None = None
    due_date: date
    status: NewStatus = "pending"
    priority: Priority = "medium"
    progress: Progress = 0
    assignee_ids: Ids = Field(
        default_factory=list, description="members of the project's workspace"
    )
    dependencies: Ids = Field(
        default_factory=list, description="milestones of the same project this one waits for"
    )


MILESTONE_NOT_NULLABLE = (
    "title",
    "due_date",
    "status",
    "priority",
    "progress",
    "assignee_ids",
    "dependencies",
    "force",
)


class MilestoneUpdate(Strict):
    """Only the fields present change; null clears ``description``."""

    model_config = Strict.model_config | {"json_schema_extra": not_null(*MILESTONE_NOT_NULLABLE)}
    title: Name | None = None
    description: Text | None = None
    due_date: date | None = None
    status: Status | None = None
    priority: Priority | None = None
    progress: Progress | None = Field(
        default=None, description="by hand; 409 while linked tasks decide it"
    )
    assignee_ids: Ids | None = None
    dependencies: Ids | None = None
    force: bool | None = Field(
        default=None,
        description="complete even though dependencies are not completed (recorded)",
    )

    @model_validator(mode="after")
    def _not_null(self) -> MilestoneUpdate:
        _required_not_null(self, MILESTONE_NOT_NULLABLE)
        return self


class DeliverableOut(BaseModel):
    id: UUID
    workspace_id: UUID
    milestone_id: UUID
    title: str
    description: str | None
    type: str
    status: str
    due_date: date | None
    created_by: UUID | None
    version: int
    created_at: datetime
    updated_at: datetime


class MilestoneOut(BaseModel):
    id: UUID
    workspace_id: UUID
    project_id: UUID
    title: str
    description: str | None
    due_date: date
    status: str
    priority: str
    progress: int
    progress_source: str = Field(description="'tasks' when linked tasks decide it, or 'manual'")
    assignee_ids: list[UUID]
    dependencies: list[UUID]
    created_by: UUID | None
    completed_at: datetime | None
    forced_completion: bool
    version: int
    created_at: datetime
    updated_at: datetime


class MilestoneDetail(MilestoneOut):
    deliverables: list[DeliverableOut]


# Deliverables -------------------------------------------------------------------------------


class DeliverableCreate(Strict):
    title: Name
    description: Text | None = None
    type: DeliverableType = "document"
    status: DeliverableStatus = "pending"
    due_date: date | None = None


DELIVERABLE_NOT_NULLABLE = ("title", "type", "status")


class DeliverableUpdate(Strict):
    """Only the fields present change; null clears ``description`` or ``due_date``."""

    model_config = Strict.model_config | {"json_schema_extra": not_null(*DELIVERABLE_NOT_NULLABLE)}
    title: Name | None = None
    description: Text | None = None
    type: DeliverableType | None = None
    status: DeliverableStatus | None = None
    due_date: date | None = None

    @model_validator(mode="after")
    def _not_null(self) -> DeliverableUpdate:
        _required_not_null(self, DELIVERABLE_NOT_NULLABLE)
        return self


# Templates ----------------------------------------------------------------------------------


class MilestoneTemplateEntry(Strict):
    title: Name
    description: Text | None = None
    priority: Priority = "medium"
    due_offset_days: Offset = 0
    depends_on: Annotated[list[Index], Field(max_length=100), AfterValidator(_distinct)] = Field(
        default_factory=list, description="indexes of earlier or later milestones of the list"
    )


class MilestoneTemplateDeliverable(Strict):
    milestone: Index = Field(description="index of its milestone in milestones_data")
    title: Name
    description: Text | None = None
    type: DeliverableType = "document"
    due_offset_days: Offset | None = None


MilestoneTemplateEntries = Annotated[
    list[MilestoneTemplateEntry], Field(min_length=1, max_length=100)
]
MilestoneTemplateDeliverables = Annotated[list[MilestoneTemplateDeliverable], Field(max_length=500)]


class MilestoneTemplateCreate(Strict):
    workspace_id: UUID
    name: Name
    description: Text | None = None
    category: Category | None = None
    is_public: bool = False
    milestones_data: MilestoneTemplateEntries
    deliverables_data: MilestoneTemplateDeliverables = Field(default_factory=list)


TEMPLATE_NOT_NULLABLE = ("name", "is_public", "milestones_data", "deliverables_data")


class MilestoneTemplateUpdate(Strict):
    model_config = Strict.model_config | {"json_schema_extra": not_null(*TEMPLATE_NOT_NULLABLE)}
    name: Name | None = None
    description: Text | None = None
    category: Category | None = None
    is_public: bool | None = None
    milestones_data: MilestoneTemplateEntries | None = None
    deliverables_data: MilestoneTemplateDeliverables | None = None

    @model_validator(mode="after")
    def _not_null(self) -> MilestoneTemplateUpdate:
        _required_not_null(self, TEMPLATE_NOT_NULLABLE)
        return self


class MilestoneTemplateOut(BaseModel):
    id: UUID
    workspace_id: UUID
    name: str
    description: str | None
    category: str | None
    milestones_data: list[dict[str, Any]]
    deliverables_data: list[dict[str, Any]]
    created_by: UUID | None
    is_public: bool
    usage_count: int
    version: int
    created_at: datetime
    updated_at: datetime


class MilestonesFromTemplate(Strict):
    template_id: UUID
    project_id: UUID
    start_date: date = Field(description="offsets count calendar days from this day")


class MilestonesFromTemplateOut(BaseModel):
    template_id: UUID
    project_id: UUID
    milestones: list[MilestoneDetail]


# Critical path and report -------------------------------------------------------------------


class CriticalPathItem(BaseModel):
    id: UUID
    type: Literal["task", "milestone"]
    title: str
    duration_days: float
    earliest_start: float = Field(description="working days after the start")
    earliest_finish: float
    latest_start: float
    latest_finish: float
    total_slack: float
    critical: bool
    earliest_start_date: date
    earliest_finish_date: date
    latest_start_date: date
    latest_finish_date: date


class CriticalPathOut(BaseModel):
    project_id: UUID
    start_date: date
    end_date: date | None
    hours_per_day: float
    duration_days: float
    projected_finish_date: date
    slip_days: int | None = Field(description="working days past end_date (negative: early)")
    critical_path: list[UUID] = Field(description="the critical chain, in order")
    items: list[CriticalPathItem] = Field(description="in a topological order")


class MilestoneReportReason(BaseModel):
    code: Literal["past_due", "behind_schedule", "dependency_late", "projected_late"]
    detail: str


class MilestoneReportRow(BaseModel):
    milestone_id: UUID
    title: str
    due_date: date
    status: str
    progress: int
    state: Literal["on_track", "at_risk", "overdue", "completed", "cancelled"]
    reasons: list[MilestoneReportReason]
    projected_finish_date: date | None
    deliverables_done: int
    deliverables_pending: int
    tasks: int
    estimated_hours: float
    tracked_hours: float


class MilestoneReportOut(BaseModel):
    project_id: UUID
    as_of: date
    milestones: list[MilestoneReportRow]
