"""Queries over the resource allocation read model. Each one that finds a row by its id joins
the caller's membership and returns their role there (the application decides what that role
may do); lists are of one workspace, whose access the caller checked first."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from projections.queries import fetch_all, fetch_one

MEMBER_COLUMNS = (
    "t.id, t.user_id, t.workspace_id, t.role, t.skills, t.capacity, t.hourly_rate,"
    " t.availability, t.is_active, t.version, t.created_at, t.updated_at, u.name, u.email"
)
ALLOCATION_COLUMNS = (
    "a.id, a.user_id, a.project_id, a.workspace_id, a.role, a.hours_per_week, a.start_date,"
    " a.end_date, a.required_skills, a.created_by, a.version, a.created_at, a.updated_at"
)
CONFLICT_COLUMNS = (
    "c.id, c.user_id, c.workspace_id, c.conflicting_allocations, c.overallocation_percentage,"
    " c.over_hours, c.start_date, c.end_date, c.status::text AS status, c.resolved_by,"
    " c.resolved_at, c.resolution_details, c.detected_at, c.updated_at, c.version"
)
CALLER = "JOIN workspace_members m ON m.workspace_id = {}.workspace_id AND m.user_id = %(caller)s"


async def workspace_access(
    conn: AsyncConnection, workspace_id: UUID, caller: UUID
) -> dict[str, Any] | None:
    """The caller's role in a workspace and the workspace's settings (its time zone)."""
    return await fetch_one(
        conn,
        "SELECT m.role::text AS role, w.settings FROM workspace_members m JOIN workspaces w"
        " ON w.id = m.workspace_id WHERE m.workspace_id = %(ws)s AND m.user_id = %(caller)s",
        {"ws": workspace_id, "caller": caller},
    )


# Team members --------------------------------------------------------------------------------


async def team_member(conn: AsyncConnection, member_id: UUID, caller: UUID) -> dict | None:
    return await fetch_one(
        conn,
        f"SELECT {MEMBER_COLUMNS}, m.role::text AS caller_role FROM team_members t"
        f" JOIN users u ON u.id = t.user_id {CALLER.format('t')} WHERE t.id = %(id)s",
        {"id": member_id, "caller": caller},
    )


async def list_team_members(
    conn: AsyncConnection,
    workspace_id: UUID,
    *,
    active: bool | None = None,
    skill: str | None = None,
    limit: int,
    after: tuple[datetime, UUID] | None = None,
) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"ws": workspace_id, "limit": limit}
    where = ""
    if active is not None:
        where += " AND t.is_active = %(active)s"
        params["active"] = active
    if skill is not None:
        where += " AND %(skill)s = ANY(t.skills)"
        params["skill"] = skill.strip().lower()
    if after is not None:
        where += " AND (t.created_at, t.id) > (%(at)s, %(after)s)"
        params["at"], params["after"] = after
    return await fetch_all(
        conn,
        f"SELECT {MEMBER_COLUMNS} FROM team_members t JOIN users u ON u.id = t.user_id"
        f" WHERE t.workspace_id = %(ws)s{where} ORDER BY t.created_at, t.id LIMIT %(limit)s",
        params,
    )


async def all_team_members(conn: AsyncConnection, workspace_id: UUID) -> list[dict[str, Any]]:
    return await fetch_all(
        conn,
        f"SELECT {MEMBER_COLUMNS} FROM team_members t JOIN users u ON u.id = t.user_id"
        " WHERE t.workspace_id = %(ws)s ORDER BY t.user_id",
        {"ws": workspace_id},
    )


# Allocations ---------------------------------------------------------------------------------


async def allocation(conn: AsyncConnection, allocation_id: UUID, caller: UUID) -> dict | None:
    return await fetch_one(
        conn,
        f"SELECT {ALLOCATION_COLUMNS}, m.role::text AS caller_role FROM resource_allocations a"
        f" {CALLER.format('a')} WHERE a.id = %(id)s",
        {"id": allocation_id, "caller": caller},
    )


def _overlapping(params: dict[str, Any], date_from: date | None, date_to: date | None) -> str:
    where = ""
    if date_from is not None:
        where += " AND a.end_date >= %(from)s"
        params["from"] = date_from
    if date_to is not None:
        where += " AND a.start_date <= %(to)s"
        params["to"] = date_to
    return where


async def list_allocations(
    conn: AsyncConnection,
    workspace_id: UUID,
    *,
    user_id: UUID | None = None,
    project_id: UUID | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: int,
    after: tuple[datetime, UUID] | None = None,
) -> list[dict[str, Any]]:
    """Allocations overlapping [date_from, date_to], oldest first (keyset on created_at, id)."""
    params: dict[str, Any] = {"ws": workspace_id, "limit": limit}
    where = _overlapping(params, date_from, date_to)
    for name, value in (("user_id", user_id), ("project_id", project_id)):
        if value is not None:
            where += f" AND a.{name} = %({name})s"
            params[name] = value
    if after is not None:
        where += " AND (a.created_at, a.id) > (%(at)s, %(after)s)"
        params["at"], params["after"] = after
    return await fetch_all(
        conn,
        f"SELECT {ALLOCATION_COLUMNS} FROM resource_allocations a WHERE a.workspace_id = %(ws)s"
        f"{where} ORDER BY a.created_at, a.id LIMIT %(limit)s",
        params,
    )


async def allocations_between(
    conn: AsyncConnection, workspace_id: UUID, date_from: date, date_to: date
) -> list[dict[str, Any]]:
    """Every allocation of the workspace overlapping [date_from, date_to]."""
    params: dict[str, Any] = {"ws": workspace_id}
    where = _overlapping(params, date_from, date_to)
    return await fetch_all(
        conn,
        f"SELECT {ALLOCATION_COLUMNS} FROM resource_allocations a WHERE a.workspace_id = %(ws)s"
        f"{where} ORDER BY a.user_id, a.start_date, a.id",
        params,
    )


# Conflicts -----------------------------------------------------------------------------------


async def conflict(conn: AsyncConnection, conflict_id: UUID, caller: UUID) -> dict | None:
    return await fetch_one(
        conn,
        f"SELECT {CONFLICT_COLUMNS}, m.role::text AS caller_role FROM resource_conflicts c"
        f" {CALLER.format('c')} WHERE c.id = %(id)s",
        {"id": conflict_id, "caller": caller},
    )


async def list_conflicts(
    conn: AsyncConnection,
    workspace_id: UUID,
    *,
    status: str | None = None,
    user_id: UUID | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: int,
    after: tuple[datetime, UUID] | None = None,
) -> list[dict[str, Any]]:
    """Conflicts overlapping [date_from, date_to], in the order they were detected."""
    params: dict[str, Any] = {"ws": workspace_id, "limit": limit}
    where = ""
    if status is not None:
        where += " AND c.status::text = %(status)s"
        params["status"] = status
    if user_id is not None:
        where += " AND c.user_id = %(user)s"
        params["user"] = user_id
    if date_from is not None:
        where += " AND c.end_date >= %(from)s"
        params["from"] = date_from
    if date_to is not None:
        where += " AND c.start_date <= %(to)s"
        params["to"] = date_to
    if after is not None:
        where += " AND (c.detected_at, c.id) > (%(at)s, %(after)s)"
        params["at"], params["after"] = after
    return await fetch_all(
        conn,
        f"SELECT {CONFLICT_COLUMNS} FROM resource_conflicts c WHERE c.workspace_id = %(ws)s"
        f"{where} ORDER BY c.detected_at, c.id LIMIT %(limit)s",
        params,
    )


# Utilization ---------------------------------------------------------------------------------


async def utilization_weeks(
    conn: AsyncConnection,
    workspace_id: UUID,
    date_from: date,
    date_to: date,
    user_id: UUID | None = None,
) -> list[dict[str, Any]]:
    """The weekly utilization_metrics rows from the week of date_from to that of date_to."""
    params: dict[str, Any] = {"ws": workspace_id, "from": date_from, "to": date_to}
    where = ""
    if user_id is not None:
        where = " AND user_id = %(user)s"
        params["user"] = user_id
    return await fetch_all(
        conn,
        "SELECT user_id, period_start, period_end, total_capacity, allocated_hours,"
        " actual_hours, utilization_percentage, efficiency_score, computed_at FROM"
        " utilization_metrics WHERE workspace_id = %(ws)s AND period_start >= %(from)s"
        f" AND period_start <= %(to)s{where} ORDER BY user_id, period_start",
        params,
    )


async def allocations_by_ids(conn: AsyncConnection, ids: list[UUID]) -> list[dict[str, Any]]:
    return await fetch_all(
        conn,
        f"SELECT {ALLOCATION_COLUMNS} FROM resource_allocations a WHERE a.id = ANY(%(ids)s)",
        {"ids": ids},
    )
