"""Analytics: set-based SQL over the read tables (tasks, kanban cards and columns, time
entries, milestones, resource conflicts).

Every query is told which workspaces it may look at (``ws``: the caller's) and, for time
entries, which of them the caller manages (``managed``): there every member's time counts,
elsewhere only the caller's own (the rule of ``time_tracking_queries``). Local days and weeks
are computed in PostgreSQL with ``AT TIME ZONE %(tz)s`` (an IANA name checked by the caller):
an entry counts in the local day and ISO week in which it started, with its recorded
``duration`` (its closed segments).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from projections.queries import fetch_aggregate, fetch_all

OPEN_MILESTONE = "ms.status NOT IN ('completed', 'cancelled')"
VISIBLE_TIME = "(te.user_id = %(caller)s OR te.workspace_id = ANY(%(managed)s))"


# Scope -------------------------------------------------------------------------------------


async def memberships(conn: AsyncConnection, caller: UUID) -> list[dict[str, Any]]:
    """The caller's workspaces with their role and name."""
    return await fetch_all(
        conn,
        "SELECT w.id AS workspace_id, w.name, m.role::text AS role, w.settings"
        " FROM workspace_members m JOIN workspaces w ON w.id = m.workspace_id"
        " WHERE m.user_id = %(caller)s ORDER BY w.name, w.id",
        {"caller": caller},
    )


async def project_scope(
    conn: AsyncConnection, project_id: UUID, caller: UUID
) -> dict[str, Any] | None:
    """A project with the caller's role in its workspace (None: no such project)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT p.id, p.workspace_id, p.name, p.start_date, p.end_date, m.role::text AS role"
            " FROM projects p LEFT JOIN workspace_members m ON m.workspace_id = p.workspace_id"
            " AND m.user_id = %(caller)s WHERE p.id = %(id)s",
            {"id": project_id, "caller": caller},
        )
        return await cur.fetchone()


# Dashboard ---------------------------------------------------------------------------------

DASHBOARD_ITEMS = (
    """
WITH t AS (
    SELECT
        count(*) FILTER (WHERE status NOT IN ('done', 'cancelled')) AS open,
        count(*) FILTER (WHERE status = 'done') AS done,
        count(*) FILTER (WHERE status NOT IN ('done', 'cancelled') AND due_date < %(now)s)
            AS overdue
    FROM tasks WHERE workspace_id = ANY(%(ws)s)
), c AS (
    SELECT
        count(*) FILTER (WHERE NOT coalesce(col.is_done_column, false)) AS open,
        count(*) FILTER (WHERE col.is_done_column) AS done,
        count(*) FILTER (WHERE NOT coalesce(col.is_done_column, false) AND k.due_date < %(now)s)
            AS overdue
    FROM kanban_cards k LEFT JOIN kanban_columns col ON col.id = k.column_id
    WHERE k.workspace_id = ANY(%(ws)s)
), m AS (
    SELECT count(*) AS overdue FROM milestones ms
    WHERE ms.workspace_id = ANY(%(ws)s) AND ms.due_date < %(today)s AND """
    + OPEN_MILESTONE
    + """
), h AS (
    SELECT coalesce(sum(te.duration), 0)::bigint AS seconds,
           coalesce(sum(te.duration) FILTER (WHERE te.user_id = %(caller)s), 0)::bigint AS mine
    FROM time_entries te
    WHERE te.workspace_id = ANY(%(ws)s) AND """
    + VISIBLE_TIME
    + """
      AND te.start_time >= %(week_start)s AND te.start_time < %(week_end)s
)
SELECT t.open AS tasks_open, t.done AS tasks_done, t.overdue AS tasks_overdue,
       c.open AS cards_open, c.done AS cards_done, c.overdue AS cards_overdue,
       m.overdue AS milestones_overdue, h.seconds AS week_seconds, h.mine AS week_mine_seconds
FROM t, c, m, h
"""
)

UPCOMING_MILESTONES = (
    "SELECT ms.id, ms.title, ms.project_id, p.name AS project_name, ms.workspace_id,"
    " ms.due_date, ms.status::text AS status, ms.progress"
    " FROM milestones ms LEFT JOIN projects p ON p.id = ms.project_id"
    " WHERE ms.workspace_id = ANY(%(ws)s) AND ms.due_date >= %(today)s"
    " AND ms.due_date <= %(horizon)s AND " + OPEN_MILESTONE + " ORDER BY ms.due_date, ms.id"
    " LIMIT %(limit)s"
)

OVER_ALLOCATED = """
SELECT rc.user_id, u.name, rc.workspace_id,
       max(rc.overallocation_percentage)::float AS overallocation_percentage,
       max(rc.over_hours)::float AS over_hours,
       min(rc.start_date) AS start_date, max(rc.end_date) AS end_date
