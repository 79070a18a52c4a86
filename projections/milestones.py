"""Milestones read model: ``milestones``, ``milestone_assignees``, ``deliverables`` and
``milestone_templates`` (their queries are in projections/milestones_queries.py).

A milestone row's version is its aggregate's; a deliverable's is its own (1, then +1 on each
change), as the aggregate counts it. A project's deletion removes its milestones (the spec's
ON DELETE CASCADE); a milestone's deletion its assignees and deliverables (the tasks
projection unlinks its tasks).
"""

from __future__ import annotations

from typing import Any

from psycopg import Cursor
from psycopg.types.json import Jsonb

from domain.milestones import Milestone
from domain.milestones_templates import MilestoneTemplate
from domain.projects import Project
from projections.base import Projection, handles, row_id

UPDATABLE = {"title", "description", "due_date", "priority"}
DELIVERABLE_UPDATABLE = {"title", "description", "type", "status", "due_date"}
TEMPLATE_UPDATABLE = {
    "name": "name",
    "description": "description",
    "category": "category",
    "is_public": "is_public",
    "milestones": "milestones_data",
    "deliverables": "deliverables_data",
}
INSERT_ASSIGNEE = (
    "INSERT INTO milestone_assignees (id, workspace_id, milestone_id, user_id, assigned_at)"
    " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (milestone_id, user_id) DO NOTHING"
)


def _ids(values: list[Any]) -> Jsonb:
    return Jsonb([str(v) for v in values])


