"""Projects read queries: member-scoped (every query joins the caller's membership), and
analytics."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from projections import files_queries

PROJECT_COLUMNS = (
    "p.id, p.workspace_id, p.name, p.description, p.status::text AS status,"
    " p.priority::text AS priority, p.start_date, p.end_date, p.budget, p.owner_id, p.settings,"
    " p.created_at, p.updated_at, p.version, " + files_queries.attachments_column("project", "p.id")
)

MEMBER_COLUMNS = "pm.user_id, pm.role, pm.joined_at, u.name, u.email, u.avatar_url"


async def list_for_member(
    conn: AsyncConnection,
    user_id: UUID,
    *,
    limit: int,
    after: tuple[datetime, UUID] | None = None,
    workspace_id: UUID | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """The projects of the caller's workspaces, oldest first, keyset on (created_at, id)."""
    query = (
        f"SELECT {PROJECT_COLUMNS} FROM workspace_members m"
        " JOIN projects p ON p.workspace_id = m.workspace_id WHERE m.user_id = %s"
    )
    params: list[Any] = [user_id]
    if workspace_id is not None:
        query += " AND p.workspace_id = %s"
        params.append(workspace_id)
    if status is not None:
        query += " AND p.status = %s"
        params.append(status)
    if after is not None:
        query += " AND (p.created_at, p.id) > (%s, %s)"
        params.extend(after)
    query += " ORDER BY p.created_at, p.id LIMIT %s"
    params.append(limit)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        return await cur.fetchall()


async def get_for_member(
    conn: AsyncConnection, project_id: UUID, user_id: UUID
) -> dict[str, Any] | None:
    """A project, if the caller belongs to its workspace."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {PROJECT_COLUMNS} FROM projects p"
            " JOIN workspace_members m ON m.workspace_id = p.workspace_id"
            " WHERE p.id = %s AND m.user_id = %s",
            (project_id, user_id),
            prepare=True,
        )
        return await cur.fetchone()


async def list_members(
    conn: AsyncConnection, project_id: UUID, *, limit: int, after: tuple[datetime, UUID] | None
) -> list[dict[str, Any]]:
    """Members with their profile, in the order they joined (keyset on joined_at, user id)."""
    query = (
        f"SELECT {MEMBER_COLUMNS} FROM project_members pm JOIN users u ON u.id = pm.user_id"
        " WHERE pm.project_id = %s"
    )
    params: list[Any] = [project_id]
    if after is not None:
        query += " AND (pm.joined_at, pm.user_id) > (%s, %s)"
        params.extend(after)
    query += " ORDER BY pm.joined_at, pm.user_id LIMIT %s"
    params.append(limit)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params, prepare=True)
        return await cur.fetchall()


async def member(conn: AsyncConnection, project_id: UUID, user_id: UUID) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {MEMBER_COLUMNS} FROM project_members pm JOIN users u ON u.id = pm.user_id"
            " WHERE pm.project_id = %s AND pm.user_id = %s",
            (project_id, user_id),
        )
        return await cur.fetchone()


# Analytics ---------------------------------------------------------------------------------
# Over other contexts' read tables (kanban_cards, tasks). "Now" is the database's clock; ISO
# weeks are counted in UTC. A card is done when it sits in a done column; a task when its
# status is 'done'. Overdue: due before now and not done (cancelled tasks are not overdue).

CARD_TOTALS = """
SELECT count(*) AS total,
       count(*) FILTER (WHERE col.is_done_column) AS done,
       count(*) FILTER (WHERE c.due_date < now() AND NOT coalesce(col.is_done_column, false))
           AS overdue,
       coalesce(sum(c.estimated_hours), 0) AS estimated_hours,
       coalesce(sum(c.actual_hours), 0) AS actual_hours
