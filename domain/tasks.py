"""Tasks: a Task owns its content (title, status, assignee...); a project's TaskGraph owns how
its tasks are linked (parent tasks and dependencies), so that cycles are checked in one place.

Every change of structure is recorded on both: on the graph, which decides (its version clash
makes two concurrent changes that would close a cycle together impossible), and on the task,
whose version and row show its parent and dependencies. The application saves both in one
atomic write.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.shared import Gone, RuleBroken, name_based_id

TASK_STATUSES = ("todo", "in_progress", "review", "done", "cancelled")
TASK_PRIORITIES = ("low", "medium", "high", "urgent")
CONTENT_FIELDS = (
    "title",
    "description",
    "priority",
    "estimated_hours",
    "due_date",
    "tags",
    "milestone_id",
)


class CycleDetected(RuleBroken):
    """A parent or dependency change would link a task back to itself."""

    code = "cycle"

    def __init__(self, kind: str, cycle: list[str]) -> None:
        super().__init__(
            f"this {kind} would create a cycle: {' -> '.join(cycle)}", kind=kind, cycle=cycle
        )


def _check_choice(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise RuleBroken(f"unknown {what} {value!r}")


class Task(Aggregate):
    @event("Created")
    def __init__(
        self,
        workspace_id: UUID,
        project_id: UUID,
        title: str,
        description: str | None,
        status: str,
        priority: str,
        estimated_hours: Decimal | None,
        assignee_id: UUID | None,
        due_date: datetime | None,
        tags: list[str],
        milestone_id: UUID | None,
        parent_task_id: UUID | None,
        dependencies: list[UUID],
        actor_id: UUID,
    ) -> None:
        _check_choice(status, TASK_STATUSES, "status")
        _check_choice(priority, TASK_PRIORITIES, "priority")
        self.workspace_id = workspace_id
        self.project_id = project_id
        self.title = title
        self.description = description
        self.status = status
        self.priority = priority
        self.estimated_hours = estimated_hours
        self.assignee_id = assignee_id
        self.due_date = due_date
        self.tags = tags
        self.milestone_id = milestone_id
        self.parent_task_id = parent_task_id
        self.dependencies = dependencies
        self.created_by = actor_id
        self.deleted = False

    def _check_live(self) -> None:
        if self.deleted:
            raise Gone("task not found")

    def _scope(self, actor_id: UUID) -> dict[str, Any]:
        return {
            "actor_id": actor_id,
            "workspace_id": self.workspace_id,
            "project_id": self.project_id,
        }

    def update(self, actor_id: UUID, **fields: Any) -> None:
        """Change content fields (see CONTENT_FIELDS); unchanged fields are not recorded."""
        self._check_live()
        unknown = set(fields) - set(CONTENT_FIELDS)
        if unknown:
            raise RuleBroken(f"not a content field: {', '.join(sorted(unknown))}")
        if "priority" in fields:
            _check_choice(fields["priority"], TASK_PRIORITIES, "priority")
        changes = {k: v for k, v in fields.items() if getattr(self, k) != v}
        if changes:
            self._updated(**self._scope(actor_id), changes=changes)

    @event("Updated")
    def _updated(
        self, actor_id: UUID, workspace_id: UUID, project_id: UUID, changes: dict[str, Any]
    ) -> None:
        for key, value in changes.items():
            setattr(self, key, value)

    def change_status(self, actor_id: UUID, status: str) -> None:
        """Moving into 'done' completes the task, leaving it reopens it (completed_at)."""
        self._check_live()
        _check_choice(status, TASK_STATUSES, "status")
        if status != self.status:
            self._status_changed(**self._scope(actor_id), old_status=self.status, status=status)

    @event("StatusChanged")
    def _status_changed(
        self, actor_id: UUID, workspace_id: UUID, project_id: UUID, old_status: str, status: str
    ) -> None:
        self.status = status

    def assign(self, actor_id: UUID, assignee_id: UUID | None) -> None:
        self._check_live()
        if assignee_id != self.assignee_id:
            self._assigned(
                **self._scope(actor_id),
                assignee_id=assignee_id,
                previous_assignee_id=self.assignee_id,
            )

    @event("Assigned")
    def _assigned(
        self,
        actor_id: UUID,
        workspace_id: UUID,
        project_id: UUID,
        assignee_id: UUID | None,
        previous_assignee_id: UUID | None,
    ) -> None:
        self.assignee_id = assignee_id

    def change_parent(self, actor_id: UUID, parent_task_id: UUID | None) -> None:
        """Record the new parent; the project's TaskGraph has checked it."""
        self._check_live()
        if parent_task_id != self.parent_task_id:
            self._parent_changed(
                **self._scope(actor_id),
                parent_task_id=parent_task_id,
                previous_parent_task_id=self.parent_task_id,
            )

    @event("ParentChanged")
    def _parent_changed(
        self,
        actor_id: UUID,
        workspace_id: UUID,
        project_id: UUID,
        parent_task_id: UUID | None,
        previous_parent_task_id: UUID | None,
    ) -> None:
        self.parent_task_id = parent_task_id

    def change_dependencies(self, actor_id: UUID, dependencies: list[UUID]) -> None:
        """Record the new dependencies; the project's TaskGraph has checked them."""
        self._check_live()
        if list(dependencies) != list(self.dependencies):
            self._dependencies_changed(**self._scope(actor_id), dependencies=list(dependencies))

    @event("DependenciesChanged")
    def _dependencies_changed(
        self, actor_id: UUID, workspace_id: UUID, project_id: UUID, dependencies: list[UUID]
    ) -> None:
        self.dependencies = dependencies

    def delete(self, actor_id: UUID) -> None:
        self._check_live()
        self._deleted(**self._scope(actor_id))

    @event("Deleted")
    def _deleted(self, actor_id: UUID, workspace_id: UUID, project_id: UUID) -> None:
        self.deleted = True


