"""Time tracking reads: who may see an entry, the reader's time zone, the UTC bounds of their
local days, and the day, week and range reports over the read model (rows of
``projections.time_tracking_queries``, summed by ``projections.time_tracking_reports``), with
the CSV form of a report.

The HTTP layer only turns what these return into its response models; ``now`` is the
server's clock (``TimeTrackingService.now``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from psycopg import AsyncConnection

from application.authorization import POLICY, Action, allowed
from application.errors import Forbidden, Invalid, NotFound
from domain.time_tracking import SETTINGS_DEFAULTS
from projections import time_tracking_queries, time_tracking_reports

MANAGERS = sorted(POLICY[Action.TIME_TRACKING_MANAGE])
MAX_REPORT_DAYS = 366
GroupBy = Literal["project", "task", "user", "tag", "day"]
Scope = Literal["mine", "all"]

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


@dataclass(frozen=True)
class Zone:
    name: str  # the IANA name in the reader's settings
    zone: ZoneInfo


@dataclass(frozen=True)
class Day:
    date: date
    timezone: str
    start: datetime
    end: datetime
    totals: dict[str, Any]
    rows: list[dict[str, Any]]


@dataclass(frozen=True)
class Week:
    week: str
    start_date: date
    end_date: date
    timezone: str
    totals: dict[str, Any]
    days: list[dict[str, Any]]


@dataclass(frozen=True)
class Report:
    from_date: date
    to_date: date
    timezone: str
    group_by: str
    totals: dict[str, Any]
    groups: list[dict[str, Any]]

    @property
    def filename(self) -> str:
        return f"time-report-{self.from_date.isoformat()}-{self.to_date.isoformat()}.csv"

    def csv(self) -> str:
        """The groups and a total row; text cells starting a formula are neutralized."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([self.group_by if c == "key" else c for c in CSV_COLUMNS])
        for group in self.groups:
            writer.writerow([_cell(group[c]) for c in CSV_COLUMNS])
        totals = {"key": "", "label": "Total", **self.totals}
        writer.writerow([totals[c] for c in CSV_COLUMNS])
        return out.getvalue()


def _cell(value: Any) -> Any:
    """Neutralize spreadsheet formulas in text cells (CSV injection)."""
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + value
    return value


async def zone(conn: AsyncConnection, user_id: UUID) -> Zone:
    """The user's time zone (their setting, else the default)."""
    row = await time_tracking_queries.settings(conn, user_id)
    name = row["timezone"] if row else SETTINGS_DEFAULTS["timezone"]
    return Zone(name, time_tracking_reports.zone_of(name))


async def check_project(conn: AsyncConnection, project_id: UUID | None, user_id: UUID) -> None:
    if project_id is not None and not await time_tracking_queries.project_visible(
        conn, project_id, user_id
    ):
        raise NotFound("project not found")


async def readable_entry(conn: AsyncConnection, entry_id: UUID, caller: UUID) -> dict[str, Any]:
    """An entry's row, if the caller may see it: their own (their role must allow reading
    time), or anyone's in a workspace they manage (403 otherwise)."""
    row = await time_tracking_queries.entry(conn, entry_id, caller)
    if row is None:
        raise NotFound("time entry not found")
    action = Action.TIME_TRACKING_READ if row["user_id"] == caller else Action.TIME_TRACKING_MANAGE
    if not allowed(row["role"], action):
        raise Forbidden(f"your role '{row['role']}' may not see other members' time entries")
    return row


def whose(caller: UUID, user_id: UUID | None, scope: Scope) -> UUID | None:
    """Whose entries: a given user's, the caller's own (scope=mine), or all visible ones."""
    if user_id is not None:
        return user_id
    return caller if scope == "mine" else None


async def entry_filters(
    conn: AsyncConnection,
    caller: UUID,
    *,
    user_id: UUID | None,
    scope: Scope,
    project_id: UUID | None,
    date_from: date | None,
    date_to: date | None,
    **filters: Any,
) -> dict[str, Any]:
    """The filters of an entry listing; dates are local days of the caller (inclusive)."""
    await check_project(conn, project_id, caller)
    local = (await zone(conn, caller)).zone
    return {
        "user_id": whose(caller, user_id, scope),
        "project_id": project_id,
        **filters,
        "since": time_tracking_reports.day_bounds(date_from, local)[0] if date_from else None,
        "until": time_tracking_reports.day_bounds(date_to, local)[1] if date_to else None,
    }


async def today(conn: AsyncConnection, caller: UUID, now: datetime) -> Day:
    """The caller's time today (a day in their time zone), the running timer up to now."""
    where = await zone(conn, caller)
    day = time_tracking_reports.local_date(now, where.zone)
    start, end = time_tracking_reports.day_bounds(day, where.zone)
    rows = await time_tracking_queries.report_rows(
        conn, caller, MANAGERS, {"user_id": caller, "since": start, "until": end}
    )
    summary = time_tracking_reports.report(
        rows, group_by="project", days=[day], zone=where.zone, now=now
    )
    return Day(day, where.name, start, end, summary["totals"], rows)


async def week(conn: AsyncConnection, caller: UUID, now: datetime, day: date | None) -> Week:
    """The caller's time per day over the ISO week of ``day`` (default: today)."""
    where = await zone(conn, caller)
    monday, sunday, label = time_tracking_reports.iso_week(
        day or time_tracking_reports.local_date(now, where.zone)
    )
    filters = {
        "user_id": caller,
        "since": time_tracking_reports.day_bounds(monday, where.zone)[0],
        "until": time_tracking_reports.day_bounds(sunday, where.zone)[1],
    }
    rows = await time_tracking_queries.report_rows(conn, caller, MANAGERS, filters)
    days = time_tracking_reports.days_between(monday, sunday)
    summary = time_tracking_reports.report(
        rows, group_by="day", days=days, zone=where.zone, now=now
    )
    return Week(label, monday, sunday, where.name, summary["totals"], summary["groups"])


async def report(
    conn: AsyncConnection,
    caller: UUID,
    now: datetime,
    *,
    date_from: date | None,
    date_to: date | None,
    group_by: GroupBy,
    user_id: UUID | None,
    scope: Scope,
    project_id: UUID | None,
    **filters: Any,
) -> Report:
    """Time over a range of local days (default: the month so far), grouped by ``group_by``;
    422 for a range backwards or longer than MAX_REPORT_DAYS."""
    await check_project(conn, project_id, caller)
    where = await zone(conn, caller)
    last = date_to or time_tracking_reports.local_date(now, where.zone)
    first = date_from or last.replace(day=1)
    if first > last:
        raise Invalid("'from' must not be after 'to'")
    if last - first >= timedelta(days=MAX_REPORT_DAYS):
        raise Invalid(f"a report covers at most {MAX_REPORT_DAYS} days")
    where_rows = {
        "user_id": whose(caller, user_id, scope),
        "project_id": project_id,
        **filters,
        "since": time_tracking_reports.day_bounds(first, where.zone)[0],
        "until": time_tracking_reports.day_bounds(last, where.zone)[1],
    }
    rows = await time_tracking_queries.report_rows(conn, caller, MANAGERS, where_rows)
    days = time_tracking_reports.days_between(first, last)
    summary = time_tracking_reports.report(
        rows, group_by=group_by, days=days, zone=where.zone, now=now
    )
    return Report(first, last, where.name, group_by, summary["totals"], summary["groups"])
