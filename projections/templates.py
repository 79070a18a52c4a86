"""Project templates read model: ``project_templates`` (with ``template_data``, the phases and
tasks as one document, and the text full-text search reads), ``template_phases``,
``template_tasks`` and ``template_usage`` (their queries are in
projections/templates_queries.py).

One source: the phase and task rows and ``template_data`` are written from the same event
data, in the same statement batch; a change of phases replaces the template's rows. A use is
a ``template_usage`` row (from ``TemplateUse.Recorded``); the count is the template's
(``ProjectTemplate.UseCounted``, from the usage policy). A deleted project leaves its uses
with no project (the spec's ON DELETE SET NULL); a deleted template takes its rows along.
"""

from __future__ import annotations

from typing import Any

from psycopg import Cursor
from psycopg.types.json import Jsonb

from domain.projects import Project
from domain.templates import ProjectTemplate, TemplateUse, all_tasks, task_titles
from projections.base import Projection, handles

PLAIN_FIELDS = ("name", "description", "category", "tags", "is_public")


def template_data(phases: list[dict[str, Any]]) -> Jsonb:
    return Jsonb({"phases": phases})


class TemplatesProjection(Projection):
    name = "templates"
    tables = ("project_templates", "template_phases", "template_tasks", "template_usage")

    def _write_rows(self, cur: Cursor, e: Any, template_id: Any, phases: list[dict]) -> None:
        ids = {task["key"]: task["id"] for task in all_tasks(phases)}
        for phase in phases:
            cur.execute(
                "INSERT INTO template_phases (id, template_id, name, description, position,"
                " estimated_duration, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (
                    phase["id"],
                    template_id,
                    phase["name"],
                    phase["description"],
                    phase["position"],
                    phase["estimated_duration"],
                    e.timestamp,
                ),
            )
            for task in phase["tasks"]:
                cur.execute(
                    "INSERT INTO template_tasks (id, template_id, phase_id, title, description,"
                    " estimated_hours, dependencies, required_skills, position, created_at)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (
                        task["id"],
                        template_id,
                        phase["id"],
                        task["title"],
                        task["description"],
                        task["estimated_hours"],
                        Jsonb([ids[d] for d in task["dependencies"]]),
                        task["required_skills"],
                        task["position"],
                        e.timestamp,
                    ),
                )

    def _delete_rows(self, cur: Cursor, template_id: Any) -> None:
        cur.execute("DELETE FROM template_tasks WHERE template_id = %s", (template_id,))
        cur.execute("DELETE FROM template_phases WHERE template_id = %s", (template_id,))

    @handles(ProjectTemplate.Created)
    def created(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "INSERT INTO project_templates (id, workspace_id, name, description, category, tags,"
            " is_public, created_by, usage_count, template_data, task_titles, version,"
            " created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 0, %s, %s, %s, %s,"
            " %s)",
            (
                e.originator_id,
                e.workspace_id,
                e.name,
                e.description,
                e.category,
                list(e.tags),
                e.is_public,
                e.actor_id,
                template_data(e.phases),
                task_titles(e.phases),
                e.originator_version,
                e.timestamp,
                e.timestamp,
            ),
        )
        self._write_rows(cur, e, e.originator_id, e.phases)

    @handles(ProjectTemplate.Updated)
    def updated(self, cur: Cursor, e: Any, position: int) -> None:
        values: dict[str, Any] = {k: v for k, v in e.changes.items() if k in PLAIN_FIELDS}
        if "tags" in values:
            values["tags"] = list(values["tags"])
        if "phases" in e.changes:
            phases = e.changes["phases"]
            values["template_data"] = template_data(phases)
            values["task_titles"] = task_titles(phases)
            self._delete_rows(cur, e.originator_id)
            self._write_rows(cur, e, e.originator_id, phases)
        sets = "".join(f"{k} = %({k})s, " for k in values)
        cur.execute(
            f"UPDATE project_templates SET {sets}updated_at = %(ts)s, version = %(v)s"
            " WHERE id = %(id)s",
            {**values, "ts": e.timestamp, "v": e.originator_version, "id": e.originator_id},
        )

    @handles(ProjectTemplate.UseCounted)
    def use_counted(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "UPDATE project_templates SET usage_count = %s, version = %s WHERE id = %s",
            (e.usage_count, e.originator_version, e.originator_id),
        )

    @handles(ProjectTemplate.Deleted)
    def deleted(self, cur: Cursor, e: Any, position: int) -> None:
        self._delete_rows(cur, e.originator_id)
        cur.execute("DELETE FROM template_usage WHERE template_id = %s", (e.originator_id,))
        cur.execute("DELETE FROM project_templates WHERE id = %s", (e.originator_id,))

    @handles(TemplateUse.Recorded)
    def used(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "INSERT INTO template_usage (id, template_id, user_id, project_id, used_at,"
            " workspace_id, task_hours)"
            " SELECT %s, t.id, %s, %s, %s, %s, %s FROM project_templates t WHERE t.id = %s",
            (
                e.originator_id,
                e.actor_id,
                e.project_id,
                e.timestamp,
                e.workspace_id,
                Jsonb(e.task_hours),
                e.template_id,
            ),
        )

    @handles(Project.Deleted)
    def project_deleted(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "UPDATE template_usage SET project_id = NULL WHERE project_id = %s",
            (e.originator_id,),
        )