class TaskGraph(Aggregate):
    """The links between a project's tasks: each task's parent and the tasks it depends on.

    One per project (id = uuid5 of the project id). Parent links form a forest and dependency
    links a DAG; a change that would close a cycle is refused and names the cycle.
    """

    @staticmethod
    def create_id(project_id: UUID) -> UUID:
        return TaskGraph.id_for(project_id)

    @staticmethod
    def id_for(project_id: UUID) -> UUID:
        return name_based_id("task-graph", str(project_id))

    @event("Created")
    def __init__(self, workspace_id: UUID, project_id: UUID, actor_id: UUID) -> None:
        self.workspace_id = workspace_id
        self.project_id = project_id
        self.parents: dict[str, str] = {}  # task id -> parent task id
        self.dependencies: dict[str, list[str]] = {}  # task id -> ids of the tasks it needs

    def _scope(self, actor_id: UUID) -> dict[str, Any]:
        return {
            "actor_id": actor_id,
            "workspace_id": self.workspace_id,
            "project_id": self.project_id,
        }

    # Queries ------------------------------------------------------------------------------

    def children_of(self, task_id: UUID | str) -> list[str]:
        return sorted(t for t, p in self.parents.items() if p == str(task_id))

    def subtree_of(self, task_id: UUID | str) -> list[str]:
        """The task and all its descendants, parents before children."""
        order, stack = [], [str(task_id)]
        while stack:
            current = stack.pop()
            order.append(current)
            stack.extend(reversed(self.children_of(current)))
        return order

    def dependents_of(self, task_ids: set[str]) -> list[str]:
        """Tasks (outside ``task_ids``) that depend on any of ``task_ids``."""
        return sorted(
            t
            for t, deps in self.dependencies.items()
            if t not in task_ids and any(d in task_ids for d in deps)
        )

    def parent_cycle(self, task_id: str, parent_id: str | None) -> list[str] | None:
        """The cycle that making ``parent_id`` the parent of ``task_id`` would close."""
        path = [task_id]
        current = parent_id
        while current is not None:
            path.append(current)
            if current == task_id:
                return path
            current = self.parents.get(current)
        return None

    def dependency_cycle(self, task_id: str, dependencies: list[str]) -> list[str] | None:
        """The cycle that giving ``task_id`` these dependencies would close (depth-first,
        iterative: long chains must not hit the recursion limit)."""
        edges = {**self.dependencies, task_id: dependencies}
        path = [task_id]
        stack = [iter(edges.get(task_id, []))]
        seen = {task_id}
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                path.pop()
            elif nxt == task_id:
                return [*path, nxt]
            elif nxt not in seen:
                seen.add(nxt)
                path.append(nxt)
                stack.append(iter(edges.get(nxt, [])))
        return None

    # Commands -----------------------------------------------------------------------------

    def link(
        self,
        actor_id: UUID,
        task_id: UUID,
        parent_task_id: UUID | None,
        dependencies: list[UUID],
    ) -> None:
        """Set a task's parent and dependencies; only what changed is recorded."""
        key = str(task_id)
        parent = str(parent_task_id) if parent_task_id is not None else None
        deps = [str(d) for d in dependencies]
        if len(set(deps)) != len(deps):
            raise RuleBroken("dependencies must not repeat a task")
        parent_changed = parent != self.parents.get(key)
        deps_changed = deps != self.dependencies.get(key, [])
        # Check both before recording either: a refused command records nothing.
        cycle = self.parent_cycle(key, parent) if parent_changed else None
        if cycle:
            raise CycleDetected("parent task", cycle)
        cycle = self.dependency_cycle(key, deps) if deps_changed else None
        if cycle:
            raise CycleDetected("dependency", cycle)
        if parent_changed:
            self._parent_set(
                **self._scope(actor_id), task_id=task_id, parent_task_id=parent_task_id
            )
        if deps_changed:
            self._dependencies_set(
                **self._scope(actor_id), task_id=task_id, dependencies=list(dependencies)
            )

    @event("ParentSet")
    def _parent_set(
        self,
        actor_id: UUID,
        workspace_id: UUID,
        project_id: UUID,
        task_id: UUID,
        parent_task_id: UUID | None,
    ) -> None:
        if parent_task_id is None:
            self.parents.pop(str(task_id), None)
        else:
            self.parents[str(task_id)] = str(parent_task_id)

    @event("DependenciesSet")
    def _dependencies_set(
        self,
        actor_id: UUID,
        workspace_id: UUID,
        project_id: UUID,
        task_id: UUID,
        dependencies: list[UUID],
    ) -> None:
        if dependencies:
            self.dependencies[str(task_id)] = [str(d) for d in dependencies]
        else:
            self.dependencies.pop(str(task_id), None)

    def remove(self, actor_id: UUID, task_id: UUID) -> list[str]:
        """Remove a task with its subtasks and every link to or from them.

        Always recorded, even for a task without links: a concurrent command that links to
        one of these tasks then clashes with it and is re-checked. Returns the removed ids.
        """
        removed = self.subtree_of(task_id)
        self._tasks_removed(**self._scope(actor_id), task_ids=[UUID(t) for t in removed])
        return removed

    @event("TasksRemoved")
    def _tasks_removed(
        self, actor_id: UUID, workspace_id: UUID, project_id: UUID, task_ids: list[UUID]
    ) -> None:
        gone = {str(t) for t in task_ids}
        self.parents = {t: p for t, p in self.parents.items() if t not in gone}
        self.dependencies = {
            t: [d for d in deps if d not in gone]
            for t, deps in self.dependencies.items()
            if t not in gone
        }
        self.dependencies = {t: deps for t, deps in self.dependencies.items() if deps}
