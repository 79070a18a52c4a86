"""Workspaces read model: ``workspaces`` and ``workspace_members``, and member-scoped queries.

Only members see a workspace: every query joins the caller's membership.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection, Cursor
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from domain.workspaces import Workspace
from projections.base import Projection, handles, row_id

WORKSPACE_COLUMNS = (
    "w.id, w.name, w.description, w.owner_id, w.settings, w.is_active, w.created_at,"
    " w.updated_at, w.version, m.role AS my_role"
)
UPDATABLE = {"name", "description", "settings"}


class WorkspacesProjection(Projection):
    name = "workspaces"
    tables = ("workspaces", "workspace_members")

    @handles(Workspace.Created)
    def created(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "INSERT INTO workspaces (id, name, description, owner_id, settings, is_active,"
            " created_at, updated_at, version) VALUES (%s, %s, %s, %s, %s, true, %s, %s, %s)",
            (
                e.originator_id,
                e.name,
                e.description,
                e.owner_id,
                Jsonb(e.settings),
                e.timestamp,
                e.timestamp,
                e.originator_version,
            ),
        )
        cur.execute(
            "INSERT INTO workspace_members (id, workspace_id, user_id, role, joined_at)"
            " VALUES (%s, %s, %s, 'owner', %s)",
            (
                row_id("member", e.originator_id, e.owner_id),
                e.originator_id,
                e.owner_id,
                e.timestamp,
            ),
        )

    @handles(Workspace.Updated)
    def updated(self, cur: Cursor, e: Any, position: int) -> None:
        changes = {k: v for k, v in e.changes.items() if k in UPDATABLE}
        if "settings" in changes:
            changes["settings"] = Jsonb(changes["settings"])
        sets = "".join(f"{k} = %({k})s, " for k in changes)
        cur.execute(
            f"UPDATE workspaces SET {sets}updated_at = %(ts)s, version = %(v)s WHERE id = %(id)s",
            {**changes, "ts": e.timestamp, "v": e.originator_version, "id": e.originator_id},
        )

    def _add_member(self, cur: Cursor, workspace_id: Any, user_id: Any, role: str, at: Any) -> None:
        cur.execute(
            "INSERT INTO workspace_members (id, workspace_id, user_id, role, joined_at)"
            " VALUES (%s, %s, %s, %s, %s)",
            (row_id("member", workspace_id, user_id), workspace_id, user_id, role, at),
        )

    def _touch(self, cur: Cursor, e: Any) -> None:
        cur.execute(
            "UPDATE workspaces SET updated_at = %s, version = %s WHERE id = %s",
            (e.timestamp, e.originator_version, e.originator_id),
        )

    @handles(Workspace.MemberAdded)
    def member_added(self, cur: Cursor, e: Any, position: int) -> None:
        self._add_member(cur, e.originator_id, e.user_id, e.role, e.timestamp)
        self._touch(cur, e)

    @handles(Workspace.InviteAccepted)
    def invite_accepted(self, cur: Cursor, e: Any, position: int) -> None:
        self._add_member(cur, e.originator_id, e.user_id, e.role, e.timestamp)
        self._touch(cur, e)

    @handles(Workspace.InviteCreated)
    def invite_created(self, cur: Cursor, e: Any, position: int) -> None:
        self._touch(cur, e)

    @handles(Workspace.MemberRoleChanged)
    def member_role_changed(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "UPDATE workspace_members SET role = %s WHERE workspace_id = %s AND user_id = %s",
            (e.role, e.originator_id, e.user_id),
        )
        self._touch(cur, e)

    @handles(Workspace.MemberRemoved)
    def member_removed(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "DELETE FROM workspace_members WHERE workspace_id = %s AND user_id = %s",
            (e.originator_id, e.user_id),
        )
        self._touch(cur, e)

    @handles(Workspace.Deleted)
    def deleted(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute("DELETE FROM workspace_members WHERE workspace_id = %s", (e.originator_id,))
        cur.execute("DELETE FROM workspaces WHERE id = %s", (e.originator_id,))


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
