"""Workspaces read queries: member-scoped (every query joins the caller's membership)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row

WORKSPACE_COLUMNS = (
    "w.id, w.name, w.description, w.owner_id, w.settings, w.is_active, w.created_at,"
    " w.updated_at, w.version, m.role AS my_role"
)


async def list_for_member(
    conn: AsyncConnection,
    user_id: UUID,
    *,
    limit: int,
    after: tuple[datetime, UUID] | None = None,
) -> list[dict[str, Any]]:
    """The caller's workspaces, oldest first, keyset-paginated on (created_at, id)."""
    query = (
        f"SELECT {WORKSPACE_COLUMNS} FROM workspace_members m"
        " JOIN workspaces w ON w.id = m.workspace_id WHERE m.user_id = %s"
    )
    params: list[Any] = [user_id]
    if after is not None:
        query += " AND (w.created_at, w.id) > (%s, %s)"
        params.extend(after)
    query += " ORDER BY w.created_at, w.id LIMIT %s"
    params.append(limit)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params, prepare=True)
        return await cur.fetchall()


async def get_for_member(
    conn: AsyncConnection, workspace_id: UUID, user_id: UUID
) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {WORKSPACE_COLUMNS}, (SELECT count(*) FROM workspace_members c"
            " WHERE c.workspace_id = w.id) AS member_count FROM workspace_members m"
            " JOIN workspaces w ON w.id = m.workspace_id WHERE w.id = %s AND m.user_id = %s",
            (workspace_id, user_id),
            prepare=True,
        )
        return await cur.fetchone()


async def list_members(
    conn: AsyncConnection, workspace_id: UUID, *, limit: int, after: tuple[datetime, UUID] | None
) -> list[dict[str, Any]]:
    """Members with their profile, in the order they joined (keyset on joined_at, user id)."""
    query = (
        "SELECT m.user_id, m.role, m.joined_at, u.name, u.email, u.avatar_url"
        " FROM workspace_members m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = %s"
    )
    params: list[Any] = [workspace_id]
    if after is not None:
        query += " AND (m.joined_at, m.user_id) > (%s, %s)"
        params.extend(after)
    query += " ORDER BY m.joined_at, m.user_id LIMIT %s"
    params.append(limit)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params, prepare=True)
        return await cur.fetchall()


async def member(conn: AsyncConnection, workspace_id: UUID, user_id: UUID) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT m.user_id, m.role, m.joined_at, u.name, u.email, u.avatar_url"
            " FROM workspace_members m JOIN users u ON u.id = m.user_id"
            " WHERE m.workspace_id = %s AND m.user_id = %s",
            (workspace_id, user_id),
        )
        return await cur.fetchone()
