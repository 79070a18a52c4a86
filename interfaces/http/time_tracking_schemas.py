"""Request and response models of the time tracking endpoints."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from domain.shared import RuleBroken
from domain.time_tracking import MAX_AUTO_STOP, MIN_AUTO_STOP, SETTINGS_DEFAULTS, check_timezone
from interfaces.http.schemas import (
    TEXT_BLOCK,
    TEXT_LINE,
    Strict,
    cents,
    not_null,
    stripped_line,
)
from projections import time_tracking_reports
from projections.time_tracking import parse_segments

Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000), TEXT_BLOCK]
Tag = stripped_line(1, 50)
Rate = cents(6)


def _distinct(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tags))


Tags = Annotated[list[Tag], Field(max_length=20), AfterValidator(_distinct)]


def _utc(value: datetime) -> datetime:
    """A time without an offset is taken as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


Moment = Annotated[datetime, AfterValidator(_utc)]


def _zone(name: str) -> str:
    try:
        check_timezone(name)
    except RuleBroken:
        raise ValueError("not a known IANA time zone (e.g. 'Europe/Paris')") from None
    return name


TimeZoneName = Annotated[str, StringConstraints(max_length=50), TEXT_LINE, AfterValidator(_zone)]


class TimerStart(Strict):
    project_id: UUID
    task_id: UUID | None = Field(default=None, description="a kanban card or a task of the project")
    description: Description | None = Field(
        default=None, description="required when your settings say require_description"
    )
    is_billable: bool | None = Field(default=None, description="default: your default_billable")
    hourly_rate: Rate | None = None
    tags: Tags = Field(default_factory=list)


class EntryCreate(TimerStart):
    start_time: Moment
    end_time: Moment = Field(description="after start_time, not in the future")


ENTRY_NOT_NULLABLE = ("project_id", "is_billable", "tags", "start_time", "end_time")


class EntryUpdate(Strict):
    """Only the fields present change; null clears task_id or hourly_rate."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=not_null(*ENTRY_NOT_NULLABLE))

    description: Description | None = None
    project_id: UUID | None = Field(default=None, description="a project of the same workspace")
    task_id: UUID | None = None
    is_billable: bool | None = None
    hourly_rate: Rate | None = None
    tags: Tags | None = None
    start_time: Moment | None = None
    end_time: Moment | None = Field(default=None, description="stopped entries only")

    @model_validator(mode="after")
    def _required_not_null(self) -> EntryUpdate:
        for name in ENTRY_NOT_NULLABLE:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} may not be null")
        return self


class SegmentOut(BaseModel):
    start: datetime
    end: datetime | None


class TimeEntryOut(BaseModel):
    id: UUID
    workspace_id: UUID
    user_id: UUID
    project_id: UUID
    task_id: UUID | None
    task_type: str | None = Field(description="'card' or 'task': what task_id names")
    description: str
    start_time: datetime
    end_time: datetime | None
    duration: int = Field(description="seconds of running time (up to now while running)")
    is_running: bool
    is_paused: bool
    is_billable: bool
    hourly_rate: float | None
    tags: list[str]
    segments: list[SegmentOut]
    note: str | None
    auto_stop_at: datetime | None = Field(
        description="when a running timer will be stopped by its auto-stop limit"
    )
    created_at: datetime
    updated_at: datetime
    version: int


class SettingsOut(BaseModel):
    user_id: UUID
    default_hourly_rate: float | None
    auto_stop_timer: bool
    auto_stop_duration: int
    require_description: bool
    default_billable: bool
    timezone: str
    stop_running_on_start: bool = Field(
        description="starting a timer while one runs stops that one (otherwise: 409)"
    )
    updated_at: datetime | None
    version: int


class SettingsUpdate(Strict):
    default_hourly_rate: Rate | None = None
    auto_stop_timer: bool | None = None
    auto_stop_duration: int | None = Field(default=None, ge=MIN_AUTO_STOP, le=MAX_AUTO_STOP)
    require_description: bool | None = None
    default_billable: bool | None = None
    timezone: TimeZoneName | None = None
    stop_running_on_start: bool | None = None

    @model_validator(mode="after")
    def _required_not_null(self) -> SettingsUpdate:
        for name in self.model_fields_set - {"default_hourly_rate"}:
            if getattr(self, name) is None:
                raise ValueError(f"{name} may not be null")
        return self


class Totals(BaseModel):
    total_seconds: int
    total_hours: float
    billable_seconds: int
    billable_hours: float
    amount: float = Field(description="billable hours x hourly rate (entry, team, default)")
    unrated_billable_seconds: int = Field(description="billable time with no rate to apply")


class Group(Totals):
    key: str | None
    label: str


class DayOut(BaseModel):
    date: date
    timezone: str
    start: datetime
    end: datetime
    totals: Totals
    running: TimeEntryOut | None
    entries: list[TimeEntryOut]


class WeekOut(BaseModel):
    week: str = Field(description="ISO week, e.g. 2024-W10")
    start_date: date
    end_date: date
    timezone: str
    totals: Totals
    days: list[Group]


class ReportOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    from_date: date = Field(alias="from")
    to_date: date = Field(alias="to")
    timezone: str
    group_by: str
    totals: Totals
    groups: list[Group]


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True)


# From read rows -----------------------------------------------------------------------------


def entry_out(row: dict[str, Any], now: datetime) -> TimeEntryOut:
    segments = parse_segments(row["segments"])
    return TimeEntryOut(
        **{
            **row,
            "tags": row["tags"] or [],
            "segments": [{"start": s, "end": e} for s, e in segments],
            "duration": time_tracking_reports.live_duration(row, now)
            if row["end_time"] is None
            else row["duration"],
            "auto_stop_at": time_tracking_reports.auto_stop_at(row, segments) if segments else None,
        }
    )


def settings_out(row: dict[str, Any] | None, user_id: UUID) -> SettingsOut:
    if row is None:
        return SettingsOut(user_id=user_id, updated_at=None, version=0, **SETTINGS_DEFAULTS)
    return SettingsOut(**row)
