"""The milestones policy: keeps each milestone's count of its linked tasks, and so its derived
progress, current as tasks change (``Milestone.ProgressUpdated``, pushed live as
``milestone:progress:updated``), and unlinks the tasks of a deleted milestone.

It reacts to the tasks' events with the tasks' state as the log has it when it reacts: each
reaction recounts one task (idempotent), so a re-run after a crash counts the same. A task
moved from one milestone to another, or deleted, leaves the milestone it had before the event
(the task's previous version in the log).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from application.errors import NotFound
from domain.milestones import Milestone, task_entry
from domain.tasks import Task
from projections.base import handles
from projections.policy import Policy, PolicyContext

RELEVANT_CHANGES = {"milestone_id", "estimated_hours"}


class MilestoneProgressPolicy(Policy):
    name = "milestone_progress"

    def _milestone(self, ctx: PolicyContext, milestone_id: UUID | str | None) -> Milestone | None:
        if milestone_id is None:
            return None
        try:
            return ctx.load(Milestone, UUID(str(milestone_id)))
        except NotFound:
            return None

    def _milestone_before(self, ctx: PolicyContext, e: Any, task: Task) -> UUID | None:
        """The task's milestone before this event: for a deletion its last one, for a change
        of milestone the one of the task's previous version (read from the log)."""
        if isinstance(e, Task.Deleted):
            return task.milestone_id
        repository = getattr(self.loader, "repository", None)
        if repository is None:  # pragma: no cover - the service's loader is the EventStore
            return None
        return repository.get(e.originator_id, version=e.originator_version - 1).milestone_id

    @handles(Task.Created, Task.Updated, Task.StatusChanged, Task.Deleted)
    def task_changed(self, ctx: PolicyContext, e: Any) -> None:
        if isinstance(e, Task.Updated) and not RELEVANT_CHANGES & set(e.changes):
            return
        if isinstance(e, Task.Created) and e.milestone_id is None:
            return
        task = ctx.load(Task, e.originator_id)
        target = None if task.deleted else self._milestone(ctx, task.milestone_id)
        if target is not None and (target.deleted or target.project_id != task.project_id):
            if target.deleted:  # linked while the milestone was being deleted: unlink it
                task.update(e.actor_id, milestone_id=None)
                ctx.save(task)
            target = None  # (another project's: a link made before links were checked)
        moved = isinstance(e, Task.Updated) and "milestone_id" in e.changes
        if moved or isinstance(e, Task.Deleted):
            before = self._milestone(ctx, self._milestone_before(ctx, e, task))
            if before is not None and (target is None or before.id != target.id):
                before.count_task(e.actor_id, task.id, None)
                ctx.save(before)
        if target is not None:
            target.count_task(e.actor_id, task.id, task_entry(task.status, task.estimated_hours))
            ctx.save(target)

    @handles(Milestone.Deleted)
    def milestone_deleted(self, ctx: PolicyContext, e: Any) -> None:
        for task_id in e.task_ids:
            try:
                task = ctx.load(Task, UUID(task_id))
            except NotFound:
                continue
            if not task.deleted and task.milestone_id == e.originator_id:
                task.update(e.actor_id, milestone_id=None)
                ctx.save(task)
