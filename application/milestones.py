"""Milestones use cases: milestones of a project, their deliverables, milestone templates and
applying a template to a project. Dependencies between milestones are decided by the project's
MilestonePlan, saved in the same atomic write as the milestones it changes; commands that
touch it take turns on it (``serialize_on``)."""

from __future__ import annotations

import uuid
from datetime import date
from graphlib import TopologicalSorter
from typing import Any
from uuid import UUID

from application.access import live_project, require, role_in
from application.adapters.store import EventStore, Saved, check_version
from application.authorization import Action
from application.errors import Invalid, NotFound, PreconditionFailed
from domain.milestones import CONTENT_FIELDS, DELIVERABLE_FIELDS, Milestone
from domain.milestones_plan import MilestonePlan
from domain.milestones_templates import MilestoneTemplate, dated, template_problem
from domain.projects import Project

NOT_BLOCKING = ("completed", "cancelled")  # dependency states that let a milestone complete


def invalid(field: str, message: str) -> Invalid:
    """A 422 naming the body field at fault, shaped like the validation errors."""
    return Invalid(
        f"{field}: {message}",
        errors=[{"field": field, "location": "body", "message": message, "type": "value_error"}],
    )


def live_milestone(
    store: EventStore, milestone_id: UUID, user_id: UUID, action: Action
) -> Milestone:
    """A milestone (of a live project) the caller may act on, or NotFound/Forbidden."""
    milestone = store.load(Milestone, milestone_id, "milestone")
    if milestone.deleted:
        raise NotFound("milestone not found")
    require(store, milestone.workspace_id, user_id, action, "milestone")
    project = store.load(Project, milestone.project_id, "milestone")
    if project.deleted:
        raise NotFound("milestone not found")
    return milestone


def check_deliverable_version(
    milestone: Milestone, deliverable_id: UUID, expected: int | None
) -> None:
    """If-Match on a deliverable: its own version (1, then +1 on each change)."""
    current = milestone.deliverable(deliverable_id)["version"]
    if expected is not None and current != expected:
        raise PreconditionFailed(
            f"version {expected} is stale; the current version is {current}",
            current_version=current,
        )


