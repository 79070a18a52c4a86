"""Time tracking: /time-entries (manual entries, CRUD) and /time-tracking (the timer,
today, week, reports, settings).

One timer per user: starting a second is 409 (``timer-running``), unless the user's settings
say ``stop_running_on_start``, then the running one is stopped first. Manual entries end after
they start, not in the future, and overlap none of the user's other entries (409
``time-overlap``). Times are the server's; reports use the reader's time zone setting.
Everyone reads and tracks their own time; managers (owner, admin) also read and edit their
workspace's entries, and see them in reports with ``scope=all``.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Header, Query, Response, status
from fastapi.responses import JSONResponse

from application.authorization import POLICY, Action, allowed
from application.errors import Forbidden, Invalid, NotFound
from domain.time_tracking import SETTINGS_DEFAULTS
from interfaces.http.deps import Conn, ContainerDep, CurrentUser, IfMatch, run_command
from interfaces.http.idempotency import CommandRoute
from interfaces.http.pagination import Page, PageQuery, decode_time_id_cursor, paginate
from interfaces.http.schemas import ACCEPTED, Accepted, Line, accepted, set_etag
from interfaces.http.time_tracking_schemas import (
    DayOut,
    EntryCreate,
    EntryUpdate,
    ReportOut,
    SettingsOut,
    SettingsUpdate,
    TimeEntryOut,
    TimerStart,
    WeekOut,
)
from projections import time_tracking_queries, time_tracking_reports
from projections.time_tracking import parse_segments

router = APIRouter(tags=["time tracking"], route_class=CommandRoute)

MANAGERS = sorted(POLICY[Action.TIME_MANAGE])
MAX_REPORT_DAYS = 366
GroupBy = Literal["project", "task", "user", "tag", "day"]
Scope = Literal["mine", "all"]


def to_out(row: dict[str, Any], now: datetime) -> TimeEntryOut:
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


def _entry_response(
    row: dict[str, Any] | None, ident: UUID, position: int | None, response: Response, now: datetime
) -> Any:
    if row is None:
        return accepted("time-entries", ident, position)
    set_etag(response, row["version"])
    return to_out(row, now)


async def _zone(conn: Conn, user_id: UUID) -> str:
    row = await time_tracking_queries.settings(conn, user_id)
    return row["timezone"] if row else SETTINGS_DEFAULTS["timezone"]


async def _check_project(conn: Conn, project_id: UUID | None, user_id: UUID) -> None:
    if project_id is not None and not await time_tracking_queries.project_visible(
        conn, project_id, user_id
    ):
        raise NotFound("project not found")


def _who(caller: UUID, user_id: UUID | None, scope: Scope) -> UUID | None:
    """Whose entries: a given user's, the caller's own (scope=mine), or all visible ones."""
    if user_id is not None:
        return user_id
    return caller if scope == "mine" else None


# Entries --------------------------------------------------------------------------------------


@router.get("/time-entries", response_model=Page[TimeEntryOut])
async def list_entries(
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    page: PageQuery,
    project_id: UUID | None = None,
    task_id: UUID | None = None,
    user_id: Annotated[UUID | None, Query(description="a user's entries you may see")] = None,
    scope: Annotated[
        Scope, Query(description="mine: your own; all: also your workspaces' (managers)")
    ] = "mine",
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to", description="inclusive")] = None,
    billable: bool | None = None,
    tags: Annotated[list[Line] | None, Query(description="entries with all of these tags")] = None,
    running: Annotated[bool | None, Query(description="open timers (running or paused)")] = None,
) -> Page[TimeEntryOut]:
    """Entries you may see, newest first. Dates are days in your time zone; an entry counts
    in a date range when it overlaps it."""
    await _check_project(conn, project_id, caller.id)
    zone = time_tracking_reports.zone_of(await _zone(conn, caller.id))
    filters = {
        "user_id": _who(caller.id, user_id, scope),
        "project_id": project_id,
        "task_id": task_id,
        "is_billable": billable,
        "tags": tags,
        "is_running": running,
        "since": time_tracking_reports.day_bounds(date_from, zone)[0] if date_from else None,
        "until": time_tracking_reports.day_bounds(date_to, zone)[1] if date_to else None,
    }
    rows = await time_tracking_queries.list_entries(
        conn,
        caller.id,
        MANAGERS,
        filters,
        limit=page.limit + 1,
        after=decode_time_id_cursor(page.cursor),
    )
    data, cursor = paginate(rows, page.limit, lambda r: (r["start_time"], r["id"]))
    now = container.time_tracking.now()
    return Page[TimeEntryOut](data=[to_out(r, now) for r in data], next_cursor=cursor)


@router.post(
    "/time-entries",
    status_code=status.HTTP_201_CREATED,
    response_model=TimeEntryOut,
    responses=ACCEPTED,
)
async def create_entry(
    body: EntryCreate, caller: CurrentUser, container: ContainerDep, conn: Conn, response: Response
) -> Any:
    """A manual entry. 422: end not after start, or in the future; 409: it overlaps another
    of your entries."""
    fields = body.model_dump(exclude={"project_id"})
    saved, caught_up = await run_command(
        container, container.time_tracking.record, caller.id, body.project_id, **fields
    )
    row = await time_tracking_queries.entry(conn, saved.value, caller.id) if caught_up else None
    response.headers["Location"] = f"/api/v1/time-entries/{saved.value}"
    return _entry_response(
        row, saved.value, saved.position, response, container.time_tracking.now()
    )


async def _readable(conn: Conn, entry_id: UUID, caller: UUID) -> dict[str, Any]:
    row = await time_tracking_queries.entry(conn, entry_id, caller)
    if row is None:
        raise NotFound("time entry not found")
    action = Action.TIME_READ if row["user_id"] == caller else Action.TIME_MANAGE
    if not allowed(row["role"], action):
        raise Forbidden(f"your role '{row['role']}' may not see other members' time entries")
    return row


@router.get("/time-entries/{entry_id}", response_model=TimeEntryOut)
async def get_entry(
    entry_id: UUID, caller: CurrentUser, container: ContainerDep, conn: Conn, response: Response
) -> TimeEntryOut:
    row = await _readable(conn, entry_id, caller.id)
    set_etag(response, row["version"])
    return to_out(row, container.time_tracking.now())


@router.put("/time-entries/{entry_id}", response_model=TimeEntryOut, responses=ACCEPTED)
async def update_entry(
    entry_id: UUID,
    body: EntryUpdate,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    expected: IfMatch,
    response: Response,
) -> Any:
    """Change an entry (``If-Match`` for a version check). Moving the bounds keeps the
    pauses inside them; a running timer's end is set by stopping it."""
    fields = body.model_dump(exclude_unset=True)
    saved, caught_up = await run_command(
        container, container.time_tracking.update, entry_id, caller.id, expected, **fields
    )
    row = await time_tracking_queries.entry(conn, entry_id, caller.id) if caught_up else None
    return _entry_response(row, entry_id, saved.position, response, container.time_tracking.now())


