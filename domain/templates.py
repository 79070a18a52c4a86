"""Project templates: a pattern of phases (ordered, each with an estimated duration in working
days) and template tasks per phase, public to the whole instance or private to its workspace.

A template task is named within its template by a ``key`` (given, or ``"<phase>.<task>"``
counting from 1) and depends on other tasks of the template by their keys: an unknown key or
a dependency that closes a cycle is refused (409) naming it. Phases and tasks carry ids of
their own (the read table's rows); an update keeps the id of a phase at the same position and
of a task with the same key.

Using a template creates a project (application/templates.py); each use is recorded as a
``TemplateUse`` of its own, and the template's ``usage_count`` is kept by a policy
(``ProjectTemplate.UseCounted``), so uses never contend on the template.
"""

from __future__ import annotations

import uuid
from datetime import date
from graphlib import CycleError, TopologicalSorter
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.milestones_schedule import add_working_days
from domain.shared import Gone, RuleBroken

TEMPLATE_FIELDS = ("name", "description", "category", "tags", "is_public", "phases")
# The board a template's project may get: the columns a new team usually starts with.
DEFAULT_COLUMNS = (
    {"name": "To Do", "color": None, "wip_limit": None, "is_done_column": False},
    {"name": "In Progress", "color": None, "wip_limit": None, "is_done_column": False},
    {"name": "Review", "color": None, "wip_limit": None, "is_done_column": False},
    {"name": "Done", "color": None, "wip_limit": None, "is_done_column": True},
)


class UnknownDependency(RuleBroken):
    code = "unknown-dependency"

    def __init__(self, task: str, dependency: str) -> None:
        super().__init__(
            f"task {task!r} depends on {dependency!r}, which is not a task of this template",
            task=task,
            dependency=dependency,
        )


class DependencyCycle(RuleBroken):
    code = "cycle"

    def __init__(self, cycle: list[str]) -> None:
        super().__init__(f"the task dependencies form a cycle: {' -> '.join(cycle)}", cycle=cycle)


def _hours(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)


