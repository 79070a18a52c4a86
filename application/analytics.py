"""Analytics: the dashboard, a project's figures, time tracked, resource utilization and
milestone delivery, over what the caller may see.

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

from application import resources_reports, time_tracking_reports
from application.authorization import Action, authorize
from application.errors import Invalid
from projections import analytics_queries
from projections.time_tracking_reports import day_bounds, days_between, hours, iso_week, zone_of

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
    """``from``..``to`` (inclusive local days; default: the ``default_days`` up to today),
    from <= to and at most MAX_DAYS days, else 422."""
    last = date_to or (
        today if date_from is None else min(date_from + timedelta(days=default_days - 1), today)
    )
    first = date_from or last - timedelta(days=default_days - 1)
    if first > last:
        raise invalid("from", "must not be after 'to'")
    if (last - first).days + 1 > MAX_DAYS:
        raise invalid("to", f"a range covers at most {MAX_DAYS} days")
    return Range(first, last)


def _float(value: Any) -> float:
    return float(Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP))


def _percent(part: int, whole: int) -> float | None:
    return _float(Decimal(part) * 100 / whole) if whole else None


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
        "completion_percentage": _percent(done, counted) or 0.0,
        "throughput": found["throughput"],
        "cycle_time": {f"{kind}s": _cycle(cycle.get(kind)) for kind in ("card", "task")},
        "hours": {
            "estimated": _float(h["tasks_estimated"] + h["cards_estimated"]),
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
                "remaining_hours": _float(r["remaining_hours"]),
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
        **{k: _float(row[k]) for k in ("average_hours", "median_hours", "p85_hours", "max_hours")},
    }


# Time tracking -----------------------------------------------------------------------------


async def time_tracking(
    conn: AsyncConnection,
    caller: UUID,
    now: datetime,
    *,
    group_by: TimeGroup,
    date_from: date | None,
    date_to: date | None,
    workspace_id: UUID | None,
    project_id: UUID | None,
    user_id: UUID | None,
    tz: str | None,
) -> dict[str, Any]:
    """Recorded hours, billable hours and amounts over a range of local days (default: the
    last 30), grouped by user, project, day or ISO week; an entry counts in the day it
    started. Days and weeks without time are listed with zeros."""
    if project_id is not None:
        row = await analytics_queries.project_scope(conn, project_id, caller)
        authorize(row["role"] if row else None, Action.ANALYTICS_READ, what="project")
        assert row is not None
        if workspace_id is not None and workspace_id != row["workspace_id"]:
            raise invalid("project_id", "not a project of that workspace")
        workspace_id = row["workspace_id"]
    scope = await where(conn, caller, now, tz=tz, workspace_id=workspace_id)
    span = date_range(scope.today, date_from, date_to, default_days=30)
    params = (
        scope.params() | span.bounds(scope.zone) | {"project_id": project_id, "user_id": user_id}
    )
    rows = await analytics_queries.time_groups(conn, group_by, params)
    groups = {r["key"]: r for r in rows}
    if group_by == "day":
        keys = [d.isoformat() for d in days_between(span.first, span.last)]
    elif group_by == "week":
        keys = [
            d.isoformat()
            for d in days_between(iso_week(span.first)[0], span.last)
            if d.weekday() == 0
        ]
    else:
        keys = sorted(groups, key=lambda k: (-groups[k]["total_seconds"], groups[k]["label"] or ""))
    totals = [0, 0, Decimal(0), 0]
    listed = []
    for key in keys:
        r = groups.get(key) or {
            "label": key,
            "total_seconds": 0,
            "billable_seconds": 0,
            "amount": Decimal(0),
            "unrated_billable_seconds": 0,
        }
        figures = (
            r["total_seconds"],
            r["billable_seconds"],
            Decimal(r["amount"]),
            r["unrated_billable_seconds"],
        )
        totals = [a + b for a, b in zip(totals, figures, strict=True)]
        label = r["label"] if r["label"] is not None else "(deleted)"
        if group_by == "week":
            label = iso_week(date.fromisoformat(key))[2]
        listed.append({"key": key, "label": label, **_time_figures(*figures)})
    return {
        "from": span.first,
        "to": span.last,
        "timezone": scope.zone_name,
        "group_by": group_by,
        "totals": _time_figures(*totals),
        "groups": listed,
    }


def _time_figures(seconds: int, billable: int, amount: Decimal, unrated: int) -> dict[str, Any]:
    return {
        "total_seconds": seconds,
        "total_hours": hours(seconds),
        "billable_seconds": billable,
        "billable_hours": hours(billable),
        "amount": _float(amount),
        "unrated_billable_seconds": unrated,
    }


# Resource utilization ----------------------------------------------------------------------


async def resource_utilization(
    conn: AsyncConnection,
    caller: UUID,
    now: datetime,
    *,
    workspace_id: UUID | None,
    user_id: UUID | None,
    date_from: date | None,
    date_to: date | None,
) -> dict[str, Any]:
    """Per workspace (the caller's, or one), person and ISO week: capacity, allocated and
    tracked hours (the resources context's utilization report; weeks are the workspace's,
    in its time zone, as capacity is)."""
    scope = await where(conn, caller, now, tz=None, workspace_id=workspace_id)
    span = date_range(scope.today, date_from, date_to, default_days=35)
    reports = []
    for w in scope.workspaces:
        report = await resources_reports.utilization(
            conn,
            w["workspace_id"],
            caller,
            now=now,
            user_id=user_id,
            date_from=span.first,
            date_to=span.last,
        )
        if workspace_id is None and not report["users"]:
            continue
        reports.append({"workspace_id": w["workspace_id"], "name": w["name"], **report})
    return {"workspaces": reports}


# Milestones --------------------------------------------------------------------------------


async def milestones(
    conn: AsyncConnection,
    caller: UUID,
    now: datetime,
    *,
    period: Period,
    date_from: date | None,
    date_to: date | None,
    workspace_id: UUID | None,
    project_id: UUID | None,
    tz: str | None,
) -> dict[str, Any]:
    """Milestone delivery over a range of local days (default: the last 12 weeks): those
    completed per week or month (on time: completed on or before the due date, in the
    caller's time zone), the on-time rate, those due in the range and whether they were met,
    and those overdue today (not completed or cancelled, due before today)."""
    if project_id is not None:
        row = await analytics_queries.project_scope(conn, project_id, caller)
        authorize(row["role"] if row else None, Action.ANALYTICS_READ, what="project")
        assert row is not None
        if workspace_id is not None and workspace_id != row["workspace_id"]:
            raise invalid("project_id", "not a project of that workspace")
        workspace_id = row["workspace_id"]
    scope = await where(conn, caller, now, tz=tz, workspace_id=workspace_id)
    span = date_range(scope.today, date_from, date_to, default_days=84)
    params = scope.params() | span.bounds(scope.zone) | {"period": period, "project_id": project_id}
    found = await analytics_queries.milestones(conn, params)
    recorded = {r["period_start"]: r for r in found["periods"]}
    periods = []
    for start in _period_starts(span, period):
        r = recorded.get(start, {"completed": 0, "on_time": 0})
        periods.append(
            {
                "period_start": start,
                "completed": r["completed"],
                "on_time": r["on_time"],
                "late": r["completed"] - r["on_time"],
            }
        )
    completed = sum(p["completed"] for p in periods)
    on_time = sum(p["on_time"] for p in periods)
    due = found["due"]
    return {
        "from": span.first,
        "to": span.last,
        "timezone": scope.zone_name,
        "period": period,
        "completed": completed,
        "completed_on_time": on_time,
        "on_time_rate": _percent(on_time, completed),
        "due_in_range": {"due": due["due"], "met": due["met"], "cancelled": due["cancelled"]},
        "periods": periods,
        "overdue_count": len(found["overdue"]),
        "overdue": found["overdue"],
    }


def _period_starts(span: Range, period: Period) -> list[date]:
    if period == "week":
        monday = iso_week(span.first)[0]
        return [monday + timedelta(days=7 * i) for i in range((span.last - monday).days // 7 + 1)]
    starts, month = [], span.first.replace(day=1)
    while month <= span.last:
        starts.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return starts
