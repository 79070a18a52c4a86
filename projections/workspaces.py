"""Workspaces read model: ``workspaces`` and ``workspace_members`` (its queries are in
projections/workspaces_queries.py).
"""

from __future__ import annotations

from typing import Any

from psycopg import Cursor
from psycopg.types.json import Jsonb

from domain.workspaces import Workspace
from projections.base import Projection, handles, row_id

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
