"""Projects read model: ``projects`` and ``project_members`` (its queries and analytics are in
projections/projects_queries.py).
"""

from __future__ import annotations

from typing import Any

from psycopg import Cursor
from psycopg.types.json import Jsonb

from domain.projects import Project
from projections.base import Projection, handles, row_id

UPDATABLE = {
    "name",
    "description",
    "priority",
    "start_date",
    "end_date",
    "budget",
    "owner_id",
    "settings",
}


class ProjectsProjection(Projection):
    name = "projects"
    tables = ("projects", "project_members")

    @handles(Project.Created)
    def created(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "INSERT INTO projects (id, workspace_id, name, description, status, priority,"
            " start_date, end_date, budget, owner_id, settings, version, created_at, updated_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                e.originator_id,
                e.workspace_id,
                e.name,
                e.description,
                e.status,
                e.priority,
                e.start_date,
                e.end_date,
                e.budget,
                e.owner_id,
                Jsonb(e.settings),
                e.originator_version,
                e.timestamp,
                e.timestamp,
            ),
        )
        self._add_member(cur, e, e.owner_id, "owner")

    def _add_member(self, cur: Cursor, e: Any, user_id: Any, role: str | None) -> None:
        cur.execute(
            "INSERT INTO project_members (id, workspace_id, project_id, user_id, role, joined_at)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (
                row_id("project-member", e.originator_id, user_id),
                e.workspace_id,
                e.originator_id,
                user_id,
                role,
                e.timestamp,
            ),
        )

    def _touch(self, cur: Cursor, e: Any, **changes: Any) -> None:
        sets = "".join(f"{k} = %({k})s, " for k in changes)
        cur.execute(
            f"UPDATE projects SET {sets}updated_at = %(ts)s, version = %(v)s WHERE id = %(id)s",
            {**changes, "ts": e.timestamp, "v": e.originator_version, "id": e.originator_id},
        )

    @handles(Project.Updated)
    def updated(self, cur: Cursor, e: Any, position: int) -> None:
        changes = {k: v for k, v in e.changes.items() if k in UPDATABLE}
        if "settings" in changes:
            changes["settings"] = Jsonb(changes["settings"])
        self._touch(cur, e, **changes)

    @handles(Project.StatusChanged)
    def status_changed(self, cur: Cursor, e: Any, position: int) -> None:
        self._touch(cur, e, status=e.status)

    @handles(Project.MemberAdded)
    def member_added(self, cur: Cursor, e: Any, position: int) -> None:
        self._add_member(cur, e, e.user_id, e.role)
        self._touch(cur, e)

    @handles(Project.MemberRemoved)
    def member_removed(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "DELETE FROM project_members WHERE project_id = %s AND user_id = %s",
            (e.originator_id, e.user_id),
        )
        self._touch(cur, e)

    @handles(Project.Deleted)
    def deleted(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute("DELETE FROM project_members WHERE project_id = %s", (e.originator_id,))
        cur.execute("DELETE FROM projects WHERE id = %s", (e.originator_id,))