def normalized(
    phases: list[dict[str, Any]], previous: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The phases as a template keeps them: positions, keys, ids, rounded hours; checked
    (distinct keys, known dependencies, no cycle, durations not negative)."""
    old_phase_ids = [p["id"] for p in previous or []]
    old_task_ids = {t["key"]: t["id"] for p in previous or [] for t in p["tasks"]}
    result: list[dict[str, Any]] = []
    seen: set[str] = set()
    for p, phase in enumerate(phases):
        duration = int(phase.get("estimated_duration") or 0)
        if duration < 0:
            raise RuleBroken(f"phase {p + 1}: the estimated duration may not be negative")
        tasks = []
        for t, task in enumerate(phase.get("tasks", [])):
            key = task.get("key") or f"{p + 1}.{t + 1}"
            if key in seen:
                raise RuleBroken(f"task key {key!r} is used twice", key=key)
            seen.add(key)
            hours = _hours(task.get("estimated_hours"))
            if hours is not None and hours < 0:
                raise RuleBroken(f"task {key!r}: estimated hours may not be negative")
            tasks.append(
                {
                    "id": old_task_ids.get(key) or str(uuid.uuid4()),
                    "key": key,
                    "title": task["title"],
                    "description": task.get("description"),
                    "estimated_hours": hours,
                    "required_skills": list(dict.fromkeys(task.get("required_skills", []))),
                    "dependencies": list(dict.fromkeys(task.get("dependencies", []))),
                    "position": t,
                }
            )
        result.append(
            {
                "id": old_phase_ids[p] if p < len(old_phase_ids) else str(uuid.uuid4()),
                "name": phase["name"],
                "description": phase.get("description"),
                "estimated_duration": duration,
                "position": p,
                "tasks": tasks,
            }
        )
    task_order(result)  # refuses unknown dependencies and cycles
    return result


def all_tasks(phases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [task for phase in phases for task in phase["tasks"]]


def task_order(phases: list[dict[str, Any]]) -> list[str]:
    """The tasks' keys, each after the tasks it depends on."""
    graph: dict[str, list[str]] = {}
    for task in all_tasks(phases):
        graph[task["key"]] = task["dependencies"]
    for key, dependencies in graph.items():
        for dependency in dependencies:
            if dependency not in graph:
                raise UnknownDependency(key, dependency)
            if dependency == key:
                raise DependencyCycle([key, key])
    try:
        return list(TopologicalSorter(graph).static_order())
    except CycleError as e:
        raise DependencyCycle([str(k) for k in reversed(e.args[1])]) from None


def due_dates(start: date, phases: list[dict[str, Any]]) -> list[date]:
    """Each phase's last working day (Monday to Friday): phases follow one another from the
    first working day on or after ``start``; a phase of N days ends on working day number
    (the durations so far), counting that first day as day 1 (a phase of 0 days ends with the
    one before it, or on the first working day)."""
    dates, elapsed = [], 0
    for phase in phases:
        elapsed += phase["estimated_duration"]
        try:
            dates.append(add_working_days(start, max(elapsed - 1, 0)))
        except OverflowError:
            raise RuleBroken("the template's dates would fall after the year 9999") from None
    return dates


def task_titles(phases: list[dict[str, Any]]) -> str:
    """What full-text search reads of the tasks."""
    return " ".join(task["title"] for task in all_tasks(phases))


class ProjectTemplate(Aggregate):
    @classmethod
    def create(
        cls,
        *,
        workspace_id: UUID | None,
        name: str,
        description: str | None,
        category: str | None,
        tags: list[str],
        is_public: bool,
        phases: list[dict[str, Any]],
        actor_id: UUID | None,
        template_id: UUID | None = None,
    ) -> ProjectTemplate:
        return cls._create(
            cls.Created,
            id=template_id or uuid.uuid4(),
            workspace_id=workspace_id,
            name=name,
            description=description,
            category=category,
            tags=list(dict.fromkeys(tags)),
            is_public=is_public,
            phases=normalized(phases),
            actor_id=actor_id,
        )

    @event("Created")
    def __init__(
        self,
        workspace_id: UUID | None,
        name: str,
        description: str | None,
        category: str | None,
        tags: list[str],
        is_public: bool,
        phases: list[dict[str, Any]],
        actor_id: UUID | None,
    ) -> None:
        self.workspace_id = workspace_id
        self.name = name
        self.description = description
        self.category = category
        self.tags = tags
        self.is_public = is_public
        self.phases = phases
        self.created_by = actor_id
        self.usage_count = 0
        self.deleted = False

    def _check_live(self) -> None:
        if self.deleted:
            raise Gone("template not found")

    def update(self, actor_id: UUID, **fields: Any) -> None:
        """Change any of TEMPLATE_FIELDS; unchanged ones are not recorded."""
        self._check_live()
        unknown = set(fields) - set(TEMPLATE_FIELDS)
        if unknown:
            raise RuleBroken(f"not a template field: {', '.join(sorted(unknown))}")
        if "phases" in fields:
            fields["phases"] = normalized(fields["phases"], self.phases)
        if "tags" in fields:
            fields["tags"] = list(dict.fromkeys(fields["tags"]))
        changes = {k: v for k, v in fields.items() if getattr(self, k) != v}
        if changes:
            self._updated(actor_id=actor_id, workspace_id=self.workspace_id, changes=changes)

    @event("Updated")
    def _updated(self, actor_id: UUID, workspace_id: UUID | None, changes: dict[str, Any]) -> None:
        for key, value in changes.items():
            setattr(self, key, value)

    def count_use(self, use_id: UUID) -> None:
        """One more use (the usage policy, once per TemplateUse). The template's workspace
        is told the count, not who used it where."""
        self._check_live()
        self._use_counted(
            actor_id=None,
            workspace_id=self.workspace_id,
            use_id=use_id,
            usage_count=self.usage_count + 1,
        )

    @event("UseCounted")
    def _use_counted(
        self, actor_id: None, workspace_id: UUID | None, use_id: UUID, usage_count: int
    ) -> None:
        self.usage_count = usage_count

    def delete(self, actor_id: UUID) -> None:
        self._check_live()
        self._deleted(actor_id=actor_id, workspace_id=self.workspace_id)

    @event("Deleted")
    def _deleted(self, actor_id: UUID, workspace_id: UUID | None) -> None:
        self.deleted = True


class TemplateUse(Aggregate):
    """One use of a template: the project it made (in ``workspace_id``), by whom, and the
    tasks it created with the template's estimated hours for each (estimate accuracy)."""

    @event("Recorded")
    def __init__(
        self,
        template_id: UUID,
        workspace_id: UUID,
        project_id: UUID,
        actor_id: UUID,
        task_hours: dict[str, float | None],
    ) -> None:
        self.template_id = template_id
        self.workspace_id = workspace_id
        self.project_id = project_id
        self.task_hours = task_hours
