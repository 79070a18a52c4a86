"""Milestones read queries: member-scoped milestones, deliverables and templates, and what the
critical path and the milestone report read of a project."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from projections.queries import fetch_all, fetch_one

MILESTONE_COLUMNS = (
    "ms.id, ms.workspace_id, ms.project_id, ms.title, ms.description, ms.due_date,"
    " ms.status::text AS status, ms.priority::text AS priority, ms.progress,"
    " ms.progress_source, ms.dependencies, ms.created_by, ms.completed_at,"
    " ms.forced_completion, ms.version, ms.created_at, ms.updated_at,"
    " ARRAY(SELECT a.user_id FROM milestone_assignees a WHERE a.milestone_id = ms.id"
    " ORDER BY a.assigned_at, a.user_id) AS assignee_ids"
)
DELIVERABLE_COLUMNS = (
    "d.id, d.workspace_id, d.milestone_id, d.title, d.description, d.type::text AS type,"
    " d.status::text AS status, d.due_date, d.created_by, d.version, d.created_at, d.updated_at"
)
TEMPLATE_COLUMNS = (
    "t.id, t.workspace_id, t.name, t.description, t.category, t.milestones_data,"
    " t.deliverables_data, t.created_by, t.is_public, t.usage_count, t.version, t.created_at,"
    " t.updated_at"
)


# Milestones ---------------------------------------------------------------------------------


async def list_milestones(
    conn: AsyncConnection,
    project_id: UUID,
    *,
    filters: dict[str, Any],
    limit: int,
    after: tuple[date, UUID] | None = None,
) -> list[dict[str, Any]]:
    """A project's milestones by due date (then id), keyset-paginated; filters combine."""
    query = f"SELECT {MILESTONE_COLUMNS} FROM milestones ms WHERE ms.project_id = %s"
    params: list[Any] = [project_id]
    for name in ("status", "priority"):
        if filters.get(name) is not None:
            query += f" AND ms.{name} = %s"
            params.append(filters[name])
    if filters.get("assignee_id") is not None:
        query += (
            " AND EXISTS (SELECT 1 FROM milestone_assignees a"
            " WHERE a.milestone_id = ms.id AND a.user_id = %s)"
        )
        params.append(filters["assignee_id"])
    if filters.get("due_before") is not None:
        query += " AND ms.due_date <= %s"
        params.append(filters["due_before"])
    if filters.get("due_after") is not None:
        query += " AND ms.due_date >= %s"
        params.append(filters["due_after"])
    if after is not None:
        query += " AND (ms.due_date, ms.id) > (%s, %s)"
        params.extend(after)
    query += " ORDER BY ms.due_date, ms.id LIMIT %s"
    params.append(limit)
    return await fetch_all(conn, query, params)


async def milestone_for_member(
    conn: AsyncConnection, milestone_id: UUID, user_id: UUID
) -> dict[str, Any] | None:
    """A milestone, if the caller belongs to its workspace."""
    return await fetch_one(
        conn,
        f"SELECT {MILESTONE_COLUMNS} FROM milestones ms JOIN workspace_members m"
        " ON m.workspace_id = ms.workspace_id AND m.user_id = %s WHERE ms.id = %s",
        (user_id, milestone_id),
    )


# Deliverables -------------------------------------------------------------------------------


async def deliverables_of(
    conn: AsyncConnection,
    milestone_id: UUID,
    *,
    limit: int,
    after: tuple[datetime, UUID] | None = None,
) -> list[dict[str, Any]]:
    """A milestone's deliverables, oldest first, keyset-paginated on (created_at, id)."""
    query = f"SELECT {DELIVERABLE_COLUMNS} FROM deliverables d WHERE d.milestone_id = %s"
    params: list[Any] = [milestone_id]
    if after is not None:
        query += " AND (d.created_at, d.id) > (%s, %s)"
        params.extend(after)
    query += " ORDER BY d.created_at, d.id LIMIT %s"
    params.append(limit)
    return await fetch_all(conn, query, params)


async def deliverable_for_member(
    conn: AsyncConnection, deliverable_id: UUID, user_id: UUID
) -> dict[str, Any] | None:
    """A deliverable, if the caller belongs to its workspace."""
    return await fetch_one(
        conn,
        f"SELECT {DELIVERABLE_COLUMNS} FROM deliverables d JOIN workspace_members m"
        " ON m.workspace_id = d.workspace_id AND m.user_id = %s WHERE d.id = %s",
        (user_id, deliverable_id),
    )


