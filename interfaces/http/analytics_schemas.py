"""Response models of the analytics endpoints (the query parameters are typed in the router
with the shared date and time zone types)."""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from interfaces.http.resources_schemas import UtilizationOut

# Dashboard ---------------------------------------------------------------------------------


class AnalyticsItemCounts(BaseModel):
    open: int
    done: int
    overdue: int = Field(description="not done and due before now")


class AnalyticsWeekHours(BaseModel):
    week: str = Field(description="ISO week, e.g. 2024-W10, of your today in your time zone")
    start_date: date
    end_date: date
    hours: float = Field(description="your time, and everyone's in workspaces you manage")
    my_hours: float


class AnalyticsMilestoneItem(BaseModel):
    id: UUID
    title: str
    project_id: UUID | None
    project_name: str | None
    workspace_id: UUID | None
    due_date: date
    status: str
    progress: int | None


class AnalyticsOverdueMilestone(AnalyticsMilestoneItem):
    days_overdue: int


class AnalyticsOverAllocated(BaseModel):
    user_id: UUID | None
    name: str | None
    workspace_id: UUID | None
    overallocation_percentage: float
    over_hours: float
    start_date: date
    end_date: date


class AnalyticsDashboardOut(BaseModel):
    workspace_ids: list[UUID]
    timezone: str
    today: date
    tasks: AnalyticsItemCounts
    cards: AnalyticsItemCounts
    milestones_overdue: int
    this_week: AnalyticsWeekHours
    upcoming_milestones: list[AnalyticsMilestoneItem] = Field(
        description="not completed or cancelled, due within 14 days (at most 20)"
    )
    over_allocated: list[AnalyticsOverAllocated] = Field(
        description="people with an active resource conflict this week"
    )


# Project -----------------------------------------------------------------------------------


class AnalyticsTaskStatuses(BaseModel):
    todo: int
    in_progress: int
    review: int
    done: int
    cancelled: int


class AnalyticsTasks(BaseModel):
    total: int
    by_status: AnalyticsTaskStatuses


class AnalyticsColumn(BaseModel):
    board_id: UUID
    column_id: UUID
    name: str
    is_done: bool
    cards: int


class AnalyticsCards(BaseModel):
    total: int
    open: int
    done: int
    by_column: list[AnalyticsColumn]


class AnalyticsThroughputWeek(BaseModel):
    week: str
    week_start: date
    tasks: int
    cards: int


class AnalyticsCycleTime(BaseModel):
    count: int = Field(description="items done in the range")
    average_hours: float | None
    median_hours: float | None
    p85_hours: float | None
    max_hours: float | None


class AnalyticsCycleTimes(BaseModel):
    cards: AnalyticsCycleTime = Field(description="created -> moved into a done column")
    tasks: AnalyticsCycleTime = Field(description="created -> done")


class AnalyticsProjectHours(BaseModel):
    estimated: float = Field(description="tasks (not cancelled) and cards")
    tracked: float = Field(description="every time entry of the project")
    tracked_in_range: float


class AnalyticsMilestoneStatuses(BaseModel):
    pending: int
    in_progress: int
    completed: int
    cancelled: int


class AnalyticsProjectMilestones(BaseModel):
    by_status: AnalyticsMilestoneStatuses
    overdue: int
    completed_on_time: int


class AnalyticsBurndownDay(BaseModel):
    date: date
    remaining: int = Field(description="tasks (not cancelled) and cards not done at day's end")
    remaining_hours: float


class AnalyticsProjectOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    project_id: UUID
    from_date: date = Field(alias="from")
    to_date: date = Field(alias="to")
    timezone: str
    tasks: AnalyticsTasks
    cards: AnalyticsCards
    completion_percentage: float = Field(description="done tasks and cards / all not cancelled")
    throughput: list[AnalyticsThroughputWeek]
    cycle_time: AnalyticsCycleTimes
    hours: AnalyticsProjectHours
    milestones: AnalyticsProjectMilestones
    burndown: list[AnalyticsBurndownDay]


# Time tracking -----------------------------------------------------------------------------


class AnalyticsTimeFigures(BaseModel):
    total_seconds: int
    total_hours: float
    billable_seconds: int
    billable_hours: float
    amount: float = Field(description="billable hours x rate (entry, team member, default)")
    unrated_billable_seconds: int


class AnalyticsTimeGroup(AnalyticsTimeFigures):
    key: str
    label: str


class AnalyticsTimeOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    from_date: date = Field(alias="from")
    to_date: date = Field(alias="to")
    timezone: str
    group_by: Literal["user", "project", "day", "week"]
    totals: AnalyticsTimeFigures
    groups: list[AnalyticsTimeGroup]


# Resource utilization ----------------------------------------------------------------------


class AnalyticsWorkspaceUtilization(UtilizationOut):
    workspace_id: UUID
    name: str


class AnalyticsUtilizationOut(BaseModel):
    workspaces: list[AnalyticsWorkspaceUtilization]


# Milestones --------------------------------------------------------------------------------


class AnalyticsMilestonePeriod(BaseModel):
    period_start: date
    completed: int
    on_time: int
    late: int


class AnalyticsMilestonesDue(BaseModel):
    due: int = Field(description="milestones due in the range")
    met: int = Field(description="of them, completed on or before their due date")
    cancelled: int


class AnalyticsMilestonesOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    from_date: date = Field(alias="from")
    to_date: date = Field(alias="to")
    timezone: str
    period: Literal["week", "month"]
    completed: int
    completed_on_time: int
    on_time_rate: float | None = Field(description="percent of those completed in the range")
    due_in_range: AnalyticsMilestonesDue
    periods: list[AnalyticsMilestonePeriod]
    overdue_count: int
    overdue: list[AnalyticsOverdueMilestone]
