"""Activity feed read queries."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row

ACTIVITY_COLUMNS = (
    "a.id, a.workspace_id, a.project_id, a.user_id, a.action, a.object_type, a.object_id,"
    " a.details, a.created_at, a.position"
)


async def list_activities(
    conn: AsyncConnection,
    workspace_id: UUID,
    *,
    limit: int,
    before: int | None = None,
    project_id: UUID | None = None,
    user_id: UUID | None = None,
    object_type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    """A workspace's feed (or one project's), newest first, keyset on the log position.

    ``since`` is inclusive, ``until`` exclusive.
    """
    query = f"SELECT {ACTIVITY_COLUMNS} FROM activities a WHERE a.workspace_id = %s"
    params: list[Any] = [workspace_id]
    for column, value in (
        ("project_id", project_id),
        ("user_id", user_id),
        ("object_type", object_type),
    ):
        if value is not None:
            query += f" AND a.{column} = %s"
            params.append(value)
    if since is not None:
        query += " AND a.created_at >= %s"
        params.append(since)
    if until is not None:
        query += " AND a.created_at < %s"
        params.append(until)
    if before is not None:
        query += " AND a.position < %s"
        params.append(before)
    query += " ORDER BY a.position DESC LIMIT %s"
    params.append(limit)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        return await cur.fetchall()
