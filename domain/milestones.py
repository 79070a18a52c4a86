"""Milestones: a Milestone owns its content, status, assignees, progress and deliverables; a
project's MilestonePlan (domain/milestones_plan.py) owns which milestones depend on which, so
that a dependency on another project's milestone, or one that closes a cycle, is refused in
one place (its version clash makes two concurrent changes that would close a cycle together
impossible). Dependency changes are recorded on both, in one atomic write, as tasks do with
their TaskGraph.

Progress is set by hand, or derived from the milestone's linked tasks: the milestones policy
(application/milestones_progress.py) counts each linked task's state here (``count_task``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.milestones_schedule import derived_progress
from domain.shared import Gone, Missing, RuleBroken

MILESTONE_STATUSES = ("pending", "in_progress", "completed", "cancelled")
MILESTONE_PRIORITIES = ("low", "medium", "high", "critical")
DELIVERABLE_TYPES = ("document", "code", "design", "review", "other")
DELIVERABLE_STATUSES = ("pending", "in_progress", "completed", "rejected")
# pending -> in_progress -> completed | cancelled; completed work may be reopened, cancelled
# work restarted from pending.
TRANSITIONS = {
    "pending": ("in_progress", "completed", "cancelled"),
    "in_progress": ("pending", "completed", "cancelled"),
    "completed": ("in_progress",),
    "cancelled": ("pending",),
}
CONTENT_FIELDS = ("title", "description", "due_date", "priority")
DELIVERABLE_FIELDS = ("title", "description", "type", "status", "due_date")


def _check_choice(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise RuleBroken(f"unknown {what} {value!r}")


def _check_progress(progress: int) -> None:
    if not 0 <= progress <= 100:
        raise RuleBroken("progress must be between 0 and 100")


class DependenciesIncomplete(RuleBroken):
    """Completing a milestone whose dependencies are not completed (without ``force``)."""

    code = "dependencies-incomplete"

    def __init__(self, incomplete: list[str]) -> None:
        super().__init__(
            "these dependencies are not completed: "
            f"{', '.join(incomplete)}; complete them first or pass force",
            incomplete=incomplete,
        )


class Milestone(Aggregate):
    @event("Created")
    def __init__(
        self,
        workspace_id: UUID,
        project_id: UUID,
        title: str,
        description: str | None,
        due_date: date,
        status: str,
        priority: str,
        progress: int,
        assignee_ids: list[UUID],
        dependencies: list[UUID],
        actor_id: UUID,
    ) -> None:
        _check_choice(status, MILESTONE_STATUSES, "status")
        _check_choice(priority, MILESTONE_PRIORITIES, "priority")
        _check_progress(progress)
        self.workspace_id = workspace_id
        self.project_id = project_id
        self.title = title
        self.description = description
        self.due_date = due_date
        self.status = status
        self.priority = priority
        self.progress = progress
        self.assignee_ids = list(assignee_ids)
        self.dependencies = list(dependencies)
        self.created_by = actor_id
        self.deliverables: dict[str, dict[str, Any]] = {}  # id -> fields and "version"
        self.tasks: dict[str, dict[str, Any]] = {}  # linked task id -> done, cancelled, hours
        self.deleted = False

    def _check_live(self) -> None:
        if self.deleted:
            raise Gone("milestone not found")

    def _scope(self, actor_id: UUID) -> dict[str, Any]:
        return {
            "actor_id": actor_id,
            "workspace_id": self.workspace_id,
            "project_id": self.project_id,
        }

    @property
    def progress_source(self) -> str:
        """'tasks' while linked tasks decide the progress, else 'manual'."""
        return "tasks" if derived_progress(self.tasks.values()) is not None else "manual"

    # Content ------------------------------------------------------------------------------

    def update(self, actor_id: UUID, **fields: Any) -> None:
        """Change content fields (see CONTENT_FIELDS); unchanged fields are not recorded."""
        self._check_live()
        unknown = set(fields) - set(CONTENT_FIELDS)
        if unknown:
            raise RuleBroken(f"not a content field: {', '.join(sorted(unknown))}")
        if "priority" in fields:
            _check_choice(fields["priority"], MILESTONE_PRIORITIES, "priority")
        changes = {k: v for k, v in fields.items() if getattr(self, k) != v}
        if changes:
            self._updated(**self._scope(actor_id), changes=changes)

    @event("Updated")
    def _updated(
        self, actor_id: UUID, workspace_id: UUID, project_id: UUID, changes: dict[str, Any]
    ) -> None:
        for key, value in changes.items():
            setattr(self, key, value)

    def assign(self, actor_id: UUID, assignee_ids: list[UUID]) -> None:
        """Set who is assigned (members of the workspace: the application checks)."""
        self._check_live()
        if len(set(assignee_ids)) != len(assignee_ids):
            raise RuleBroken("assignees must not repeat a user")
        if list(assignee_ids) != self.assignee_ids:
            self._assignees_changed(**self._scope(actor_id), assignee_ids=list(assignee_ids))

    @event("AssigneesChanged")
    def _assignees_changed(
        self, actor_id: UUID, workspace_id: UUID, project_id: UUID, assignee_ids: list[UUID]
    ) -> None:
        self.assignee_ids = assignee_ids

    def change_dependencies(self, actor_id: UUID, dependencies: list[UUID]) -> None:
        """Record the new dependencies; the project's MilestonePlan has checked them."""
        self._check_live()
        if list(dependencies) != self.dependencies:
            self._dependencies_changed(**self._scope(actor_id), dependencies=list(dependencies))

    @event("DependenciesChanged")
    def _dependencies_changed(
        self, actor_id: UUID, workspace_id: UUID, project_id: UUID, dependencies: list[UUID]
    ) -> None:
        self.dependencies = dependencies

    # Status and progress ------------------------------------------------------------------

    def change_status(
        self,
        actor_id: UUID,
        status: str,
        incomplete_dependencies: list[str] | None = None,
        force: bool = False,
    ) -> None:
        """Move along TRANSITIONS. Completing needs every dependency completed (the caller
        names the incomplete ones), unless ``force``, which the Completed event records."""
        self._check_live()
        _check_choice(status, MILESTONE_STATUSES, "status")
        if status == self.status:
            return
        if status not in TRANSITIONS[self.status]:
            raise RuleBroken(f"a {self.status} milestone cannot become {status}")
        if status == "completed":
            incomplete = list(incomplete_dependencies or [])
            if incomplete and not force:
                raise DependenciesIncomplete(incomplete)
            self._completed(
                **self._scope(actor_id),
                old_status=self.status,
                forced=bool(incomplete),
                incomplete_dependencies=incomplete,
            )
        else:
            self._status_changed(**self._scope(actor_id), old_status=self.status, status=status)

    @event("StatusChanged")
    def _status_changed(
        self, actor_id: UUID, workspace_id: UUID, project_id: UUID, old_status: str, status: str
    ) -> None:
        self.status = status

    @event("Completed")
    def _completed(
        self,
        actor_id: UUID,
        workspace_id: UUID,
        project_id: UUID,
        old_status: str,
        forced: bool,
        incomplete_dependencies: list[str],
    ) -> None:
        self.status = "completed"

    def set_progress(self, actor_id: UUID, progress: int) -> None:
        """Progress by hand: only while no linked task decides it."""
        self._check_live()
        _check_progress(progress)
        if self.progress_source == "tasks":
            raise RuleBroken(
                "this milestone's progress is derived from its linked tasks;"
                " change the tasks instead"
            )
        if progress != self.progress:
            self._progress_updated(
                **self._scope(actor_id), progress=progress, source="manual", task_id=None, task=None
            )

    def count_task(self, actor_id: UUID, task_id: UUID, task: dict[str, Any] | None) -> None:
        """Count a linked task's state (``done``, ``cancelled``, ``hours``), or stop counting
        it (None: unlinked or deleted); the progress follows when tasks decide it. Recorded
        only when the count changes."""
        key = str(task_id)
        if self.tasks.get(key) == task or (task is None and key not in self.tasks):
            return
        tasks = {k: v for k, v in self.tasks.items() if k != key}
        if task is not None:
            tasks[key] = task
        derived = derived_progress(tasks.values())
        self._progress_updated(
            **self._scope(actor_id),
            progress=self.progress if derived is None else derived,
            source="manual" if derived is None else "tasks",
            task_id=task_id,
            task=task,
        )

    @event("ProgressUpdated")
    def _progress_updated(
        self,
        actor_id: UUID,
        workspace_id: UUID,
        project_id: UUID,
        progress: int,
        source: str,
        task_id: UUID | None,
        task: dict[str, Any] | None,
    ) -> None:
        self.progress = progress
        if task_id is not None:
            if task is None:
                self.tasks.pop(str(task_id), None)
            else:
                self.tasks[str(task_id)] = task

    # Deliverables -------------------------------------------------------------------------

    def deliverable(self, deliverable_id: UUID | str) -> dict[str, Any]:
        found = self.deliverables.get(str(deliverable_id))
        if found is None:
            raise Missing("deliverable not found")
        return found

    def add_deliverable(
        self,
        actor_id: UUID,
        deliverable_id: UUID,
        title: str,
        description: str | None,
        type: str,
        status: str,
        due_date: date | None,
    ) -> None:
        self._check_live()
        _check_choice(type, DELIVERABLE_TYPES, "deliverable type")
        _check_choice(status, DELIVERABLE_STATUSES, "deliverable status")
        if str(deliverable_id) in self.deliverables:
            raise RuleBroken("the deliverable already exists")
        self._deliverable_added(
            **self._scope(actor_id),
            deliverable_id=deliverable_id,
            title=title,
            description=description,
            type=type,
            status=status,
            due_date=due_date,
        )

    @event("DeliverableAdded")
    def _deliverable_added(
        self,
        actor_id: UUID,
        workspace_id: UUID,
        project_id: UUID,
        deliverable_id: UUID,
        title: str,
        description: str | None,
        type: str,
        status: str,
        due_date: date | None,
    ) -> None:
        self.deliverables[str(deliverable_id)] = {
            "title": title,
            "description": description,
            "type": type,
            "status": status,
            "due_date": due_date,
            "created_by": actor_id,
            "version": 1,
        }

    def update_deliverable(self, actor_id: UUID, deliverable_id: UUID, **fields: Any) -> None:
        self._check_live()
        current = self.deliverable(deliverable_id)
        unknown = set(fields) - set(DELIVERABLE_FIELDS)
        if unknown:
            raise RuleBroken(f"not a deliverable field: {', '.join(sorted(unknown))}")
        if "type" in fields:
            _check_choice(fields["type"], DELIVERABLE_TYPES, "deliverable type")
        if "status" in fields:
            _check_choice(fields["status"], DELIVERABLE_STATUSES, "deliverable status")
        changes = {k: v for k, v in fields.items() if current[k] != v}
        if changes:
            self._deliverable_updated(
                **self._scope(actor_id), deliverable_id=deliverable_id, changes=changes
            )

    @event("DeliverableUpdated")
    def _deliverable_updated(
        self,
        actor_id: UUID,
        workspace_id: UUID,
        project_id: UUID,
        deliverable_id: UUID,
        changes: dict[str, Any],
    ) -> None:
        current = self.deliverables[str(deliverable_id)]
        current.update(changes)
        current["version"] += 1

    def remove_deliverable(self, actor_id: UUID, deliverable_id: UUID) -> None:
        self._check_live()
        self.deliverable(deliverable_id)
        self._deliverable_removed(**self._scope(actor_id), deliverable_id=deliverable_id)

    @event("DeliverableRemoved")
    def _deliverable_removed(
        self, actor_id: UUID, workspace_id: UUID, project_id: UUID, deliverable_id: UUID
    ) -> None:
        del self.deliverables[str(deliverable_id)]

    # Deletion -----------------------------------------------------------------------------

    def delete(self, actor_id: UUID) -> None:
        """Delete the milestone; its linked tasks are unlinked (the milestones policy)."""
        self._check_live()
        self._deleted(
            **self._scope(actor_id),
            task_ids=sorted(self.tasks),
            deliverable_ids=sorted(self.deliverables),
        )

    @event("Deleted")
    def _deleted(
        self,
        actor_id: UUID,
        workspace_id: UUID,
        project_id: UUID,
        task_ids: list[str],
        deliverable_ids: list[str] | None = None,  # their attachments go with them
    ) -> None:
        self.deleted = True


def task_entry(status: str, estimated_hours: Decimal | None) -> dict[str, Any]:
    """What a milestone counts of a linked task."""
    return {
        "done": status == "done",
        "cancelled": status == "cancelled",
        "hours": str(estimated_hours) if estimated_hours is not None else None,
    }