FROM resource_conflicts rc LEFT JOIN users u ON u.id = rc.user_id
WHERE rc.workspace_id = ANY(%(ws)s) AND rc.status = 'active'
  AND rc.start_date <= %(week_last)s AND rc.end_date >= %(week_first)s
GROUP BY rc.user_id, u.name, rc.workspace_id
ORDER BY max(rc.overallocation_percentage) DESC, rc.user_id
"""


async def dashboard(conn: AsyncConnection, params: dict[str, Any]) -> dict[str, Any]:
    """Counts over the workspaces ``ws``: params ``caller``, ``managed``, ``now``, ``today``,
    ``week_start``/``week_end`` (instants), ``week_first``/``week_last`` (dates),
    ``horizon`` and ``limit`` (upcoming milestones)."""
    return {
        "items": await fetch_aggregate(conn, DASHBOARD_ITEMS, params),
        "upcoming": await fetch_all(conn, UPCOMING_MILESTONES, params),
        "over_allocated": await fetch_all(conn, OVER_ALLOCATED, params),
    }


# Project -----------------------------------------------------------------------------------

PROJECT_TASKS = (
    "SELECT status::text AS key, count(*) AS n, coalesce(sum(estimated_hours), 0) AS estimated"
    " FROM tasks WHERE project_id = %(project)s GROUP BY status"
)
PROJECT_COLUMNS = """
SELECT col.board_id, col.id AS column_id, col.name, coalesce(col.is_done_column, false) AS is_done,
       count(k.id) AS cards, coalesce(sum(k.estimated_hours), 0) AS estimated
FROM kanban_columns col JOIN kanban_boards b ON b.id = col.board_id
LEFT JOIN kanban_cards k ON k.column_id = col.id
WHERE b.project_id = %(project)s
GROUP BY col.board_id, col.id, col.name, col.is_done_column, col.position
ORDER BY col.board_id, col.position, col.id
"""
# Items done in the project: tasks 'done', cards in a done column, with when they were created
# and completed (both from the log: the event times the projections wrote).
PROJECT_DONE = """
SELECT 'task' AS kind, t.created_at, t.completed_at FROM tasks t
WHERE t.project_id = %(project)s AND t.status = 'done' AND t.completed_at IS NOT NULL
UNION ALL
SELECT 'card', k.created_at, k.completed_at
FROM kanban_cards k JOIN kanban_columns col ON col.id = k.column_id
WHERE k.project_id = %(project)s AND col.is_done_column AND k.completed_at IS NOT NULL
"""
THROUGHPUT = (
    """
WITH done AS ("""
    + PROJECT_DONE
    + """), weeks AS (
    SELECT w::date AS week_start FROM generate_series(
        %(first_monday)s::timestamp, %(last_monday)s::timestamp, interval '1 week') w
), per_week AS (
    SELECT date_trunc('week', completed_at AT TIME ZONE %(tz)s)::date AS week_start,
           count(*) FILTER (WHERE kind = 'task') AS tasks,
           count(*) FILTER (WHERE kind = 'card') AS cards
    FROM done WHERE completed_at >= %(since)s AND completed_at < %(until)s GROUP BY 1
)
SELECT to_char(w.week_start, 'IYYY-"W"IW') AS week, w.week_start,
       coalesce(p.tasks, 0) AS tasks, coalesce(p.cards, 0) AS cards
FROM weeks w LEFT JOIN per_week p ON p.week_start = w.week_start ORDER BY w.week_start
"""
)
CYCLE_TIME = (
    """
WITH done AS ("""
    + PROJECT_DONE
    + """), spans AS (
    SELECT kind, extract(epoch FROM completed_at - created_at) / 3600.0 AS hours FROM done
    WHERE completed_at >= %(since)s AND completed_at < %(until)s
)
SELECT kind, count(*) AS count, avg(hours)::float AS average_hours,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY hours)::float AS median_hours,
       percentile_cont(0.85) WITHIN GROUP (ORDER BY hours)::float AS p85_hours,
       max(hours)::float AS max_hours
FROM spans GROUP BY kind
"""
)
PROJECT_HOURS = """
SELECT
  (SELECT coalesce(sum(estimated_hours), 0) FROM tasks
    WHERE project_id = %(project)s AND status <> 'cancelled') AS tasks_estimated,
  (SELECT coalesce(sum(estimated_hours), 0) FROM kanban_cards
    WHERE project_id = %(project)s) AS cards_estimated,
  coalesce(sum(te.duration), 0)::bigint AS tracked_seconds,
  coalesce(sum(te.duration) FILTER (
    WHERE te.start_time >= %(since)s AND te.start_time < %(until)s), 0)::bigint
    AS range_tracked_seconds