class MilestonesProjection(Projection):
    name = "milestones"
    tables = ("milestones", "milestone_assignees", "deliverables", "milestone_templates")

    def _set(self, cur: Cursor, e: Any, assignments: str = "", **values: Any) -> None:
        """Change a milestone row and record the event's version on it."""
        prefix = f"{assignments}, " if assignments else ""
        cur.execute(
            f"UPDATE milestones SET {prefix}updated_at = %(ts)s, version = %(v)s WHERE id = %(id)s",
            {**values, "ts": e.timestamp, "v": e.originator_version, "id": e.originator_id},
        )

    def _assign(self, cur: Cursor, e: Any, user_ids: list[Any]) -> None:
        for user_id in user_ids:
            cur.execute(
                INSERT_ASSIGNEE,
                (
                    row_id("milestone-assignee", e.originator_id, user_id),
                    e.workspace_id,
                    e.originator_id,
                    user_id,
                    e.timestamp,
                ),
            )

    # Milestones -----------------------------------------------------------------------------

    @handles(Milestone.Created)
    def created(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "INSERT INTO milestones (id, workspace_id, project_id, title, description, due_date,"
            " status, priority, progress, dependencies, created_by, version, created_at,"
            " updated_at, completed_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
            " %s, %s, %s)",
            (
                e.originator_id,
                e.workspace_id,
                e.project_id,
                e.title,
                e.description,
                e.due_date,
                e.status,
                e.priority,
                e.progress,
                _ids(e.dependencies),
                e.actor_id,
                e.originator_version,
                e.timestamp,
                e.timestamp,
                e.timestamp if e.status == "completed" else None,
            ),
        )
        self._assign(cur, e, e.assignee_ids)

    @handles(Milestone.Updated)
    def updated(self, cur: Cursor, e: Any, position: int) -> None:
        changes = {k: v for k, v in e.changes.items() if k in UPDATABLE}
        self._set(cur, e, ", ".join(f"{k} = %({k})s" for k in changes), **changes)

    @handles(Milestone.AssigneesChanged)
    def assignees_changed(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "DELETE FROM milestone_assignees WHERE milestone_id = %s AND NOT user_id = ANY(%s)",
            (e.originator_id, list(e.assignee_ids)),
        )
        self._assign(cur, e, e.assignee_ids)
        self._set(cur, e)

    @handles(Milestone.DependenciesChanged)
    def dependencies_changed(self, cur: Cursor, e: Any, position: int) -> None:
        self._set(cur, e, "dependencies = %(d)s", d=_ids(e.dependencies))

    @handles(Milestone.StatusChanged)
    def status_changed(self, cur: Cursor, e: Any, position: int) -> None:
        self._set(
            cur,
            e,
            "status = %(s)s, completed_at = NULL, forced_completion = false",
            s=e.status,
        )

    @handles(Milestone.Completed)
    def completed(self, cur: Cursor, e: Any, position: int) -> None:
        self._set(
            cur,
            e,
            "status = 'completed', completed_at = %(ts)s, forced_completion = %(f)s",
            f=e.forced,
        )

    @handles(Milestone.ProgressUpdated)
    def progress_updated(self, cur: Cursor, e: Any, position: int) -> None:
        self._set(cur, e, "progress = %(p)s, progress_source = %(src)s", p=e.progress, src=e.source)

    @handles(Milestone.Deleted)
    def deleted(self, cur: Cursor, e: Any, position: int) -> None:
        for table, column in (
            ("milestone_assignees", "milestone_id"),
            ("deliverables", "milestone_id"),
            ("milestones", "id"),
        ):
            cur.execute(f"DELETE FROM {table} WHERE {column} = %s", (e.originator_id,))

    @handles(Project.Deleted)
    def project_deleted(self, cur: Cursor, e: Any, position: int) -> None:
        for table in ("milestone_assignees", "deliverables"):
            cur.execute(
                f"DELETE FROM {table} WHERE milestone_id IN"
                " (SELECT id FROM milestones WHERE project_id = %s)",
                (e.originator_id,),
            )
        cur.execute("DELETE FROM milestones WHERE project_id = %s", (e.originator_id,))

    # Deliverables ---------------------------------------------------------------------------

    @handles(Milestone.DeliverableAdded)
    def deliverable_added(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "INSERT INTO deliverables (id, workspace_id, milestone_id, title, description, type,"
            " status, due_date, created_by, version, created_at, updated_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 1, %s, %s)",
            (
                e.deliverable_id,
                e.workspace_id,
                e.originator_id,
                e.title,
                e.description,
                e.type,
                e.status,
                e.due_date,
                e.actor_id,
                e.timestamp,
                e.timestamp,
            ),
        )
        self._set(cur, e)

    @handles(Milestone.DeliverableUpdated)
    def deliverable_updated(self, cur: Cursor, e: Any, position: int) -> None:
        changes = {k: v for k, v in e.changes.items() if k in DELIVERABLE_UPDATABLE}
        sets = "".join(f"{k} = %({k})s, " for k in changes)
        cur.execute(
            f"UPDATE deliverables SET {sets}version = version + 1, updated_at = %(ts)s"
            " WHERE id = %(id)s",
            {**changes, "ts": e.timestamp, "id": e.deliverable_id},
        )
        self._set(cur, e)

    @handles(Milestone.DeliverableRemoved)
    def deliverable_removed(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute("DELETE FROM deliverables WHERE id = %s", (e.deliverable_id,))
        self._set(cur, e)

    # Templates ------------------------------------------------------------------------------

    @handles(MilestoneTemplate.Created)
    def template_created(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "INSERT INTO milestone_templates (id, workspace_id, name, description, category,"
            " milestones_data, deliverables_data, created_by, is_public, usage_count, version,"
            " created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 0, %s, %s, %s)",
            (
                e.originator_id,
                e.workspace_id,
                e.name,
                e.description,
                e.category,
                Jsonb(e.milestones),
                Jsonb(e.deliverables),
                e.actor_id,
                e.is_public,
                e.originator_version,
                e.timestamp,
                e.timestamp,
            ),
        )

    def _set_template(self, cur: Cursor, e: Any, values: dict[str, Any]) -> None:
        sets = "".join(f"{k} = %({k})s, " for k in values)
        cur.execute(
            f"UPDATE milestone_templates SET {sets}updated_at = %(ts)s, version = %(v)s"
            " WHERE id = %(id)s",
            {**values, "ts": e.timestamp, "v": e.originator_version, "id": e.originator_id},
        )

    @handles(MilestoneTemplate.Updated)
    def template_updated(self, cur: Cursor, e: Any, position: int) -> None:
        values = {
            TEMPLATE_UPDATABLE[k]: Jsonb(v) if k in ("milestones", "deliverables") else v
            for k, v in e.changes.items()
            if k in TEMPLATE_UPDATABLE
        }
        self._set_template(cur, e, values)

    @handles(MilestoneTemplate.Used)
    def template_used(self, cur: Cursor, e: Any, position: int) -> None:
        self._set_template(cur, e, {"usage_count": e.usage_count})

    @handles(MilestoneTemplate.Deleted)
    def template_deleted(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute("DELETE FROM milestone_templates WHERE id = %s", (e.originator_id,))
