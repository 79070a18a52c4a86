"""Resource allocation reads: who may read what, the workspace's time zone and weeks, the
utilization report, the capacity forecast, and the optimizer's inputs.

Every member of a workspace (viewers too) reads its team members, allocations, conflicts,
utilization and forecast; outsiders get 404. A week is an ISO week of the workspace's days:
"this week" is the one holding today in the workspace's time zone (``settings.timezone``,
else UTC), and tracked time counts in the week of the local day it was tracked.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any
from uuid import UUID
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from psycopg import AsyncConnection

from application.authorization import Action, authorize
from application.errors import NotFound
from application.resources import invalid
from application.resources_optimizer import Demand, Person
from domain.resources_capacity import (
    Booking,
    Capacity,
    hours,
    monday_of,
    mondays,
    percent,
    zone_name,
)
from projections import resources_queries

MAX_REPORT_DAYS = 371  # a utilization report spans at most 53 weeks


@dataclass(frozen=True)
class Scope:
    workspace_id: UUID
    role: str
    zone: str

    def today(self, now: datetime) -> date:
        return now.astimezone(ZoneInfo(self.zone)).date()


async def scope(conn: AsyncConnection, workspace_id: UUID, caller: UUID, action: Action) -> Scope:
    """The caller's role in the workspace (404 outsiders, 403 a role without ``action``)."""
    row = await resources_queries.workspace_access(conn, workspace_id, caller)
    role = row["role"] if row else None
    authorize(role, action, what="workspace")
    return Scope(workspace_id, role, zone_name(row["settings"]))  # type: ignore[index]


def readable(row: dict[str, Any] | None, what: str) -> dict[str, Any]:
    """A row found by id, if the caller is a member of its workspace."""
    if row is None:
        raise NotFound(f"{what} not found")
    authorize(row["caller_role"], Action.RESOURCES_READ, what=what)
    return row


def capacity_of(member: dict[str, Any]) -> Capacity:
    return Capacity.from_member(member)


def _float(value: Fraction | Decimal) -> float:
    return float(hours(value) if isinstance(value, Fraction) else value)


def _figures(capacity: Fraction, allocated: Fraction, actual: Fraction) -> dict[str, Any]:
    return {
        "capacity": _float(capacity),
        "allocated": _float(allocated),
        "actual": _float(actual),
        "utilization_percentage": float(percent(allocated, capacity)),
        "efficiency_score": float(percent(actual, allocated)) if allocated > 0 else None,
    }