# Templates ----------------------------------------------------------------------------------


async def list_templates(
    conn: AsyncConnection,
    user_id: UUID,
    *,
    workspace_id: UUID | None,
    limit: int,
    after: tuple[datetime, UUID] | None = None,
) -> list[dict[str, Any]]:
    """Templates the caller may use: public ones and their workspaces' (or one workspace's,
    and the public ones), oldest first, keyset-paginated on (created_at, id)."""
    if workspace_id is None:
        scope = (
            "(t.is_public OR t.workspace_id IN"
            " (SELECT workspace_id FROM workspace_members WHERE user_id = %s))"
        )
        params: list[Any] = [user_id]
    else:
        scope = "(t.is_public OR t.workspace_id = %s)"
        params = [workspace_id]
    query = f"SELECT {TEMPLATE_COLUMNS} FROM milestone_templates t WHERE {scope}"
    if after is not None:
        query += " AND (t.created_at, t.id) > (%s, %s)"
        params.extend(after)
    query += " ORDER BY t.created_at, t.id LIMIT %s"
    params.append(limit)
    return await fetch_all(conn, query, params)


async def template_for_member(
    conn: AsyncConnection, template_id: UUID, user_id: UUID
) -> dict[str, Any] | None:
    """A template, if it is public or the caller belongs to its workspace."""
    return await fetch_one(
        conn,
        f"SELECT {TEMPLATE_COLUMNS} FROM milestone_templates t WHERE t.id = %s AND (t.is_public"
        " OR EXISTS (SELECT 1 FROM workspace_members m"
        " WHERE m.workspace_id = t.workspace_id AND m.user_id = %s))",
        (template_id, user_id),
    )


# Planning -----------------------------------------------------------------------------------


async def project_dates(conn: AsyncConnection, project_id: UUID) -> dict[str, Any] | None:
    return await fetch_one(
        conn,
        "SELECT id, start_date, end_date, created_at FROM projects WHERE id = %s",
        (project_id,),
    )


async def plan_tasks(conn: AsyncConnection, project_id: UUID) -> list[tuple]:
    """(id, title, dependencies, milestone_id, estimated hundredths of an hour) of every task
    of the project: plain tuples in binary format (a project may have many), the dependencies
    as JSON text for the caller to decode with orjson (several times faster)."""
    async with conn.cursor(binary=True) as cur:
        await cur.execute(
            "SELECT id::text, title, dependencies::text, milestone_id::text,"
            " floor(coalesce(estimated_hours, 0) * 100)::int8 FROM tasks WHERE project_id = %s",
            (project_id,),
            prepare=True,
        )
        return await cur.fetchall()


async def milestone_task_hours(conn: AsyncConnection, project_id: UUID) -> list[dict[str, Any]]:
    """Per milestone of the project: its linked tasks, their estimated and tracked hours."""
    return await fetch_all(
        conn,
        "SELECT milestone_id::text AS milestone_id, count(*) AS tasks,"
        " coalesce(sum(estimated_hours), 0) AS estimated_hours,"
        " coalesce(sum(actual_hours), 0) AS tracked_hours"
        " FROM tasks WHERE project_id = %s AND milestone_id IS NOT NULL GROUP BY milestone_id",
        (project_id,),
    )


async def plan_milestones(
    conn: AsyncConnection, project_id: UUID, *, with_deliverables: bool = False
) -> list[dict[str, Any]]:
    """Every milestone of the project by due date (``with_deliverables``: its deliverables
    counted, done and pending)."""
    counts = (
        ", coalesce(d.done, 0) AS deliverables_done, coalesce(d.pending, 0) AS"
        " deliverables_pending FROM milestones ms LEFT JOIN (SELECT milestone_id,"
        " count(*) FILTER (WHERE status = 'completed') AS done,"
        " count(*) FILTER (WHERE status <> 'completed') AS pending"
        " FROM deliverables GROUP BY milestone_id) d ON d.milestone_id = ms.id"
        if with_deliverables
        else " FROM milestones ms"
    )
    return await fetch_all(
        conn,
        "SELECT ms.id::text AS id, ms.title, ms.due_date, ms.status::text AS status,"
        f" ms.progress, ms.dependencies, ms.created_at{counts}"
        " WHERE ms.project_id = %s ORDER BY ms.due_date, ms.id",
        (project_id,),
    )
