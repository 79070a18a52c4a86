"""Tasks read queries: member-scoped lists and one task."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from projections import files_queries

TASK_COLUMNS = (
    "t.id, t.workspace_id, t.project_id, t.milestone_id, t.parent_task_id, t.title,"
    " t.description, t.status::text AS status, t.priority::text AS priority,"
    " t.estimated_hours, t.actual_hours, t.assignee_id, t.created_by, t.due_date,"
    " t.completed_at, t.tags, t.dependencies, t.version, t.created_at, t.updated_at, "
    + files_queries.attachments_column("task", "t.id")
)

FILTERS = ("status", "priority", "assignee_id", "milestone_id", "parent_task_id")


async def list_tasks(
    conn: AsyncConnection,
    project_id: UUID,
    *,
    filters: dict[str, Any],
    limit: int,
    after: tuple[datetime, UUID] | None = None,
) -> list[dict[str, Any]]:
    """A project's tasks, oldest first, keyset-paginated on (created_at, id)."""
    query = f"SELECT {TASK_COLUMNS} FROM tasks t WHERE t.project_id = %s"
    params: list[Any] = [project_id]
    for name in FILTERS:
        value = filters.get(name)
        if value is not None:
            query += f" AND t.{name} = %s"
            params.append(value)
    if after is not None:
        query += " AND (t.created_at, t.id) > (%s, %s)"
        params.extend(after)
    query += " ORDER BY t.created_at, t.id LIMIT %s"
    params.append(limit)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        return await cur.fetchall()


async def get_for_member(
    conn: AsyncConnection, task_id: UUID, user_id: UUID
) -> dict[str, Any] | None:
    """A task, if the caller belongs to its workspace."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {TASK_COLUMNS} FROM tasks t JOIN workspace_members m"
            " ON m.workspace_id = t.workspace_id AND m.user_id = %s WHERE t.id = %s",
            (user_id, task_id),
            prepare=True,
        )
        return await cur.fetchone()
