"""Project templates use cases: make (also from an existing project), change, delete, use one
to start a project, and load the built-in public ones.

Who may do what: a private template is read by its workspace's members and changed by its
managers (owner, admin) or by its author while a writer there; a public one is read by anyone
signed in and changed only by an instance administrator (who alone may publish one). Using a
template needs the right to create projects in the target workspace.

Using one is a single atomic write: the project, a milestone per phase (dependent on the one
before, due on the phase's last working day), the tasks (under their phase's milestone, their
dependencies mapped to the new tasks, skills as tags), the project's task graph and milestone
plan, optionally a board with the default columns, and the ``TemplateUse`` that the usage
policy counts (application/templates_usage.py). Any failure leaves nothing behind.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from application.access import require, role_in
from application.adapters.store import EventStore, Saved, check_version
from application.authorization import MANAGERS, WRITERS, Action
from application.errors import Conflict, Forbidden, NotFound
from domain.identity import User
from domain.kanban import Board
from domain.milestones import Milestone
from domain.milestones_plan import MilestonePlan
from domain.milestones_schedule import working_days_between
from domain.projects import Project
from domain.tasks import Task, TaskGraph
from domain.templates import (
    DEFAULT_COLUMNS,
    ProjectTemplate,
    TemplateUse,
    all_tasks,
    due_dates,
    task_order,
)


def phases_from_project(
    start: date | None, milestones: list[dict[str, Any]], tasks: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """A project's milestones (by due date) as phases, their tasks as the phases' tasks
    (dependencies kept among them; tasks with no milestone in a last phase "Other tasks").
    Durations are the working days between consecutive due dates (the first: up to its due
    date from the project's start, counting the start as day 1), so using the template from
    the project's start date gives the same due dates on working days."""
    by_milestone: dict[Any, list[dict[str, Any]]] = {}
    for task in tasks:
        by_milestone.setdefault(task["milestone_id"], []).append(task)
    keys = {str(task["id"]): f"t{i + 1}" for i, task in enumerate(tasks)}

    def template_task(task: dict[str, Any]) -> dict[str, Any]:
        hours = task.get("estimated_hours")
        return {
            "key": keys[str(task["id"])],
            "title": task["title"],
            "description": task.get("description"),
            "estimated_hours": None if hours is None else float(hours),
            "required_skills": list(task.get("tags") or []),
            "dependencies": [
                keys[str(d)] for d in task.get("dependencies") or [] if str(d) in keys
            ],
        }

    phases = []
    previous: date | None = None
    for milestone in sorted(milestones, key=lambda m: (m["due_date"], str(m["id"]))):
        due = milestone["due_date"]
        if previous is not None:  # the working days since the previous milestone
            duration = max(working_days_between(previous, due), 0)
        elif start is not None:  # working day number of the due date, the start day 1
            duration = max(working_days_between(start, due) + 1, 1)
        else:
            duration = 1
        phases.append(
            {
                "name": milestone["title"],
                "description": milestone.get("description"),
                "estimated_duration": duration,
                "tasks": [template_task(t) for t in by_milestone.get(milestone["id"], [])],
            }
        )
        previous = due
    loose = [template_task(t) for t in by_milestone.get(None, [])]
    if loose or not phases:
        phases.append(
            {"name": "Other tasks", "description": None, "estimated_duration": 1, "tasks": loose}
        )
    return phases


class TemplatesService:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    # Access --------------------------------------------------------------------------------

    def is_instance_admin(self, user_id: UUID) -> bool:
        try:
            user = self.store.load(User, user_id, "user", copy=False)
        except NotFound:
            return False
        return user.role == "admin" and user.is_active and not user.deleted

    def _live(self, template_id: UUID) -> ProjectTemplate:
        template = self.store.load(ProjectTemplate, template_id, "template")
        if template.deleted:
            raise NotFound("template not found")
        return template

    def _check_readable(self, template: ProjectTemplate, actor_id: UUID) -> None:
        if template.is_public:
            return
        if template.workspace_id is None:
            raise NotFound("template not found")
        require(self.store, template.workspace_id, actor_id, Action.TEMPLATE_READ, "template")

    def _check_may_change(self, template: ProjectTemplate, actor_id: UUID) -> None:
        """Public: instance administrators only. Private: the workspace's managers, or its
        author while a writer there; outsiders get 404, other members 403."""
        if template.is_public or template.workspace_id is None:
            if not self.is_instance_admin(actor_id):
                raise Forbidden("only an instance administrator may change a public template")
            return
        role = role_in(self.store, template.workspace_id, actor_id)
        if role is None:
            raise NotFound("template not found")
        if role in MANAGERS or (role in WRITERS and template.created_by == actor_id):
            return
        raise Forbidden(
            "only the workspace's owners and admins, or the template's author, may change it"
        )

    def _check_may_publish(self, actor_id: UUID) -> None:
        if not self.is_instance_admin(actor_id):
            raise Forbidden("only an instance administrator may make a template public")

    def readable(self, *, template_id: UUID, actor_id: UUID) -> ProjectTemplate:
        template = self._live(template_id)
        self._check_readable(template, actor_id)
        return template

    def readable_project(self, *, project_id: UUID, actor_id: UUID) -> Project:
        """A project the caller may read (saving it as a template)."""
        project = self.store.load(Project, project_id, "project")
        if project.deleted:
            raise NotFound("project not found")
        require(self.store, project.workspace_id, actor_id, Action.PROJECT_READ, "project")
        return project

    # Commands ------------------------------------------------------------------------------

    def create(
        self,
        *,
        workspace_id: UUID,
        actor_id: UUID,
        name: str,
        description: str | None = None,
        category: str | None = None,
        tags: list[str] | None = None,
        is_public: bool = False,
        phases: list[dict[str, Any]],
    ) -> Saved:
        def command() -> tuple[UUID, list[ProjectTemplate]]:
            require(self.store, workspace_id, actor_id, Action.TEMPLATE_WRITE, "workspace")
            if is_public:
                self._check_may_publish(actor_id)
            template = ProjectTemplate.create(
                workspace_id=workspace_id,
                name=name,
                description=description,
                category=category,
                tags=list(tags or []),
                is_public=is_public,
                phases=phases,
                actor_id=actor_id,
            )
            return template.id, [template]

        return self.store.run(command)

    def update(
        self, *, template_id: UUID, actor_id: UUID, expected_version: int | None, **fields: Any
    ) -> Saved:
        def command() -> tuple[None, list[ProjectTemplate]]:
            template = self._live(template_id)
            self._check_may_change(template, actor_id)
            check_version(template, expected_version)
            if fields.get("is_public") and not template.is_public:
                self._check_may_publish(actor_id)
            if fields.get("is_public") is False and template.workspace_id is None:
                raise Conflict("a built-in template has no workspace to be private to")
            template.update(actor_id, **fields)
            return None, [template]

        return self.store.run(command)

    def delete(self, *, template_id: UUID, actor_id: UUID, expected_version: int | None) -> Saved:
        def command() -> tuple[None, list[ProjectTemplate]]:
            template = self._live(template_id)
            self._check_may_change(template, actor_id)
            check_version(template, expected_version)
            template.delete(actor_id)
            return None, [template]

        return self.store.run(command)

    def use(
        self,
        *,
        template_id: UUID,
        actor_id: UUID,
        workspace_id: UUID,
        project_name: str,
        start_date: date,
        description: str | None = None,
        create_board: bool = False,
        board_name: str | None = None,
    ) -> Saved:
        """Start a project from the template (see the module's docstring); the value says
        what was made: ``project_id``, ``milestone_ids`` (by phase), ``task_ids`` (in the
        template's order) and ``board_id`` (or None)."""

        def command() -> tuple[dict[str, Any], list[Any]]:
            template = self._live(template_id)
            self._check_readable(template, actor_id)
            require(self.store, workspace_id, actor_id, Action.PROJECT_WRITE, "workspace")
            phases = template.phases
            dates = due_dates(start_date, phases)
            project = Project(
                workspace_id=workspace_id,
                name=project_name,
                description=description if description is not None else template.description,
                status="planning",
                priority="medium",
                start_date=start_date,
                end_date=max(dates[-1], start_date) if dates else None,
                budget=None,
                owner_id=actor_id,
                settings={},
                actor_id=actor_id,
            )
            plan = MilestonePlan(
                workspace_id=workspace_id, project_id=project.id, actor_id=actor_id
            )
            milestones: list[Milestone] = []
            phase_of: dict[str, int] = {}
            for i, phase in enumerate(phases):
                dependencies = [milestones[-1].id] if milestones else []
                milestone = Milestone(
                    workspace_id=workspace_id,
                    project_id=project.id,
                    title=phase["name"],
                    description=phase.get("description"),
                    due_date=dates[i],
                    status="pending",
                    priority="medium",
                    progress=0,
                    assignee_ids=[],
                    dependencies=dependencies,
                    actor_id=actor_id,
                )
                plan.place(actor_id, milestone.id, dependencies)
                milestones.append(milestone)
                for task in phase["tasks"]:
                    phase_of[task["key"]] = i
            specs = {task["key"]: task for task in all_tasks(phases)}
            graph = TaskGraph(workspace_id=workspace_id, project_id=project.id, actor_id=actor_id)
            # Ids first, so that tasks are made in the template's order (their creation
            # order in the project) with their dependencies already mapped.
            ids = {key: uuid.uuid4() for key in specs}
            made: dict[str, Task] = {}
            for key, spec in specs.items():
                hours = spec["estimated_hours"]
                made[key] = Task._create(
                    Task.Created,
                    id=ids[key],
                    workspace_id=workspace_id,
                    project_id=project.id,
                    title=spec["title"],
                    description=spec["description"],
                    status="todo",
                    priority="medium",
                    estimated_hours=None if hours is None else Decimal(str(hours)),
                    assignee_id=None,
                    due_date=None,
                    tags=list(spec["required_skills"]),
                    milestone_id=milestones[phase_of[key]].id,
                    parent_task_id=None,
                    dependencies=[ids[d] for d in spec["dependencies"]],
                    actor_id=actor_id,
                )
            for key in task_order(phases):  # dependencies first: the graph checks each link
                dependencies = [ids[d] for d in specs[key]["dependencies"]]
                if dependencies:
                    graph.link(actor_id, ids[key], None, dependencies)
            changed: list[Any] = [project, *milestones, plan]
            changed += made.values()
            if graph.pending_events[1:]:
                changed.append(graph)
            board_id = None
            if create_board:
                board = Board(
                    workspace_id=workspace_id,
                    project_id=project.id,
                    name=board_name or project_name,
                    description=None,
                    settings={},
                    actor_id=actor_id,
                )
                for column in DEFAULT_COLUMNS:
                    board.add_column(actor_id=actor_id, column_id=uuid.uuid4(), **column)
                changed.append(board)
                board_id = board.id
            changed.append(
                TemplateUse(
                    template_id=template.id,
                    workspace_id=workspace_id,
                    project_id=project.id,
                    actor_id=actor_id,
                    task_hours={
                        str(task.id): specs[key]["estimated_hours"] for key, task in made.items()
                    },
                )
            )
            made_ids = {
                "project_id": project.id,
                "milestone_ids": [m.id for m in milestones],
                "task_ids": [made[t["key"]].id for t in all_tasks(phases)],
                "board_id": board_id,
            }
            return made_ids, changed

        return self.store.run(command)

    # Built-in templates --------------------------------------------------------------------

    def seed(self, templates: list[dict[str, Any]]) -> list[str]:
        """Create the built-in public templates that do not exist yet (idempotent: each has a
        fixed id from its slug); returns the slugs created."""
        created = []
        for spec in templates:
            template_id = builtin_id(spec["slug"])
            if self.store.exists(template_id):
                continue
            fields = {k: v for k, v in spec.items() if k != "slug"}

            def command(fields: dict[str, Any] = fields, template_id: UUID = template_id) -> Any:
                if self.store.exists(template_id):  # another seed got there first
                    return None, []
                template = ProjectTemplate.create(
                    workspace_id=None,
                    is_public=True,
                    actor_id=None,
                    template_id=template_id,
                    **fields,
                )
                return template.id, [template]

            if self.store.run(command).value is None:
                continue
            created.append(spec["slug"])
        return created


def builtin_id(slug: str) -> UUID:
    return uuid.uuid5(uuid.UUID("3c3b5f5e-8d52-4c55-a3a5-5d1f0e6b7a10"), f"template:{slug}")


def _ratio(part: Any, whole: Any, digits: int = 4) -> float | None:
    return round(float(part) / float(whole), digits) if whole else None


def analytics_report(template_id: UUID, usage_count: int, figures: dict[str, Any]) -> dict:
    """The analytics answer from the read model's figures (projections/templates_queries.py
    ``analytics``): on-time rate = milestones completed by their due date / (completed +
    overdue: open past their due date); estimate ratio = tracked / estimated hours over the
    created tasks with time tracked."""
    projects, milestones, estimates = (
        figures["projects"],
        figures["milestones"],
        figures["estimates"],
    )
    decided = milestones["completed"] + milestones["overdue"]
    estimated, tracked = Decimal(estimates["estimated_hours"]), Decimal(estimates["tracked_hours"])
    return {
        "template_id": template_id,
        "usage_count": usage_count,
        "uses_per_week": [
            {"week_start": w["week_start"], "uses": w["uses"]} for w in figures["weeks"]
        ],
        "projects_created": projects["uses"],
        "projects_existing": projects["projects"],
        "projects_completed": projects["completed"],
        "completion_rate": _ratio(projects["completed"], projects["uses"]),
        "milestones": {
            "completed": milestones["completed"],
            "on_time": milestones["on_time"],
            "overdue": milestones["overdue"],
            "on_time_rate": _ratio(milestones["on_time"], decided),
        },
        "estimates": {
            "tasks_tracked": estimates["tasks"],
            "estimated_hours": float(estimated),
            "tracked_hours": float(tracked),
            "tracked_to_estimated": _ratio(tracked, estimated),
        },
    }
