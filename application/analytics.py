"""Analytics: the dashboard and a project's figures (time tracked, resource utilization and
milestone delivery over a range: ``application.analytics_reports``), over what the caller may
see.

Orchestration only: who may read (``analytics:read``, every role; a workspace or project
outside the caller's workspaces is 404), the caller's time zone (a ``tz`` parameter, else their
time tracking setting, as the time reports use), the range of local days (``from`` <= ``to``,
at most ``MAX_DAYS``: 422 naming the parameter), and shaping what
``projections.analytics_queries`` returns. Time entries follow the time tracking rule: one's
own everywhere, everyone's in the workspaces one manages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from psycopg import AsyncConnection

from application import time_tracking_reports
from application.authorization import Action, authorize
from application.errors import Invalid
from projections import analytics_queries
from projections.time_tracking_reports import day_bounds, hours, iso_week, zone_of

MAX_DAYS = 366  # the longest range of local days a report covers
UPCOMING_DAYS = 14  # the dashboard's upcoming milestones: due within this many days
UPCOMING_LIMIT = 20
TimeGroup = Literal["user", "project", "day", "week"]
Period = Literal["week", "month"]
CENT = Decimal("0.01")


def invalid(name: str, message: str) -> Invalid:
    """A 422 naming the query parameter at fault, shaped like the validation errors."""
    return Invalid(
        f"{name}: {message}",
        errors=[{"field": name, "location": "query", "message": message, "type": "value_error"}],
    )


@dataclass(frozen=True)
class Where:
    """What the caller may look at: workspaces (all roles read analytics), those they manage
    (everyone's time counts there), and their time zone."""

    caller: UUID
    workspaces: list[dict[str, Any]]
    zone_name: str
    now: datetime

    @property
    def zone(self) -> ZoneInfo:
        return zone_of(self.zone_name)

    @property
    def ids(self) -> list[UUID]:
        return [w["workspace_id"] for w in self.workspaces]

    @property
    def managed(self) -> list[UUID]:
        return [
            w["workspace_id"]
            for w in self.workspaces
            if w["role"] in time_tracking_reports.MANAGERS
        ]

    @property
    def today(self) -> date:
        return self.now.astimezone(self.zone).date()

    def params(self) -> dict[str, Any]:
        return {
            "caller": self.caller,
            "ws": self.ids,
            "managed": self.managed,
            "tz": self.zone_name,
            "now": self.now,
            "today": self.today,
        }


@dataclass(frozen=True)
class Range:
    first: date
    last: date

    def bounds(self, zone: ZoneInfo) -> dict[str, Any]:
        """The range as local days and as the UTC instants [since, until)."""
        return {
            "first": self.first,
            "last": self.last,
            "since": day_bounds(self.first, zone)[0],
            "until": day_bounds(self.last, zone)[1],
        }


async def where(
    conn: AsyncConnection,
    caller: UUID,
    now: datetime,
    *,
    tz: str | None,
    workspace_id: UUID | None = None,
) -> Where:
    """The caller's workspaces (one, when ``workspace_id`` is given: 404 outside them) and
    time zone."""
    rows = await analytics_queries.memberships(conn, caller)
    if workspace_id is not None:
        rows = [r for r in rows if r["workspace_id"] == workspace_id]
        authorize(rows[0]["role"] if rows else None, Action.ANALYTICS_READ, what="workspace")
    zone_name = tz or (await time_tracking_reports.zone(conn, caller)).name
    return Where(caller, rows, zone_name, now)


def date_range(
    today: date, date_from: date | None, date_to: date | None, default_days: int
) -> Range:
    """``from``..``to`` (inclusive local days; default: the ``default_days`` up to today, or
    from ``from``), from <= to and at most MAX_DAYS days, else 422."""
    if date_to is not None:
        last = date_to
    elif date_from is None:
        last = today
    else:  # the default span from ``from``, up to today (a ``from`` ahead: that day)
        last = max(date_from, min(date_from + timedelta(days=default_days - 1), today))
    first = date_from or last - timedelta(days=default_days - 1)
    if first > last:
        raise invalid("from", "must not be after 'to'")
    if (last - first).days + 1 > MAX_DAYS:
        raise invalid("to", f"a range covers at most {MAX_DAYS} days")
    return Range(first, last)


def rounded(value: Any) -> float:
    return float(Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP))


def percent(part: int, whole: int) -> float | None:
    return rounded(Decimal(part) * 100 / whole) if whole else None


# Dashboard ---------------------------------------------------------------------------------