FROM kanban_cards c LEFT JOIN kanban_columns col ON col.id = c.column_id
WHERE c.project_id = %(project)s
"""

CARDS_BY_PRIORITY = """
SELECT c.priority::text AS key, count(*) AS n FROM kanban_cards c
WHERE c.project_id = %(project)s AND c.priority IS NOT NULL GROUP BY 1
"""

CARDS_BY_STATUS = """
SELECT CASE WHEN col.is_done_column THEN 'done' ELSE 'open' END AS key, count(*) AS n
FROM kanban_cards c LEFT JOIN kanban_columns col ON col.id = c.column_id
WHERE c.project_id = %(project)s GROUP BY 1
"""

TASK_TOTALS = """
SELECT count(*) AS total,
       count(*) FILTER (WHERE t.status = 'done') AS done,
       count(*) FILTER (WHERE t.due_date < now() AND t.status NOT IN ('done', 'cancelled'))
           AS overdue,
       coalesce(sum(t.estimated_hours), 0) AS estimated_hours,
       coalesce(sum(t.actual_hours), 0) AS actual_hours
FROM tasks t WHERE t.project_id = %(project)s
"""

TASKS_BY_STATUS = """
SELECT t.status::text AS key, count(*) AS n FROM tasks t
WHERE t.project_id = %(project)s AND t.status IS NOT NULL GROUP BY 1
"""

TASKS_BY_PRIORITY = """
SELECT t.priority::text AS key, count(*) AS n FROM tasks t
WHERE t.project_id = %(project)s AND t.priority IS NOT NULL GROUP BY 1
"""

DONE_PER_WEEK = """
WITH weeks AS (
    SELECT generate_series(
        date_trunc('week', now() AT TIME ZONE 'UTC') - interval '11 weeks',
        date_trunc('week', now() AT TIME ZONE 'UTC'),
        interval '1 week'
    ) AS week_start
),
cards AS (
    SELECT date_trunc('week', c.completed_at AT TIME ZONE 'UTC') AS week_start, count(*) AS n
    FROM kanban_cards c JOIN kanban_columns col ON col.id = c.column_id
    WHERE c.project_id = %(project)s AND col.is_done_column AND c.completed_at IS NOT NULL
    GROUP BY 1
),
done_tasks AS (
    SELECT date_trunc('week', t.completed_at AT TIME ZONE 'UTC') AS week_start, count(*) AS n
    FROM tasks t
    WHERE t.project_id = %(project)s AND t.status = 'done' AND t.completed_at IS NOT NULL
    GROUP BY 1
)
SELECT to_char(w.week_start, 'IYYY-"W"IW') AS week, w.week_start::date AS week_start,
       coalesce(c.n, 0) AS cards, coalesce(t.n, 0) AS tasks
FROM weeks w
LEFT JOIN cards c ON c.week_start = w.week_start
LEFT JOIN done_tasks t ON t.week_start = w.week_start
ORDER BY w.week_start
"""

CARD_PRIORITIES = ("low", "medium", "high", "urgent")
TASK_PRIORITIES = ("low", "medium", "high", "urgent")
TASK_STATUSES = ("todo", "in_progress", "review", "done", "cancelled")


async def analytics(conn: AsyncConnection, project_id: UUID) -> dict[str, Any]:
    """Cards and tasks of a project: by status and priority, overdue, done per ISO week (the
    last 12, oldest first), estimated versus actual hours."""
    params = {"project": project_id}

    async def one(query: str) -> dict[str, Any]:
        await cur.execute(query, params)
        return await cur.fetchone()

    async def counts(query: str, keys: tuple[str, ...]) -> dict[str, int]:
        await cur.execute(query, params)
        found = {r["key"]: r["n"] for r in await cur.fetchall()}
        return {k: found.get(k, 0) for k in keys} | found

    async with conn.cursor(row_factory=dict_row) as cur:
        cards = await one(CARD_TOTALS)
        cards["by_status"] = await counts(CARDS_BY_STATUS, ("open", "done"))
        cards["by_priority"] = await counts(CARDS_BY_PRIORITY, CARD_PRIORITIES)
        tasks = await one(TASK_TOTALS)
        tasks["by_status"] = await counts(TASKS_BY_STATUS, TASK_STATUSES)
        tasks["by_priority"] = await counts(TASKS_BY_PRIORITY, TASK_PRIORITIES)
        await cur.execute(DONE_PER_WEEK, params)
        weeks = await cur.fetchall()
    return {"cards": cards, "tasks": tasks, "done_per_week": weeks}
