"""Request and response models of the resource allocation endpoints."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from domain.resources_capacity import MAX_LEAVES, MAX_WEEK_HOURS, WEEKDAYS
from interfaces.http.schemas import JsonObject, Strict, cents, not_null, stripped_line

FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)


def _within(value: date) -> date:
    if not (FIRST_DAY <= value <= LAST_DAY):
        raise ValueError("a date from 1900-01-01 to 2999-12-31")
    return value


Day = Annotated[date, AfterValidator(_within), Field(description="1900-01-01 to 2999-12-31")]
Skill = stripped_line(1, 100)
Skills = Annotated[list[Skill], Field(max_length=50, description="compared without case")]
RoleName = stripped_line(1, 100)
Hours = cents(3, "hours per week: more than 0, at most 168")
DayHours = cents(2, "hours that weekday: 0 to 24")
Rate = cents(6)
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
assert tuple(Weekday.__args__) == WEEKDAYS  # type: ignore[attr-defined]


class Leave(Strict):
    start: Day
    end: Day = Field(description="inclusive; not before start, at most 731 days after it")
    note: stripped_line(0, 200) | None = None  # type: ignore[valid-type]


class Availability(Strict):
    """``weekdays``: hours on a weekday instead of the default (capacity / 5 Monday to
    Friday, none at the weekend), e.g. ``{"fri": 0}`` for Fridays off or ``{"wed": 4}``;
    ``leave``: date ranges with no hours at all."""

    weekdays: dict[Weekday, DayHours] = Field(default_factory=dict)
    leave: list[Leave] = Field(default_factory=list, max_length=MAX_LEAVES)


def _availability(value: Availability | None) -> dict[str, Any] | None:
    return None if value is None else value.model_dump(mode="json", exclude_none=True)


# Team members -------------------------------------------------------------------------------


class TeamMemberCreate(Strict):
    user_id: UUID = Field(description="a member of the workspace")
    role: RoleName | None = None
    skills: Skills = Field(default_factory=list)
    capacity: int = Field(default=40, ge=0, le=MAX_WEEK_HOURS, description="hours per week")
    hourly_rate: Rate | None = None
    availability: Availability = Field(default_factory=Availability)
    is_active: bool = True

    def fields(self) -> dict[str, Any]:
        out = self.model_dump(exclude={"user_id", "availability"})
        out["availability"] = _availability(self.availability)
        return out


MEMBER_NOT_NULLABLE = ("skills", "capacity", "availability", "is_active")


class TeamMemberUpdate(Strict):
    """Only the fields present change; null clears role or hourly_rate."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=not_null(*MEMBER_NOT_NULLABLE))
    role: RoleName | None = None
    skills: Skills | None = None
    capacity: int | None = Field(default=None, ge=0, le=MAX_WEEK_HOURS)
    hourly_rate: Rate | None = None
    availability: Availability | None = None
    is_active: bool | None = None

    @model_validator(mode="after")
    def _not_null(self) -> TeamMemberUpdate:
        for name in self.model_fields_set & set(MEMBER_NOT_NULLABLE):
            if getattr(self, name) is None:
                raise ValueError(f"{name} may not be null")
        return self

    def fields(self) -> dict[str, Any]:
        out = self.model_dump(exclude_unset=True, exclude={"availability"})
        if "availability" in self.model_fields_set:
            out["availability"] = _availability(self.availability)
        return out


def team_member_out(row: dict[str, Any]) -> TeamMemberOut:
    return TeamMemberOut(
        **{**row, "skills": row["skills"] or [], "availability": row["availability"] or {}}
    )


class TeamMemberOut(BaseModel):
    id: UUID
    user_id: UUID
    workspace_id: UUID
    name: str
    email: str
    role: str | None
    skills: list[str]
    capacity: int
    hourly_rate: float | None
    availability: dict[str, Any]
    is_active: bool
    version: int
    created_at: datetime
    updated_at: datetime


# Allocations --------------------------------------------------------------------------------


class AllocationCreate(Strict):
    project_id: UUID = Field(description="a project of the workspace")
    user_id: UUID = Field(description="an active team member of the workspace")
    hours_per_week: Hours
    start_date: Day
    end_date: Day = Field(description="inclusive; not before start_date, at most 731 days after")
    role: RoleName | None = None
    required_skills: Skills = Field(default_factory=list)


ALLOCATION_NOT_NULLABLE = ("hours_per_week", "start_date", "end_date", "required_skills")


