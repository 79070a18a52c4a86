"""Queries over the time tracking read model.

Who sees an entry: its user (while a member of its workspace) and the workspace's managers
(the roles the caller passes as ``managers``: the policy lives in the application layer).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from projections.queries import fetch_all, fetch_one

ENTRY_COLUMNS = (
    "te.id, te.workspace_id, te.user_id, te.project_id, te.task_id, te.task_type,"
    " te.description, te.start_time, te.end_time, te.duration, te.is_running, te.is_paused,"
    " te.is_billable, te.hourly_rate, te.tags, te.segments, te.note, te.auto_stop_after,"
    " te.version, te.created_at, te.updated_at"
)
MEMBER = "JOIN workspace_members m ON m.workspace_id = te.workspace_id AND m.user_id = %(caller)s"
VISIBLE = "(te.user_id = %(caller)s OR m.role::text = ANY(%(managers)s))"
SETTINGS_COLUMNS = (
    "user_id, default_hourly_rate, auto_stop_timer, auto_stop_duration, require_description,"
    " default_billable, timezone, stop_running_on_start, created_at, updated_at, version"
)


async def entry(conn: AsyncConnection, entry_id: UUID, caller: UUID) -> dict[str, Any] | None:
    """An entry of a workspace the caller belongs to, with the caller's role there (the
    caller decides whether that role may see someone else's entry)."""
    return await fetch_one(
        conn,
        f"SELECT {ENTRY_COLUMNS}, m.role::text AS role FROM time_entries te {MEMBER}"
        " WHERE te.id = %(id)s",
        {"id": entry_id, "caller": caller},
    )


def _filters(filters: dict[str, Any], params: dict[str, Any]) -> str:
    """AND-ed conditions for the list and report filters (None: no condition)."""
    where = ""
    if filters.get("user_id") is not None:
        where += " AND te.user_id = %(user_id)s"
    for name in ("project_id", "task_id", "workspace_id"):
        if filters.get(name) is not None:
            where += f" AND te.{name} = %({name})s"
    if filters.get("is_billable") is not None:
        where += " AND te.is_billable = %(is_billable)s"
    if filters.get("tags"):
        where += " AND te.tags @> %(tags)s::text[]"
    if filters.get("is_running") is not None:
        where += " AND (te.end_time IS NULL) = %(is_running)s"
    if filters.get("since") is not None:  # overlaps [since, until)
        where += " AND coalesce(te.end_time, 'infinity') > %(since)s"
    if filters.get("until") is not None:
        where += " AND te.start_time < %(until)s"
    params.update({k: v for k, v in filters.items() if v is not None})
    return where


async def list_entries(
    conn: AsyncConnection,
    caller: UUID,
    managers: list[str],
    filters: dict[str, Any],
    *,
    limit: int,
    after: tuple[datetime, UUID] | None = None,
) -> list[dict[str, Any]]:
    """Visible entries, newest first, keyset-paginated on (start_time, id)."""
    params: dict[str, Any] = {"caller": caller, "managers": managers, "limit": limit}
    query = f"SELECT {ENTRY_COLUMNS} FROM time_entries te {MEMBER} WHERE {VISIBLE}"
    query += _filters(filters, params)
    if after is not None:
        query += " AND (te.start_time, te.id) < (%(at)s, %(after)s)"
        params["at"], params["after"] = after
    query += " ORDER BY te.start_time DESC, te.id DESC LIMIT %(limit)s"
    return await fetch_all(conn, query, params)


async def report_rows(
    conn: AsyncConnection, caller: UUID, managers: list[str], filters: dict[str, Any]
) -> list[dict[str, Any]]:
    """Visible entries for a report, with labels and the resolved hourly rate: the entry's,
    else the user's in the workspace's team (team_members), else the user's default."""
    params: dict[str, Any] = {"caller": caller, "managers": managers}
    query = (
        f"SELECT {ENTRY_COLUMNS}, p.name AS project_name, coalesce(k.title, t.title) AS"
        " task_title, u.name AS user_name,"
        " coalesce(te.hourly_rate, tm.hourly_rate, s.default_hourly_rate) AS rate"
        f" FROM time_entries te {MEMBER}"
        " LEFT JOIN projects p ON p.id = te.project_id"
        " LEFT JOIN kanban_cards k ON te.task_type = 'card' AND k.id = te.task_id"
        " LEFT JOIN tasks t ON te.task_type = 'task' AND t.id = te.task_id"
        " LEFT JOIN users u ON u.id = te.user_id"
        " LEFT JOIN team_members tm ON tm.user_id = te.user_id"
        " AND tm.workspace_id = te.workspace_id"
        " LEFT JOIN time_tracking_settings s ON s.user_id = te.user_id"
        f" WHERE {VISIBLE}"
    )
    query += _filters(filters, params)
    query += " ORDER BY te.start_time, te.id"
    return await fetch_all(conn, query, params)


async def active_timer(conn: AsyncConnection, user_id: UUID) -> dict[str, Any] | None:
    """The user's open timer (running or paused)."""
    return await fetch_one(
        conn,
        f"SELECT {ENTRY_COLUMNS} FROM active_timers a JOIN time_entries te"
        " ON te.id = a.time_entry_id WHERE a.user_id = %(user)s",
        {"user": user_id},
    )


async def settings(conn: AsyncConnection, user_id: UUID) -> dict[str, Any] | None:
    return await fetch_one(
        conn,
        f"SELECT {SETTINGS_COLUMNS} FROM time_tracking_settings WHERE user_id = %(user)s",
        {"user": user_id},
    )


async def project_visible(conn: AsyncConnection, project_id: UUID, caller: UUID) -> bool:
    row = await fetch_one(
        conn,
        "SELECT 1 AS ok FROM projects p JOIN workspace_members m ON m.workspace_id ="
        " p.workspace_id AND m.user_id = %(caller)s WHERE p.id = %(id)s",
        {"id": project_id, "caller": caller},
    )
    return row is not None
