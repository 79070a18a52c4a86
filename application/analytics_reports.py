"""Analytics reports over a range: time tracked (by user, project, day or ISO week), resource
utilization (per workspace, person and week) and milestone delivery. Scope, time zone and
range rules are those of ``application.analytics``."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:
    from psycopg import AsyncConnection

from application import resources_reports
from application.analytics import (
    Period,
    Range,
    TimeGroup,
    date_range,
    invalid,
    percent,
    rounded,
    where,
)
from application.authorization import Action, authorize
from projections import analytics_queries
from projections.time_tracking_reports import days_between, hours, iso_week


async def _project_workspace(
    conn: AsyncConnection, caller: UUID, project_id: UUID | None, workspace_id: UUID | None
) -> UUID | None:
    """The workspace to look at: a visible project's (404 otherwise; 422 when it is not in
    the ``workspace_id`` also given), else ``workspace_id``."""
    if project_id is None:
        return workspace_id
    row = await analytics_queries.project_scope(conn, project_id, caller)
    authorize(row["role"] if row else None, Action.ANALYTICS_READ, what="project")
    assert row is not None
    if workspace_id is not None and workspace_id != row["workspace_id"]:
        raise invalid("project_id", "not a project of that workspace")
    return row["workspace_id"]


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
    workspace_id = await _project_workspace(conn, caller, project_id, workspace_id)
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
        "amount": rounded(amount),
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
    workspace_id = await _project_workspace(conn, caller, project_id, workspace_id)
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
        "on_time_rate": percent(on_time, completed),
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
