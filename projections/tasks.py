"""Tasks read model: the ``tasks`` table (its member-scoped queries are in projections/tasks_queries.py).

``completed_at`` is the timestamp of the event that moved the task into 'done' (cleared when it
leaves 'done'); a project's deletion removes its tasks (the spec's ON DELETE CASCADE), a milestone's deletion
unlinks them (ON DELETE SET NULL).
"""

from __future__ import annotations

from typing import Any

from psycopg import Cursor
from psycopg.types.json import Jsonb

from domain.milestones import Milestone
from domain.projects import Project
from domain.tasks import Task
from projections.base import Projection, handles
from projections.time_tracking import TrackedTime

UPDATABLE = {
    "title",
    "description",
    "priority",
    "estimated_hours",
    "due_date",
    "tags",
    "milestone_id",
}


def _ids(values: list[Any]) -> Jsonb:
    return Jsonb([str(v) for v in values])


class TasksProjection(TrackedTime, Projection):
    name = "tasks"
    tables = ("tasks", "task_time")
    tracked_type, tracked_table, tracked_rows = "task", "task_time", "tasks"
    deferred_indexes = (  # tasks are found by id and by project
        "idx_tasks_milestone",
        "idx_tasks_assignee",
        "idx_tasks_status",
        "idx_tasks_workspace",
    )

    def _set(self, cur: Cursor, e: Any, assignments: str, values: dict[str, Any]) -> None:
        cur.execute(
            f"UPDATE tasks SET {assignments}, updated_at = %(ts)s, version = %(v)s"
            " WHERE id = %(id)s",
            {**values, "ts": e.timestamp, "v": e.originator_version, "id": e.originator_id},
        )

    @handles(Task.Created)
    def created(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "INSERT INTO tasks (id, workspace_id, project_id, milestone_id, parent_task_id,"
            " title, description, status, priority, estimated_hours, actual_hours, assignee_id,"
            " created_by, due_date, completed_at, tags, dependencies, version, created_at,"
            " updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 0, %s, %s, %s, %s, %s,"
            " %s, %s, %s, %s)",
            (
                e.originator_id,
                e.workspace_id,
                e.project_id,
                e.milestone_id,
                e.parent_task_id,
                e.title,
                e.description,
                e.status,
                e.priority,
                e.estimated_hours,
                e.assignee_id,
                e.actor_id,
                e.due_date,
                e.timestamp if e.status == "done" else None,
                list(e.tags),
                _ids(e.dependencies),
                e.originator_version,
                e.timestamp,
                e.timestamp,
            ),
        )

    @handles(Task.Updated)
    def updated(self, cur: Cursor, e: Any, position: int) -> None:
        changes = {k: v for k, v in e.changes.items() if k in UPDATABLE}
        if "tags" in changes:
            changes["tags"] = list(changes["tags"])
        sets = ", ".join(f"{k} = %({k})s" for k in changes) or "id = id"
        self._set(cur, e, sets, changes)

    @handles(Task.StatusChanged)
    def status_changed(self, cur: Cursor, e: Any, position: int) -> None:
        self._set(
            cur,
            e,
            "status = %(status)s, completed_at = CASE WHEN %(done)s THEN"
            " coalesce(completed_at, %(ts)s) ELSE NULL END",
            {"status": e.status, "done": e.status == "done"},
        )

    @handles(Task.Assigned)
    def assigned(self, cur: Cursor, e: Any, position: int) -> None:
        self._set(cur, e, "assignee_id = %(a)s", {"a": e.assignee_id})

    @handles(Task.ParentChanged)
    def parent_changed(self, cur: Cursor, e: Any, position: int) -> None:
        self._set(cur, e, "parent_task_id = %(p)s", {"p": e.parent_task_id})

    @handles(Task.DependenciesChanged)
    def dependencies_changed(self, cur: Cursor, e: Any, position: int) -> None:
        self._set(cur, e, "dependencies = %(d)s", {"d": _ids(e.dependencies)})

    @handles(Task.Deleted)
    def deleted(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute("DELETE FROM tasks WHERE id = %s", (e.originator_id,))

    @handles(Project.Deleted)
    def project_deleted(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute("DELETE FROM tasks WHERE project_id = %s", (e.originator_id,))

    @handles(Milestone.Deleted)
    def milestone_deleted(self, cur: Cursor, e: Any, position: int) -> None:
        """The spec's ON DELETE SET NULL (the milestones policy unlinks the tasks too)."""
        cur.execute(
            "UPDATE tasks SET milestone_id = NULL WHERE milestone_id = %s", (e.originator_id,)
        )