FROM time_entries te WHERE te.project_id = %(project)s
"""
PROJECT_MILESTONES = (
    "SELECT ms.status::text AS key, count(*) AS n,"
    " count(*) FILTER (WHERE " + OPEN_MILESTONE + " AND ms.due_date < %(today)s) AS overdue,"
    " count(*) FILTER (WHERE ms.status = 'completed' AND"
    " (ms.completed_at AT TIME ZONE %(tz)s)::date <= ms.due_date) AS on_time"
    " FROM milestones ms WHERE ms.project_id = %(project)s GROUP BY ms.status"
)
# Remaining work at the end of each local day: the items (tasks not cancelled, cards) created
# by then and not done by then, and their estimated hours. One pass over the items: +1 on the
# day each was created, -1 on the day it was done, summed up to each day.
BURNDOWN = """
WITH items AS (
    SELECT created_at, CASE WHEN status = 'done' THEN completed_at END AS done_at,
           coalesce(estimated_hours, 0) AS hours
    FROM tasks WHERE project_id = %(project)s AND status <> 'cancelled'
    UNION ALL
    SELECT k.created_at, CASE WHEN col.is_done_column THEN k.completed_at END,
           coalesce(k.estimated_hours, 0)
    FROM kanban_cards k LEFT JOIN kanban_columns col ON col.id = k.column_id
    WHERE k.project_id = %(project)s
), moves AS (
    SELECT (created_at AT TIME ZONE %(tz)s)::date AS day, 1 AS n, hours FROM items
    UNION ALL
    SELECT (done_at AT TIME ZONE %(tz)s)::date, -1, -hours FROM items WHERE done_at IS NOT NULL
), sums AS (
    SELECT greatest(day, %(first)s::date) AS day, sum(n) AS n, sum(hours) AS hours
    FROM moves WHERE day <= %(last)s::date GROUP BY 1
), days AS (
    SELECT d::date AS day FROM generate_series(
        %(first)s::timestamp, %(last)s::timestamp, interval '1 day') d
)
SELECT d.day,
       coalesce(sum(s.n) OVER (ORDER BY d.day), 0)::int AS remaining,
       coalesce(sum(s.hours) OVER (ORDER BY d.day), 0) AS remaining_hours