async def dashboard(
    conn: AsyncConnection,
    caller: UUID,
    now: datetime,
    *,
    workspace_id: UUID | None,
    tz: str | None,
) -> dict[str, Any]:
    """Over the caller's workspaces (or one): open, done and overdue tasks and cards, overdue
    milestones, hours tracked this week (ISO week of the caller's today), milestones due in
    the next UPCOMING_DAYS days, and people over-allocated this week (active conflicts)."""
    scope = await where(conn, caller, now, tz=tz, workspace_id=workspace_id)
    monday, sunday, label = iso_week(scope.today)
    params = scope.params() | {
        "week_start": day_bounds(monday, scope.zone)[0],
        "week_end": day_bounds(sunday, scope.zone)[1],
        "week_first": monday,
        "week_last": sunday,
        "horizon": scope.today + timedelta(days=UPCOMING_DAYS),
        "limit": UPCOMING_LIMIT,
    }
    found = await analytics_queries.dashboard(conn, params)
    items = found["items"]
    return {
        "workspace_ids": scope.ids,
        "timezone": scope.zone_name,
        "today": scope.today,
        "tasks": {k: items[f"tasks_{k}"] for k in ("open", "done", "overdue")},
        "cards": {k: items[f"cards_{k}"] for k in ("open", "done", "overdue")},
        "milestones_overdue": items["milestones_overdue"],
        "this_week": {
            "week": label,
            "start_date": monday,
            "end_date": sunday,
            "hours": hours(items["week_seconds"]),
            "my_hours": hours(items["week_mine_seconds"]),
        },
        "upcoming_milestones": found["upcoming"],
        "over_allocated": found["over_allocated"],
    }


# Project -----------------------------------------------------------------------------------


async def project(
    conn: AsyncConnection,
    caller: UUID,
    now: datetime,
    project_id: UUID,
    *,
    date_from: date | None,
    date_to: date | None,
    tz: str | None,
) -> dict[str, Any]:
    """A project's figures over a range of local days (default: the last 12 weeks): tasks and
    cards by status, completion, throughput per ISO week, cycle time (created -> done),
    estimated against tracked hours, milestones by status, and the burn-down per day."""
    row = await analytics_queries.project_scope(conn, project_id, caller)
    authorize(row["role"] if row else None, Action.ANALYTICS_READ, what="project")
    assert row is not None
    scope = await where(conn, caller, now, tz=tz, workspace_id=row["workspace_id"])
    span = date_range(scope.today, date_from, date_to, default_days=84)
    params = (
        scope.params()
        | span.bounds(scope.zone)
        | {
            "project": project_id,
            "first_monday": iso_week(span.first)[0],
            "last_monday": iso_week(span.last)[0],
        }
    )
    found = await analytics_queries.project(conn, params)
    by_status = {s: 0 for s in ("todo", "in_progress", "review", "done", "cancelled")}
    by_status |= {r["key"]: r["n"] for r in found["tasks"]}
    cards_done = sum(c["cards"] for c in found["columns"] if c["is_done"])
    cards_total = sum(c["cards"] for c in found["columns"])
    counted = sum(by_status.values()) - by_status["cancelled"] + cards_total
    done = by_status["done"] + cards_done
    cycle = {r["kind"]: r for r in found["cycle_time"]}
    h = found["hours"]
    milestones = {s: 0 for s in ("pending", "in_progress", "completed", "cancelled")}
    milestones |= {r["key"]: r["n"] for r in found["milestones"]}
    return {
        "project_id": project_id,
        "from": span.first,
        "to": span.last,
        "timezone": scope.zone_name,
        "tasks": {"total": sum(by_status.values()), "by_status": by_status},
        "cards": {
            "total": cards_total,
            "open": cards_total - cards_done,
            "done": cards_done,
            "by_column": [
                {k: c[k] for k in ("board_id", "column_id", "name", "is_done", "cards")}
                for c in found["columns"]
            ],
        },
        "completion_percentage": percent(done, counted) or 0.0,
        "throughput": found["throughput"],
        "cycle_time": {f"{kind}s": _cycle(cycle.get(kind)) for kind in ("card", "task")},
        "hours": {
            "estimated": rounded(h["tasks_estimated"] + h["cards_estimated"]),
            "tracked": hours(h["tracked_seconds"]),
            "tracked_in_range": hours(h["range_tracked_seconds"]),
        },
        "milestones": {
            "by_status": milestones,
            "overdue": sum(r["overdue"] for r in found["milestones"]),
            "completed_on_time": sum(r["on_time"] for r in found["milestones"]),
        },
        "burndown": [
            {
                "date": r["day"],
                "remaining": r["remaining"],
                "remaining_hours": rounded(r["remaining_hours"]),
            }
            for r in found["burndown"]
        ],
    }


def _cycle(row: dict[str, Any] | None) -> dict[str, Any]:
    """Cycle time of the items done in the range, in hours (None: none done)."""
    if row is None:
        return {
            "count": 0,
            "average_hours": None,
            "median_hours": None,
            "p85_hours": None,
            "max_hours": None,
        }
    return {
        "count": row["count"],
        **{k: rounded(row[k]) for k in ("average_hours", "median_hours", "p85_hours", "max_hours")},
    }