@router.delete("/time-entries/{entry_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_entry(
    entry_id: UUID, caller: CurrentUser, container: ContainerDep, expected: IfMatch
) -> Response:
    await run_command(container, container.time_tracking.delete, entry_id, caller.id, expected)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# The timer ------------------------------------------------------------------------------------


async def _timer_response(
    container: ContainerDep, conn: Conn, caller: UUID, fn: Any, response: Response
) -> Any:
    saved, caught_up = await run_command(container, fn, caller)
    entry_id = container.time_tracking.check_toggled(saved)
    row = await time_tracking_queries.entry(conn, entry_id, caller) if caught_up else None
    return _entry_response(row, entry_id, saved.position, response, container.time_tracking.now())


@router.post(
    "/time-tracking/start",
    status_code=status.HTTP_201_CREATED,
    response_model=TimeEntryOut,
    responses=ACCEPTED,
)
async def start_timer(
    body: TimerStart, caller: CurrentUser, container: ContainerDep, conn: Conn, response: Response
) -> Any:
    """Start your timer now, on a project (and optionally a card or task of it). 409
    ``timer-running`` if one runs, unless your settings say ``stop_running_on_start``."""
    fields = body.model_dump(exclude={"project_id"})
    saved, caught_up = await run_command(
        container, container.time_tracking.start, caller.id, body.project_id, **fields
    )
    row = await time_tracking_queries.entry(conn, saved.value, caller.id) if caught_up else None
    response.headers["Location"] = f"/api/v1/time-entries/{saved.value}"
    return _entry_response(
        row, saved.value, saved.position, response, container.time_tracking.now()
    )