async def utilization(
    conn: AsyncConnection,
    workspace_id: UUID,
    caller: UUID,
    *,
    now: datetime,
    user_id: UUID | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> dict[str, Any]:
    """Per team member and week (``utilization_metrics``, kept by the resources_workload
    policy): capacity, allocated and tracked hours, utilization and efficiency, and their
    sums over the period. The period is whole weeks: ``from`` goes back to its Monday and
    ``to`` on to its Sunday (default: the last four weeks and this one)."""
    where = await scope(conn, workspace_id, caller, Action.RESOURCES_READ)
    today = where.today(now)
    last = date_to or today
    first = date_from or monday_of(today) - timedelta(days=28)
    if last < first:
        raise invalid("to", "must not be before from")
    weeks = mondays(first, last)
    if len(weeks) * 7 > MAX_REPORT_DAYS:
        raise invalid("to", "a report spans at most 53 weeks")
    first, last = weeks[0], weeks[-1] + timedelta(days=6)
    members = await resources_queries.all_team_members(conn, workspace_id)
    if user_id is not None:
        members = [m for m in members if m["user_id"] == user_id]
    rows = await resources_queries.utilization_weeks(conn, workspace_id, first, last, user_id)
    recorded: dict[tuple[UUID, date], dict[str, Any]] = {
        (r["user_id"], r["period_start"]): r for r in rows
    }
    users, grand = [], [Fraction(0), Fraction(0), Fraction(0)]
    for member in sorted(members, key=lambda m: (m["name"], str(m["user_id"]))):
        capacity = capacity_of(member)
        sums = [Fraction(0), Fraction(0), Fraction(0)]
        out_weeks = []
        for monday in weeks:
            row = recorded.get((member["user_id"], monday))
            if row is not None:
                values = [
                    Fraction(str(row[k]))
                    for k in ("total_capacity", "allocated_hours", "actual_hours")
                ]
            else:
                values = [capacity.week(monday), Fraction(0), Fraction(0)]
            sums = [a + b for a, b in zip(sums, values, strict=True)]
            out_weeks.append(
                {
                    "period_start": monday,
                    "period_end": monday + timedelta(days=6),
                    **_figures(*values),
                }
            )
        grand = [a + b for a, b in zip(grand, sums, strict=True)]
        users.append(
            {
                "user_id": member["user_id"],
                "name": member["name"],
                **_figures(*sums),
                "weeks": out_weeks,
            }
        )
    return {
        "from": first,
        "to": last,
        "timezone": where.zone,
        "users": users,
        "totals": _figures(*grand),
    }


async def forecast(
    conn: AsyncConnection,
    workspace_id: UUID,
    caller: UUID,
    *,
    now: datetime,
    weeks: int = 12,
    start_date: date | None = None,
) -> dict[str, Any]:
    """The next ``weeks`` weeks from this one (or from ``start_date``'s): per active team
    member and per skill (members with that skill), capacity, allocated, free and over."""
    where = await scope(conn, workspace_id, caller, Action.RESOURCES_READ)
    first = monday_of(start_date or where.today(now))
    horizon = [first + timedelta(days=7 * i) for i in range(weeks)]
    last = horizon[-1] + timedelta(days=6)
    members = [
        m for m in await resources_queries.all_team_members(conn, workspace_id) if m["is_active"]
    ]
    allocations = await resources_queries.allocations_between(conn, workspace_id, first, last)
    booked: dict[UUID, list[Booking]] = defaultdict(list)
    for a in allocations:
        booked[a["user_id"]].append(
            Booking.of(a["id"], a["hours_per_week"], a["start_date"], a["end_date"])
        )
    people = []
    by_skill: dict[str, list[list[Fraction]]] = {}
    members_with: dict[str, int] = defaultdict(int)
    for member in sorted(members, key=lambda m: (m["name"], str(m["user_id"]))):
        capacity = capacity_of(member)
        rows = []
        for i, monday in enumerate(horizon):
            cap = capacity.week(monday)
            alloc = sum((b.week(monday) for b in booked[member["user_id"]]), Fraction(0))
            rows.append((monday, cap, alloc))
            for skill in member["skills"] or []:
                sums = by_skill.setdefault(skill, [[Fraction(0)] * 2 for _ in horizon])
                sums[i][0] += cap
                sums[i][1] += alloc
        for skill in member["skills"] or []:
            members_with[skill] += 1
        people.append(
            {
                "user_id": member["user_id"],
                "name": member["name"],
                "skills": member["skills"] or [],
                "weeks": [_forecast_week(m, c, a) for m, c, a in rows],
            }
        )
    skills = [
        {
            "skill": skill,
            "members": members_with[skill],
            "weeks": [_forecast_week(m, c, a) for m, (c, a) in zip(horizon, sums, strict=True)],
        }
        for skill, sums in sorted(by_skill.items())
    ]
    return {
        "start_date": first,
        "weeks": weeks,
        "timezone": where.zone,
        "people": people,
        "skills": skills,
    }


def _forecast_week(monday: date, capacity: Fraction, allocated: Fraction) -> dict[str, Any]:
    return {
        "week_start": monday,
        "capacity": _float(capacity),
        "allocated": _float(allocated),
        "free": _float(max(Fraction(0), capacity - allocated)),
        "over": _float(max(Fraction(0), allocated - capacity)),
    }


async def optimizer_inputs(
    conn: AsyncConnection,
    workspace_id: UUID,
    caller: UUID,
    *,
    now: datetime,
    weeks: int,
    start_date: date | None,
) -> tuple[list[Person], list[Demand], date, date]:
    """The team, the allocations and the window (whole weeks) of an optimization
    (managers only: it may end in a bulk change)."""
    where = await scope(conn, workspace_id, caller, Action.RESOURCES_MANAGE)
    first = monday_of(start_date or where.today(now))
    last = first + timedelta(days=7 * weeks - 1)
    members = await resources_queries.all_team_members(conn, workspace_id)
    people = [
        Person(
            user_id=str(m["user_id"]),
            capacity=capacity_of(m),
            skills=frozenset(m["skills"] or []),
            active=m["is_active"],
        )
        for m in members
    ]
    demands = [
        Demand(
            id=str(a["id"]),
            user_id=str(a["user_id"]),
            project_id=str(a["project_id"]),
            hours=Decimal(a["hours_per_week"]),
            start=a["start_date"],
            end=a["end_date"],
            role=a["role"],
            required_skills=tuple(a["required_skills"] or []),
            version=a["version"],
        )
        for a in await resources_queries.allocations_between(conn, workspace_id, first, last)
    ]
    return people, demands, first, last
