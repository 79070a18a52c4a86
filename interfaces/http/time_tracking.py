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

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import Header, Query, Response, status
from fastapi.responses import JSONResponse

from application import time_tracking_reports
from application.adapters.store import Saved
from application.time_tracking_reports import MANAGERS, GroupBy, Scope
from interfaces.http.deps import Conn, ContainerDep, CurrentUser, IfMatch, run_command
from interfaces.http.idempotency import CommandRoute
from interfaces.http.pagination import Page, PageQuery, decode_time_id_cursor, paginate
from interfaces.http.routers import ContextRouter
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
    entry_out,
    settings_out,
)
from projections import time_tracking_queries

router = ContextRouter(tags=["time tracking"], route_class=CommandRoute)


def _entry_response(
    row: dict[str, Any] | None, ident: UUID, position: int | None, response: Response, now: datetime
) -> Any:
    if row is None:
        return accepted("time-entries", ident, position)
    set_etag(response, row["version"])
    return entry_out(row, now)


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
    filters = await time_tracking_reports.entry_filters(
        conn,
        caller.id,
        user_id=user_id,
        scope=scope,
        project_id=project_id,
        date_from=date_from,
        date_to=date_to,
        task_id=task_id,
        is_billable=billable,
        tags=tags,
        is_running=running,
    )
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
    return Page[TimeEntryOut](data=[entry_out(r, now) for r in data], next_cursor=cursor)


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
    saved, caught_up = await run_command(
        container,
        lambda: container.time_tracking.record(
            user_id=caller.id,
            project_id=body.project_id,
            start_time=body.start_time,
            end_time=body.end_time,
            task_id=body.task_id,
            description=body.description,
            is_billable=body.is_billable,
            hourly_rate=body.hourly_rate,
            tags=body.tags,
        ),
    )
    row = await time_tracking_queries.entry(conn, saved.value, caller.id) if caught_up else None
    response.headers["Location"] = f"/api/v1/time-entries/{saved.value}"
    return _entry_response(
        row, saved.value, saved.position, response, container.time_tracking.now()
    )


@router.get("/time-entries/{entry_id}", response_model=TimeEntryOut)
async def get_entry(
    entry_id: UUID, caller: CurrentUser, container: ContainerDep, conn: Conn, response: Response
) -> TimeEntryOut:
    row = await time_tracking_reports.readable_entry(conn, entry_id, caller.id)
    set_etag(response, row["version"])
    return entry_out(row, container.time_tracking.now())


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
        container,
        lambda: container.time_tracking.update(
            entry_id=entry_id, actor_id=caller.id, expected=expected, **fields
        ),
    )
    row = await time_tracking_queries.entry(conn, entry_id, caller.id) if caught_up else None
    return _entry_response(row, entry_id, saved.position, response, container.time_tracking.now())