@router.put("/time-tracking/stop", response_model=TimeEntryOut, responses=ACCEPTED)
async def stop_timer(
    caller: CurrentUser, container: ContainerDep, conn: Conn, response: Response
) -> Any:
    """Stop your timer now; the entry is returned. 409 ``no-timer`` without one. A timer
    past its auto-stop limit stops at the limit."""
    return await _timer_response(container, conn, caller.id, container.time_tracking.stop, response)


@router.put("/time-tracking/pause", response_model=TimeEntryOut, responses=ACCEPTED)
async def pause_timer(
    caller: CurrentUser, container: ContainerDep, conn: Conn, response: Response
) -> Any:
    """Pause your running timer (409 ``timer-auto-stopped`` if it had passed its limit)."""
    return await _timer_response(
        container, conn, caller.id, container.time_tracking.pause, response
    )


@router.put("/time-tracking/resume", response_model=TimeEntryOut, responses=ACCEPTED)
async def resume_timer(
    caller: CurrentUser, container: ContainerDep, conn: Conn, response: Response
) -> Any:
    return await _timer_response(
        container, conn, caller.id, container.time_tracking.resume, response
    )


@router.get("/time-tracking/active", response_model=TimeEntryOut | None)
async def active_timer(caller: CurrentUser, container: ContainerDep, conn: Conn) -> Any:
    """Your open timer (running or paused), or null."""
    row = await time_tracking_queries.active_timer(conn, caller.id)
    return to_out(row, container.time_tracking.now()) if row else None


# Summaries and reports --------------------------------------------------------------------------


@router.get("/time-tracking/today", response_model=DayOut)
async def today(caller: CurrentUser, container: ContainerDep, conn: Conn) -> DayOut:
    """Your time today (a day in your time zone), the running timer up to now."""
    now = container.time_tracking.now()
    name = await _zone(conn, caller.id)
    zone = time_tracking_reports.zone_of(name)
    day = time_tracking_reports.local_date(now, zone)
    start, end = time_tracking_reports.day_bounds(day, zone)
    rows = await time_tracking_queries.report_rows(
        conn, caller.id, MANAGERS, {"user_id": caller.id, "since": start, "until": end}
    )
    summary = time_tracking_reports.report(rows, group_by="project", days=[day], zone=zone, now=now)
    entries = [to_out(r, now) for r in rows]
    return DayOut(
        date=day,
        timezone=name,
        start=start,
        end=end,
        totals=summary["totals"],
        running=next((e for e in entries if e.end_time is None), None),
        entries=entries,
    )


@router.get("/time-tracking/week", response_model=WeekOut)
async def week(
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    day: Annotated[date | None, Query(alias="date", description="a day of the week")] = None,
) -> WeekOut:
    """Your time per day over an ISO week (Monday to Sunday in your time zone)."""
    now = container.time_tracking.now()
    name = await _zone(conn, caller.id)
    zone = time_tracking_reports.zone_of(name)
    monday, sunday, label = time_tracking_reports.iso_week(
        day or time_tracking_reports.local_date(now, zone)
    )
    filters = {
        "user_id": caller.id,
        "since": time_tracking_reports.day_bounds(monday, zone)[0],
        "until": time_tracking_reports.day_bounds(sunday, zone)[1],
    }
    rows = await time_tracking_queries.report_rows(conn, caller.id, MANAGERS, filters)
    days = time_tracking_reports.days_between(monday, sunday)
    summary = time_tracking_reports.report(rows, group_by="day", days=days, zone=zone, now=now)
    return WeekOut(
        week=label,
        start_date=monday,
        end_date=sunday,
        timezone=name,
        totals=summary["totals"],
        days=summary["groups"],
    )


CSV_COLUMNS = (
    "key",
    "label",
    "total_hours",
    "billable_hours",
    "amount",
    "total_seconds",
    "billable_seconds",
    "unrated_billable_seconds",
)


def _cell(value: Any) -> Any:
    """Neutralize spreadsheet formulas in text cells (CSV injection)."""
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + value
    return value


