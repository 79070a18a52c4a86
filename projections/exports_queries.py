"""Read SQL for workspace exports (the ``workspace_exports`` table, migrations/0017): a
workspace's exports, newest first (keyset on created_at, id)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row

COLUMNS = (
    "id, workspace_id, requested_by, format, status, size, checksum, counts, error,"
    " created_at, started_at, finished_at, expires_at"
)


async def list_exports(
    conn: AsyncConnection,
    workspace_id: UUID,
    *,
    limit: int,
    before: tuple[datetime, UUID] | None,
) -> list[dict[str, Any]]:
    query = f"SELECT {COLUMNS} FROM workspace_exports WHERE workspace_id = %s"
    params: list[Any] = [workspace_id]
    if before is not None:
        query += " AND (created_at, id) < (%s, %s)"
        params.extend(before)
    query += " ORDER BY created_at DESC, id DESC LIMIT %s"
    params.append(limit)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        return await cur.fetchall()