class MilestonesService:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    # Reads (authorization from the write model; rows come from the read model) -----------

    def readable_project(self, *, project_id: UUID, actor_id: UUID) -> Project:
        return live_project(self.store, project_id, actor_id, Action.MILESTONE_READ)

    def readable_workspace(self, *, workspace_id: UUID, actor_id: UUID) -> None:
        require(self.store, workspace_id, actor_id, Action.MILESTONE_READ, "workspace")

    # Helpers -------------------------------------------------------------------------------

    def _plan(self, project_id: UUID, workspace_id: UUID, actor_id: UUID) -> MilestonePlan:
        try:
            return self.store.load(MilestonePlan, MilestonePlan.id_for(project_id))
        except NotFound:
            # Two first writers both create it: one clashes, retries and loads this one.
            return MilestonePlan(
                workspace_id=workspace_id, project_id=project_id, actor_id=actor_id
            )

    def _check_assignees(self, workspace_id: UUID, assignee_ids: list[UUID]) -> None:
        for user_id in assignee_ids:
            if role_in(self.store, workspace_id, user_id) is None:
                raise invalid("assignee_ids", f"user {user_id} is not a member of this workspace")

    def _incomplete_dependencies(self, milestone: Milestone) -> list[str]:
        incomplete = []
        for dependency_id in milestone.dependencies:
            try:
                dependency = self.store.load(Milestone, dependency_id, copy=False)
            except NotFound:
                continue
            if not dependency.deleted and dependency.status not in NOT_BLOCKING:
                incomplete.append(str(dependency_id))
        return incomplete

    # Milestones ----------------------------------------------------------------------------

    def create(
        self,
        *,
        project_id: UUID,
        actor_id: UUID,
        title: str,
        due_date: date,
        description: str | None = None,
        status: str = "pending",
        priority: str = "medium",
        progress: int = 0,
        assignee_ids: list[UUID] | None = None,
        dependencies: list[UUID] | None = None,
    ) -> Saved:
        assignees = list(assignee_ids or [])
        depends_on = list(dependencies or [])

        def command() -> tuple[UUID, list[Any]]:
            project = live_project(self.store, project_id, actor_id, Action.MILESTONE_WRITE)
            self._check_assignees(project.workspace_id, assignees)
            milestone = Milestone(
                workspace_id=project.workspace_id,
                project_id=project_id,
                title=title,
                description=description,
                due_date=due_date,
                status=status,
                priority=priority,
                progress=progress,
                assignee_ids=assignees,
                dependencies=depends_on,
                actor_id=actor_id,
            )
            plan = self._plan(project_id, project.workspace_id, actor_id)
            plan.place(actor_id, milestone.id, depends_on)
            return milestone.id, [milestone, plan]

        return self.store.run(command, serialize_on=MilestonePlan.id_for(project_id))

    def update(
        self,
        *,
        milestone_id: UUID,
        actor_id: UUID,
        expected_version: int | None,
        force: bool = False,
        **fields: Any,
    ) -> Saved:
        """Change content, assignees, dependencies, progress (by hand) and status; completing
        needs the dependencies completed unless ``force``."""
        project_id = live_milestone(
            self.store, milestone_id, actor_id, Action.MILESTONE_WRITE
        ).project_id
        relinks = "dependencies" in fields

        def command() -> tuple[None, list[Any]]:
            milestone = live_milestone(self.store, milestone_id, actor_id, Action.MILESTONE_WRITE)
            check_version(milestone, expected_version)
            changed: list[Any] = [milestone]
            if relinks:
                plan = self._plan(project_id, milestone.workspace_id, actor_id)
                plan.place(actor_id, milestone.id, fields["dependencies"])
                milestone.change_dependencies(actor_id, fields["dependencies"])
                changed.append(plan)
            if "assignee_ids" in fields:
                self._check_assignees(milestone.workspace_id, fields["assignee_ids"])
                milestone.assign(actor_id, fields["assignee_ids"])
            milestone.update(actor_id, **{k: fields[k] for k in CONTENT_FIELDS if k in fields})
            if "progress" in fields:
                milestone.set_progress(actor_id, fields["progress"])
            if "status" in fields:
                completing = fields["status"] == "completed" and milestone.status != "completed"
                incomplete = self._incomplete_dependencies(milestone) if completing else []
                milestone.change_status(actor_id, fields["status"], incomplete, force)
            return None, changed

        if not relinks:
            return self.store.run(command)
        return self.store.run(command, serialize_on=MilestonePlan.id_for(project_id))

    def delete(self, *, milestone_id: UUID, actor_id: UUID, expected_version: int | None) -> Saved:
        """Delete a milestone: other milestones' dependencies on it are removed, its tasks
        unlinked (the read model at once, the tasks by the milestones policy)."""
        project_id = live_milestone(
            self.store, milestone_id, actor_id, Action.MILESTONE_DELETE
        ).project_id

        def command() -> tuple[None, list[Any]]:
            milestone = live_milestone(self.store, milestone_id, actor_id, Action.MILESTONE_DELETE)
            check_version(milestone, expected_version)
            plan = self._plan(project_id, milestone.workspace_id, actor_id)
            dependents = plan.dependents_of(milestone.id)
            plan.remove(actor_id, milestone.id)
            milestone.delete(actor_id)
            relinked = []
            for dependent_id in dependents:
                dependent = self.store.load(Milestone, UUID(dependent_id))
                dependent.change_dependencies(
                    actor_id, [d for d in dependent.dependencies if d != milestone.id]
                )
                relinked.append(dependent)
            return None, [milestone, plan, *relinked]

        return self.store.run(command, serialize_on=MilestonePlan.id_for(project_id))

    # Deliverables --------------------------------------------------------------------------

    def add_deliverable(
        self,
        *,
        milestone_id: UUID,
        actor_id: UUID,
        title: str,
        description: str | None = None,
        type: str = "document",
        status: str = "pending",
        due_date: date | None = None,
    ) -> Saved:
        deliverable_id = uuid.uuid4()

        def command() -> tuple[UUID, list[Milestone]]:
            milestone = live_milestone(self.store, milestone_id, actor_id, Action.MILESTONE_WRITE)
            milestone.add_deliverable(
                actor_id, deliverable_id, title, description, type, status, due_date
            )
            return deliverable_id, [milestone]

        return self.store.run(command)

    def update_deliverable(
        self,
        *,
        milestone_id: UUID,
        deliverable_id: UUID,
        actor_id: UUID,
        expected_version: int | None,
        **fields: Any,
    ) -> Saved:
        def command() -> tuple[None, list[Milestone]]:
            milestone = live_milestone(self.store, milestone_id, actor_id, Action.MILESTONE_WRITE)
            check_deliverable_version(milestone, deliverable_id, expected_version)
            milestone.update_deliverable(
                actor_id,
                deliverable_id,
                **{k: fields[k] for k in DELIVERABLE_FIELDS if k in fields},
            )
            return None, [milestone]

        return self.store.run(command)

    def delete_deliverable(
        self,
        *,
        milestone_id: UUID,
        deliverable_id: UUID,
        actor_id: UUID,
        expected_version: int | None,
    ) -> Saved:
        def command() -> tuple[None, list[Milestone]]:
            milestone = live_milestone(self.store, milestone_id, actor_id, Action.MILESTONE_WRITE)
            check_deliverable_version(milestone, deliverable_id, expected_version)
            milestone.remove_deliverable(actor_id, deliverable_id)
            return None, [milestone]

        return self.store.run(command)

    # Templates -----------------------------------------------------------------------------

    def _template(self, template_id: UUID, actor_id: UUID, action: Action) -> MilestoneTemplate:
        """A live template the caller may act on: its workspace's role decides; a public
        template may be read (and applied) by anyone signed in."""
        template = self.store.load(MilestoneTemplate, template_id, "milestone template")
        if template.deleted:
            raise NotFound("milestone template not found")
        if action == Action.MILESTONE_READ and template.is_public:
            return template
        require(self.store, template.workspace_id, actor_id, action, "milestone template")
        return template

    @staticmethod
    def _check_template(
        milestones: list[dict[str, Any]], deliverables: list[dict[str, Any]]
    ) -> None:
        problem = template_problem(milestones, deliverables)
        if problem is not None:
            raise invalid(*problem)

    def create_template(
        self,
        *,
        workspace_id: UUID,
        actor_id: UUID,
        name: str,
        description: str | None = None,
        category: str | None = None,
        is_public: bool = False,
        milestones: list[dict[str, Any]],
        deliverables: list[dict[str, Any]] | None = None,
    ) -> Saved:
        deliverables = list(deliverables or [])
        self._check_template(milestones, deliverables)

        def command() -> tuple[UUID, list[MilestoneTemplate]]:
            require(self.store, workspace_id, actor_id, Action.MILESTONE_WRITE, "workspace")
            template = MilestoneTemplate(
                workspace_id=workspace_id,
                name=name,
                description=description,
                category=category,
                is_public=is_public,
                milestones=milestones,
                deliverables=deliverables,
                actor_id=actor_id,
            )
            return template.id, [template]

        return self.store.run(command)

    def update_template(
        self, *, template_id: UUID, actor_id: UUID, expected_version: int | None, **fields: Any
    ) -> Saved:
        def command() -> tuple[None, list[MilestoneTemplate]]:
            template = self._template(template_id, actor_id, Action.MILESTONE_WRITE)
            check_version(template, expected_version)
            self._check_template(
                fields.get("milestones", template.milestones),
                fields.get("deliverables", template.deliverables),
            )
            template.update(actor_id, **fields)
            return None, [template]

        return self.store.run(command)

    def delete_template(
        self, *, template_id: UUID, actor_id: UUID, expected_version: int | None
    ) -> Saved:
        def command() -> tuple[None, list[MilestoneTemplate]]:
            template = self._template(template_id, actor_id, Action.MILESTONE_DELETE)
            check_version(template, expected_version)
            template.delete(actor_id)
            return None, [template]

        return self.store.run(command)

    def readable_template(self, *, template_id: UUID, actor_id: UUID) -> MilestoneTemplate:
        return self._template(template_id, actor_id, Action.MILESTONE_READ)

    def from_template(
        self, *, template_id: UUID, project_id: UUID, start_date: date, actor_id: UUID
    ) -> Saved:
        """Every milestone and deliverable of the template in the project, dated from
        ``start_date`` by their offsets, and the template's use counted: one atomic write."""

        def command() -> tuple[list[UUID], list[Any]]:
            project = live_project(self.store, project_id, actor_id, Action.MILESTONE_WRITE)
            template = self._template(template_id, actor_id, Action.MILESTONE_READ)
            plan = self._plan(project_id, project.workspace_id, actor_id)
            specs = template.milestones
            graph = {i: spec.get("depends_on", []) for i, spec in enumerate(specs)}
            made: dict[int, Milestone] = {}
            for i in TopologicalSorter(graph).static_order():  # dependencies first
                spec = specs[i]
                dependencies = [made[d].id for d in spec.get("depends_on", [])]
                milestone = Milestone(
                    workspace_id=project.workspace_id,
                    project_id=project_id,
                    title=spec["title"],
                    description=spec.get("description"),
                    due_date=dated(start_date, spec.get("due_offset_days", 0)),
                    status="pending",
                    priority=spec.get("priority", "medium"),
                    progress=0,
                    assignee_ids=[],
                    dependencies=dependencies,
                    actor_id=actor_id,
                )
                plan.place(actor_id, milestone.id, dependencies)
                made[i] = milestone
            for spec in template.deliverables:
                offset = spec.get("due_offset_days")
                made[spec["milestone"]].add_deliverable(
                    actor_id,
                    uuid.uuid4(),
                    spec["title"],
                    spec.get("description"),
                    spec.get("type", "document"),
                    "pending",
                    dated(start_date, offset) if offset is not None else None,
                )
            # Who applied it is told to the template's workspace only if they belong to it.
            same = template.workspace_id == project.workspace_id
            template.use(actor_id if same else None)
            ordered = [made[i] for i in range(len(specs))]
            return [m.id for m in ordered], [*ordered, plan, template]

        return self.store.run(command, serialize_on=MilestonePlan.id_for(project_id))
