"""The milestones policy: keeps each milestone's count of its linked tasks, and so its derived
progress, current as tasks change (``Milestone.ProgressUpdated``, pushed live as
``milestone:progress:updated``), and unlinks the tasks of a deleted milestone.

It reacts to the tasks' events with the tasks' state as the log has it when it reacts: each
reaction recounts one task (idempotent), so a re-run after a crash counts the same. A task
moved from one milestone to another leaves the first: the project's MilestonePlan names the
milestones that may still count it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from application.errors import NotFound
from domain.milestones import Milestone, MilestonePlan, task_entry
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

    def _counting(self, ctx: PolicyContext, task: Task) -> list[Milestone]:
        """The project's live milestones that count this task now."""
        try:
            plan = ctx.load(MilestonePlan, MilestonePlan.id_for(task.project_id))
        except NotFound:
            return []
        found = []
        for milestone_id in plan.milestones:
            milestone = self._milestone(ctx, milestone_id)
            if milestone is not None and str(task.id) in milestone.tasks:
                found.append(milestone)
        return found

    @handles(Task.Created, Task.Updated, Task.StatusChanged, Task.Deleted)
    def task_changed(self, ctx: PolicyContext, e: Any) -> None:
        if isinstance(e, Task.Updated) and not RELEVANT_CHANGES & set(e.changes):
            return
        if isinstance(e, Task.Created) and e.milestone_id is None:
            return
        task = ctx.load(Task, e.originator_id)
        target = None if task.deleted else self._milestone(ctx, task.milestone_id)
        if target is not None and (target.deleted or target.project_id != task.project_id):
            if not target.deleted:  # a link made before links were checked: not counted
                target = None
            else:  # linked while the milestone was being deleted: unlink it
                task.update(e.actor_id, milestone_id=None)
                ctx.save(task)
                target = None
        moved = isinstance(e, Task.Updated) and "milestone_id" in e.changes
        if moved or isinstance(e, Task.Deleted):
            for milestone in self._counting(ctx, task):
                if target is None or milestone.id != target.id:
                    milestone.count_task(e.actor_id, task.id, None)
                    ctx.save(milestone)
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