FROM days d LEFT JOIN sums s ON s.day = d.day ORDER BY d.day
"""


async def project(conn: AsyncConnection, params: dict[str, Any]) -> dict[str, Any]:
    """A project's figures: params ``project``, ``tz``, ``today``, ``since``/``until``
    (instants), ``first``/``last`` (local days), ``first_monday``/``last_monday``."""
    return {
        "tasks": await fetch_all(conn, PROJECT_TASKS, params),
        "columns": await fetch_all(conn, PROJECT_COLUMNS, params),
        "throughput": await fetch_all(conn, THROUGHPUT, params),
        "cycle_time": await fetch_all(conn, CYCLE_TIME, params),
        "hours": await fetch_aggregate(conn, PROJECT_HOURS, params),
        "milestones": await fetch_all(conn, PROJECT_MILESTONES, params),
        "burndown": await fetch_all(conn, BURNDOWN, params),
    }


# Time tracking -----------------------------------------------------------------------------

TIME_KEYS = {
    "user": ("te.user_id", "SELECT id, name AS label FROM users"),
    "project": ("te.project_id", "SELECT id, name AS label FROM projects"),
    "day": ("(te.start_time AT TIME ZONE %(tz)s)::date", None),
    "week": ("(te.start_time AT TIME ZONE %(tz)s)::date", None),  # its Monday, once summed
}
# The key once summed per day: the day's ISO week (its Monday) for "week"
OUTER_KEYS = {"week": "e.key - (extract(isodow FROM e.key)::int - 1)"}
RATE = "coalesce(e.hourly_rate, tm.hourly_rate, s.default_hourly_rate)"


def _time_query(group_by: str, filters: dict[str, Any]) -> str:
    """Sum the entries per key and rate inputs first (one pass, no join per entry), then
    resolve the rates (the entry's, else the team member's, else the user's default) on those
    few rows, then name the keys."""
    key, labels = TIME_KEYS[group_by]
    where = ""
    for name in ("project_id", "user_id"):
        if filters.get(name) is not None:
            where += f" AND te.{name} = %({name})s"
    grouped = f"""
WITH e AS (
    SELECT {key} AS key, te.user_id, te.workspace_id, te.is_billable, te.hourly_rate,
           sum(te.duration)::bigint AS seconds
    FROM time_entries te
    WHERE te.workspace_id = ANY(%(ws)s) AND {VISIBLE_TIME}
      AND te.start_time >= %(since)s AND te.start_time < %(until)s
      AND te.duration > 0{where}
    GROUP BY 1, 2, 3, 4, 5
)
SELECT {OUTER_KEYS.get(group_by, "e.key")} AS key, sum(e.seconds)::bigint AS total_seconds,
       coalesce(sum(e.seconds) FILTER (WHERE e.is_billable), 0)::bigint AS billable_seconds,
       coalesce(sum(e.seconds * {RATE}) FILTER (WHERE e.is_billable), 0) / 3600 AS amount,
       coalesce(sum(e.seconds) FILTER (WHERE e.is_billable AND {RATE} IS NULL), 0)::bigint
           AS unrated_billable_seconds
FROM e
LEFT JOIN team_members tm ON tm.user_id = e.user_id AND tm.workspace_id = e.workspace_id
LEFT JOIN time_tracking_settings s ON s.user_id = e.user_id
GROUP BY 1
"""
    if labels is None:
        return f"SELECT g.key::text AS key, g.key::text AS label, {COLUMNS} FROM ({grouped}) g"
    return (
        f"SELECT g.key::text AS key, l.label, {COLUMNS} FROM ({grouped}) g"
        f" LEFT JOIN ({labels}) l ON l.id = g.key"
    )


COLUMNS = "g.total_seconds, g.billable_seconds, g.amount, g.unrated_billable_seconds"


async def time_groups(
    conn: AsyncConnection, group_by: str, params: dict[str, Any]
) -> list[dict[str, Any]]:
    """Recorded time per group: params ``caller``, ``ws``, ``managed``, ``tz``,
    ``since``/``until`` (instants; entries starting within), optional ``project_id``,
    ``user_id``."""
    return await fetch_all(conn, _time_query(group_by, params), params)


# Milestones --------------------------------------------------------------------------------

MILESTONE_PERIODS = """
SELECT date_trunc(%(period)s, ms.completed_at AT TIME ZONE %(tz)s)::date AS period_start,
       count(*) AS completed,
       count(*) FILTER (WHERE (ms.completed_at AT TIME ZONE %(tz)s)::date <= ms.due_date)
           AS on_time
FROM milestones ms
WHERE ms.workspace_id = ANY(%(ws)s) AND ms.status = 'completed'
  AND ms.completed_at >= %(since)s AND ms.completed_at < %(until)s {project}
GROUP BY 1 ORDER BY 1
"""
MILESTONE_DUE = """
SELECT count(*) AS due,
       count(*) FILTER (WHERE ms.status = 'completed'
           AND (ms.completed_at AT TIME ZONE %(tz)s)::date <= ms.due_date) AS met,
       count(*) FILTER (WHERE ms.status = 'cancelled') AS cancelled
FROM milestones ms
WHERE ms.workspace_id = ANY(%(ws)s) AND ms.due_date >= %(first)s AND ms.due_date <= %(last)s
  {project}
"""
MILESTONES_OVERDUE = (
    "SELECT ms.id, ms.title, ms.project_id, p.name AS project_name, ms.workspace_id,"
    " ms.due_date, ms.status::text AS status, ms.progress,"
    " (%(today)s::date - ms.due_date) AS days_overdue"
    " FROM milestones ms LEFT JOIN projects p ON p.id = ms.project_id"
    " WHERE ms.workspace_id = ANY(%(ws)s) AND ms.due_date < %(today)s AND "
    + OPEN_MILESTONE
    + " {project} ORDER BY ms.due_date, ms.id"
)


async def milestones(conn: AsyncConnection, params: dict[str, Any]) -> dict[str, Any]:
    """Completions per period, milestones due in the range, and those overdue today: params
    ``ws``, ``tz``, ``period`` ('week' or 'month'), ``since``/``until``, ``first``/``last``,
    ``today``, optional ``project_id``."""
    project = "AND ms.project_id = %(project_id)s" if params.get("project_id") else ""
    return {
        "periods": await fetch_all(conn, MILESTONE_PERIODS.format(project=project), params),
        "due": await fetch_aggregate(conn, MILESTONE_DUE.format(project=project), params),
        "overdue": await fetch_all(conn, MILESTONES_OVERDUE.format(project=project), params),
    }