@router.delete("/time-entries/{entry_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_entry(
    entry_id: UUID, caller: CurrentUser, container: ContainerDep, expected: IfMatch
) -> Response:
    await run_command(
        container,
        lambda: container.time_tracking.delete(
            entry_id=entry_id, actor_id=caller.id, expected=expected
        ),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# The timer ------------------------------------------------------------------------------------


async def _timer_response(
    container: ContainerDep,
    conn: Conn,
    caller: UUID,
    command: Callable[[], Saved],
    response: Response,
) -> Any:
    saved, caught_up = await run_command(container, command)
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
    saved, caught_up = await run_command(
        container,
        lambda: container.time_tracking.start(
            user_id=caller.id,
            project_id=body.project_id,
            task_id=body.task_id,
            description=body.description,
            is_billable=body.is_billable,
            hourly_rate=body.hourly_rate,
            tags=body.tags,
        ),
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
    return await _timer_response(
        container,
        conn,
        caller.id,
        lambda: container.time_tracking.stop(user_id=caller.id),
        response,
    )


@router.put("/time-tracking/pause", response_model=TimeEntryOut, responses=ACCEPTED)
async def pause_timer(
    caller: CurrentUser, container: ContainerDep, conn: Conn, response: Response
) -> Any:
    """Pause your running timer (409 ``timer-auto-stopped`` if it had passed its limit)."""
    return await _timer_response(
        container,
        conn,
        caller.id,
        lambda: container.time_tracking.pause(user_id=caller.id),
        response,
    )


@router.put("/time-tracking/resume", response_model=TimeEntryOut, responses=ACCEPTED)
async def resume_timer(
    caller: CurrentUser, container: ContainerDep, conn: Conn, response: Response
) -> Any:
    return await _timer_response(
        container,
        conn,
        caller.id,
        lambda: container.time_tracking.resume(user_id=caller.id),
        response,
    )


@router.get("/time-tracking/active", response_model=TimeEntryOut | None)
async def active_timer(caller: CurrentUser, container: ContainerDep, conn: Conn) -> Any:
    """Your open timer (running or paused), or null."""
    row = await time_tracking_queries.active_timer(conn, caller.id)
    return entry_out(row, container.time_tracking.now()) if row else None


# Summaries and reports --------------------------------------------------------------------------


@router.get("/time-tracking/today", response_model=DayOut)
async def today(caller: CurrentUser, container: ContainerDep, conn: Conn) -> DayOut:
    """Your time today (a day in your time zone), the running timer up to now."""
    now = container.time_tracking.now()
    day = await time_tracking_reports.today(conn, caller.id, now)
    entries = [entry_out(r, now) for r in day.rows]
    return DayOut(
        date=day.date,
        timezone=day.timezone,
        start=day.start,
        end=day.end,
        totals=day.totals,
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
    found = await time_tracking_reports.week(conn, caller.id, container.time_tracking.now(), day)
    return WeekOut(
        week=found.week,
        start_date=found.start_date,
        end_date=found.end_date,
        timezone=found.timezone,
        totals=found.totals,
        days=found.days,
    )


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
    found = await time_tracking_reports.report(
        conn,
        caller.id,
        container.time_tracking.now(),
        date_from=date_from,
        date_to=date_to,
        group_by=group_by,
        user_id=user_id,
        scope=scope,
        project_id=project_id,
        task_id=task_id,
        is_billable=billable,
        tags=tags,
    )
    if accept and "text/csv" in accept:
        return Response(
            found.csv(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{found.filename}"'},
        )
    return ReportOut(
        from_date=found.from_date,
        to_date=found.to_date,
        timezone=found.timezone,
        group_by=found.group_by,
        totals=found.totals,
        groups=found.groups,
    )


# Settings -------------------------------------------------------------------------------------


# name: keeps the published operationId; the function does not shadow config.get_settings
@router.get("/time-tracking/settings", response_model=SettingsOut, name="get_settings")
async def read_settings(caller: CurrentUser, conn: Conn) -> SettingsOut:
    """Your time tracking settings (the defaults until you change one)."""
    return settings_out(await time_tracking_queries.settings(conn, caller.id), caller.id)


@router.put("/time-tracking/settings", response_model=SettingsOut, responses=ACCEPTED)
async def update_settings(
    body: SettingsUpdate, caller: CurrentUser, container: ContainerDep, conn: Conn
) -> Any:
    """Change your settings. ``timezone`` is an IANA name; ``auto_stop_duration`` is
    seconds of running time after which a forgotten timer is stopped (with a note)."""
    fields = body.model_dump(exclude_unset=True)
    saved, caught_up = await run_command(
        container, lambda: container.time_tracking.update_settings(user_id=caller.id, **fields)
    )
    row = await time_tracking_queries.settings(conn, caller.id) if caught_up else None
    if row is None:
        pending = Accepted(id=caller.id, position=saved.position).model_dump(mode="json")
        return JSONResponse(
            pending, status_code=202, headers={"Location": "/api/v1/time-tracking/settings"}
        )
    return SettingsOut(**row)