def _csv(report: dict[str, Any], group_by: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([group_by if c == "key" else c for c in CSV_COLUMNS])
    for group in report["groups"]:
        writer.writerow([_cell(group[c]) for c in CSV_COLUMNS])
    totals = {"key": "", "label": "Total", **report["totals"]}
    writer.writerow([totals[c] for c in CSV_COLUMNS])
    return out.getvalue()


@router.get(
    "/time-tracking/report",
    response_model=ReportOut,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def report(
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    date_from: Annotated[date | None, Query(alias="from", description="default: 1st")] = None,
    date_to: Annotated[
        date | None, Query(alias="to", description="inclusive; default: today")
    ] = None,
    group_by: GroupBy = "project",
    project_id: UUID | None = None,
    task_id: UUID | None = None,
    user_id: UUID | None = None,
    scope: Scope = "mine",
    billable: bool | None = None,
    tags: Annotated[list[Line] | None, Query()] = None,
    accept: Annotated[str | None, Header()] = None,
) -> Any:
    """Time over a range of days (in your time zone), grouped by project, task, user, tag or
    day: totals, billable totals, amount = billable hours x rate (the entry's, else the
    user's team-member rate in that workspace, else their default). ``Accept: text/csv``
    gives the same as CSV."""
    await _check_project(conn, project_id, caller.id)
    now = container.time_tracking.now()
    name = await _zone(conn, caller.id)
    zone = time_tracking_reports.zone_of(name)
    last = date_to or time_tracking_reports.local_date(now, zone)
    first = date_from or last.replace(day=1)
    if first > last:
        raise Invalid("'from' must not be after 'to'")
    if last - first >= timedelta(days=MAX_REPORT_DAYS):
        raise Invalid(f"a report covers at most {MAX_REPORT_DAYS} days")
    filters = {
        "user_id": _who(caller.id, user_id, scope),
        "project_id": project_id,
        "task_id": task_id,
        "is_billable": billable,
        "tags": tags,
        "since": time_tracking_reports.day_bounds(first, zone)[0],
        "until": time_tracking_reports.day_bounds(last, zone)[1],
    }
    rows = await time_tracking_queries.report_rows(conn, caller.id, MANAGERS, filters)
    days = time_tracking_reports.days_between(first, last)
    summary = time_tracking_reports.report(rows, group_by=group_by, days=days, zone=zone, now=now)
    if accept and "text/csv" in accept:
        filename = f"time-report-{first.isoformat()}-{last.isoformat()}.csv"
        return Response(
            _csv(summary, group_by),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return ReportOut(
        from_date=first,
        to_date=last,
        timezone=name,
        group_by=group_by,
        totals=summary["totals"],
        groups=summary["groups"],
    )


# Settings -------------------------------------------------------------------------------------


def _settings_out(row: dict[str, Any] | None, user_id: UUID) -> SettingsOut:
    if row is None:
        return SettingsOut(user_id=user_id, updated_at=None, version=0, **SETTINGS_DEFAULTS)
    return SettingsOut(**row)


@router.get("/time-tracking/settings", response_model=SettingsOut)
async def get_settings(caller: CurrentUser, conn: Conn) -> SettingsOut:
    """Your time tracking settings (the defaults until you change one)."""
    return _settings_out(await time_tracking_queries.settings(conn, caller.id), caller.id)


@router.put("/time-tracking/settings", response_model=SettingsOut, responses=ACCEPTED)
async def update_settings(
    body: SettingsUpdate, caller: CurrentUser, container: ContainerDep, conn: Conn
) -> Any:
    """Change your settings. ``timezone`` is an IANA name; ``auto_stop_duration`` is
    seconds of running time after which a forgotten timer is stopped (with a note)."""
    fields = body.model_dump(exclude_unset=True)
    saved, caught_up = await run_command(
        container, container.time_tracking.update_settings, caller.id, **fields
    )
    row = await time_tracking_queries.settings(conn, caller.id) if caught_up else None
    if row is None:
        pending = Accepted(id=caller.id, position=saved.position).model_dump(mode="json")
        return JSONResponse(
            pending, status_code=202, headers={"Location": "/api/v1/time-tracking/settings"}
        )
    return SettingsOut(**row)
