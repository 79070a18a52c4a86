"""Request and response models of the project templates endpoints."""

from __future__ import annotations

import html
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field, model_validator

from interfaces.http.schemas import TEXT_BLOCK, Name, Strict, cents, not_null, stripped_line
from projections.templates_queries import MARK_START, MARK_STOP

Text = Annotated[str, Field(max_length=20_000), TEXT_BLOCK]
Category = stripped_line(1, 100)
Tag = stripped_line(1, 50)
Key = stripped_line(1, 50)
Hours = cents(3, "hours, at most 999.99")
Duration = Annotated[int, Field(ge=0, le=3650, description="working days")]
MAX_TASKS = 1000


def _distinct(values: list[Any]) -> list[Any]:
    if len(set(values)) != len(values):
        raise ValueError("must not repeat an item")
    return values


Tags = Annotated[list[Tag], Field(max_length=30), AfterValidator(_distinct)]


class TemplateTaskIn(Strict):
    key: Key | None = Field(
        default=None,
        description="its name within the template, for dependencies (default: "
        '"<phase>.<task>", counting from 1, e.g. "2.3")',
    )
    title: Name
    description: Text | None = None
    estimated_hours: Hours | None = None
    required_skills: Tags = Field(default_factory=list, description="the created task's tags")
    dependencies: Annotated[list[Key], Field(max_length=100), AfterValidator(_distinct)] = Field(
        default_factory=list, description="keys of the template tasks this one waits for"
    )


class TemplatePhaseIn(Strict):
    name: Name
    description: Text | None = None
    estimated_duration: Duration = 5
    tasks: list[TemplateTaskIn] = Field(default_factory=list, max_length=MAX_TASKS)


def _bounded(phases: list[TemplatePhaseIn]) -> list[TemplatePhaseIn]:
    if sum(len(p.tasks) for p in phases) > MAX_TASKS:
        raise ValueError(f"a template holds at most {MAX_TASKS} tasks")
    return phases


Phases = Annotated[
    list[TemplatePhaseIn], Field(min_length=1, max_length=100), AfterValidator(_bounded)
]


class TemplateCreate(Strict):
    """Phases as given, or ``from_project_id``: that project's milestones become the phases
    and their tasks the tasks ("save this project as a template")."""

    model_config = Strict.model_config | {
        "json_schema_extra": {
            "oneOf": [{"required": ["phases"]}, {"required": ["from_project_id"]}]
        }
    }
    workspace_id: UUID
    name: Name
    description: Text | None = None
    category: Category | None = None
    tags: Tags = Field(default_factory=list)
    is_public: bool = Field(default=False, description="instance administrators only")
    phases: Phases | None = None
    from_project_id: UUID | None = None

    @model_validator(mode="after")
    def _one_source(self) -> TemplateCreate:
        if (self.phases is None) == (self.from_project_id is None):
            raise ValueError("give either phases or from_project_id")
        return self


TEMPLATE_NOT_NULLABLE = ("name", "tags", "is_public", "phases")


class TemplateUpdate(Strict):
    """Only the fields present change; null clears ``description`` and ``category``."""

    model_config = Strict.model_config | {"json_schema_extra": not_null(*TEMPLATE_NOT_NULLABLE)}
    name: Name | None = None
    description: Text | None = None
    category: Category | None = None
    tags: Tags | None = None
    is_public: bool | None = None
    phases: Phases | None = None

    @model_validator(mode="after")
    def _not_null(self) -> TemplateUpdate:
        for name in TEMPLATE_NOT_NULLABLE:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} may not be null")
        return self


class TemplateOut(BaseModel):
    id: UUID
    workspace_id: UUID | None = Field(description="none for the built-in templates")
    name: str
    description: str | None
    category: str | None
    tags: list[str]
    is_public: bool
    created_by: UUID | None
    usage_count: int
    template_data: dict[str, Any] = Field(
        description="phases (position, estimated_duration) with their tasks (key, title,"
        " estimated_hours, required_skills, dependencies by key)"
    )
    version: int
    created_at: datetime
    updated_at: datetime


def to_out(row: dict[str, Any]) -> TemplateOut:
    return TemplateOut(**{**row, "tags": row["tags"] or []})


class TemplateUse(Strict):
    workspace_id: UUID = Field(description="where the project is made")
    project_name: Name
    start_date: date = Field(description="phases follow one another on working days from here")
    description: Text | None = Field(default=None, description="default: the template's")
    create_board: bool = Field(default=False, description="a board with the default columns")
    board_name: Name | None = Field(default=None, description="default: the project's name")


class TemplateUseOut(BaseModel):
    template_id: UUID
    project_id: UUID
    milestone_ids: list[UUID] = Field(description="one per phase, in order")
    task_ids: list[UUID] = Field(description="in the template's order")
    board_id: UUID | None


class Highlights(BaseModel):
    name: str = Field(description="HTML-escaped, matches in <mark>")
    description: str | None


def highlighted(text: str | None) -> str | None:
    if text is None:
        return None
    return html.escape(text).replace(MARK_START, "<mark>").replace(MARK_STOP, "</mark>")


class TemplateSearchHit(BaseModel):
    """A template found: what a result list shows (GET the template for its phases)."""

    id: UUID
    workspace_id: UUID | None
    name: str
    description: str | None
    category: str | None
    tags: list[str]
    is_public: bool
    created_by: UUID | None
    usage_count: int
    phase_count: int
    task_count: int
    version: int
    created_at: datetime
    updated_at: datetime
    rank: float
    highlights: Highlights


class TemplateCategory(BaseModel):
    category: str
    count: int


class TemplateCategories(BaseModel):
    data: list[TemplateCategory]


class WeekUses(BaseModel):
    week_start: date = Field(description="Monday of the ISO week (UTC)")
    uses: int


class MilestoneFigures(BaseModel):
    completed: int
    on_time: int = Field(description="completed on or before their due date")
    overdue: int = Field(description="neither completed nor cancelled, past their due date")
    on_time_rate: float | None = Field(description="on_time / (completed + overdue)")


class EstimateFigures(BaseModel):
    tasks_tracked: int = Field(description="created tasks with an estimate and time tracked")
    estimated_hours: float = Field(description="the template's estimates for those tasks")
    tracked_hours: float
    tracked_to_estimated: float | None = Field(description="tracked / estimated")


class TemplateAnalytics(BaseModel):
    template_id: UUID
    usage_count: int
    uses_per_week: list[WeekUses]
    projects_created: int
    projects_existing: int = Field(description="not deleted since")
    projects_completed: int
    completion_rate: float | None
    milestones: MilestoneFigures
    estimates: EstimateFigures