class AllocationUpdate(Strict):
    """Only the fields present change; null clears role. The user and project stay."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=not_null(*ALLOCATION_NOT_NULLABLE))
    role: RoleName | None = None
    hours_per_week: Hours | None = None
    start_date: Day | None = None
    end_date: Day | None = None
    required_skills: Skills | None = None

    @model_validator(mode="after")
    def _not_null(self) -> AllocationUpdate:
        for name in self.model_fields_set & set(ALLOCATION_NOT_NULLABLE):
            if getattr(self, name) is None:
                raise ValueError(f"{name} may not be null")
        return self


class AllocationOut(BaseModel):
    id: UUID
    user_id: UUID
    project_id: UUID
    workspace_id: UUID
    role: str | None
    hours_per_week: float
    start_date: date
    end_date: date
    required_skills: list[str]
    created_by: UUID | None
    version: int
    created_at: datetime
    updated_at: datetime


class BulkChange(Strict):
    """Without ``id``: a new allocation (project_id, user_id, hours_per_week, start_date and
    end_date required). With ``id``: that allocation changes, or is deleted (``delete``).
    ``version``: its expected version (409 when stale)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra=not_null("delete", *ALLOCATION_NOT_NULLABLE)
    )
    id: UUID | None = None
    delete: bool = False
    version: int | None = Field(default=None, ge=0, le=2**31)
    project_id: UUID | None = None
    user_id: UUID | None = None
    role: RoleName | None = None
    hours_per_week: Hours | None = None
    start_date: Day | None = None
    end_date: Day | None = None
    required_skills: Skills | None = None

    @model_validator(mode="after")
    def _not_null(self) -> BulkChange:
        for name in self.model_fields_set & {"delete", *ALLOCATION_NOT_NULLABLE}:
            if getattr(self, name) is None:
                raise ValueError(f"{name} may not be null")
        return self

    def fields(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude={"id", "delete", "version"})


class BulkUpdate(Strict):
    workspace_id: UUID
    changes: list[BulkChange] = Field(min_length=1, max_length=500)


class BulkOut(BaseModel):
    data: list[AllocationOut] = Field(description="the created and changed allocations")
    deleted: list[UUID]
    position: int | None


# Conflicts ----------------------------------------------------------------------------------


class ConflictOut(BaseModel):
    id: UUID
    user_id: UUID
    workspace_id: UUID
    conflicting_allocations: list[UUID]
    overallocation_percentage: float = Field(
        description="the largest weekly excess over capacity, in percent of capacity"
    )
    over_hours: float = Field(description="the largest weekly excess, in hours")
    start_date: date
    end_date: date
    status: Literal["active", "resolved", "ignored"]
    resolved_by: UUID | None
    resolved_at: datetime | None
    resolution_details: dict[str, Any] | None
    detected_at: datetime
    version: int


class ConflictResolve(Strict):
    status: Literal["resolved", "ignored"] = "resolved"
    details: JsonObject = Field(default_factory=dict, description="how it was resolved")


# Utilization and forecast ------------------------------------------------------------------


class Figures(BaseModel):
    capacity: float
    allocated: float
    actual: float
    utilization_percentage: float = Field(description="allocated / capacity x 100")
    efficiency_score: float | None = Field(description="actual / allocated x 100")


class WeekFigures(Figures):
    period_start: date
    period_end: date


class UserUtilization(Figures):
    user_id: UUID
    name: str
    weeks: list[WeekFigures]


class UtilizationOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    from_date: date = Field(alias="from")
    to_date: date = Field(alias="to")
    timezone: str
    users: list[UserUtilization]
    totals: Figures


class ForecastWeek(BaseModel):
    week_start: date
    capacity: float
    allocated: float
    free: float
    over: float


class PersonForecast(BaseModel):
    user_id: UUID
    name: str
    skills: list[str]
    weeks: list[ForecastWeek]


class SkillForecast(BaseModel):
    skill: str
    members: int
    weeks: list[ForecastWeek]


class ForecastOut(BaseModel):
    start_date: date
    weeks: int
    timezone: str
    people: list[PersonForecast]
    skills: list[SkillForecast]


# Optimization -------------------------------------------------------------------------------


class OptimizeRequest(Strict):
    start_date: Day | None = Field(
        default=None, description="default: this week's Monday in the workspace's time zone"
    )
    weeks: int = Field(default=12, ge=1, le=52)
    time_limit_seconds: float = Field(default=3.0, ge=0.1, le=10)
    apply: bool = Field(default=False, description="apply the plan as one bulk command")


class MoveOut(BaseModel):
    allocation_id: UUID
    project_id: UUID
    from_user_id: UUID
    to_user_id: UUID
    hours_per_week: float
    start_date: date
    end_date: date


class UnfixedOut(BaseModel):
    user_id: UUID
    week_start: date
    over_hours: float
    reason: str


class OptimizeOut(BaseModel):
    status: Literal["no_over_allocation", "solved", "partial", "timeout"] = Field(
        description="solved: no over-allocation left; partial: some is left (see unfixed)"
    )
    optimal: bool = Field(description="the solver proved the plan best")
    applied: bool
    position: int | None = Field(description="the bulk command's log position, when applied")
    start_date: date
    end_date: date
    over_allocation_before: float = Field(description="hours over capacity, summed over weeks")
    over_allocation_after: float
    moves: list[MoveOut]
    unfixed: list[UnfixedOut]
    changes: int = Field(description="allocations created, changed or deleted by the plan")
    solve_seconds: float
