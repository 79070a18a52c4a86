"""Tasks use cases. A task belongs to a project; its links (parent, dependencies) are decided
by the project's TaskGraph, saved in the same atomic write as the tasks it changes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from application.access import live_project, require, role_in
from application.adapters.store import EventStore, Saved, check_version
from application.authorization import Action
from application.errors import Invalid, NotFound
from domain.projects import Project
from domain.tasks import CONTENT_FIELDS, Task, TaskGraph


def invalid(field: str, message: str) -> Invalid:
    """A 422 naming the body field at fault, shaped like the validation errors."""
    return Invalid(
        f"{field}: {message}",
        errors=[{"field": field, "location": "body", "message": message, "type": "value_error"}],
    )


def live_task(store: EventStore, task_id: UUID, user_id: UUID, action: Action) -> Task:
    """A task (of a live project) the caller may act on, or NotFound/Forbidden."""
    task = store.load(Task, task_id, "task")
    if task.deleted:
        raise NotFound("task not found")
    require(store, task.workspace_id, user_id, action, "task")
    project = store.load(Project, task.project_id, "task")
    if project.deleted:
        raise NotFound("task not found")
    return task


class TasksService:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    # Reads (authorization from the write model; rows come from the read model) -----------

    def readable_project(self, project_id: UUID, actor_id: UUID) -> Project:
        return live_project(self.store, project_id, actor_id, Action.TASK_READ)

    # Helpers -------------------------------------------------------------------------------

    def _graph(self, project_id: UUID, workspace_id: UUID, actor_id: UUID) -> TaskGraph:
        try:
            return self.store.load(TaskGraph, TaskGraph.id_for(project_id))
        except NotFound:
            # Two first writers both create it: one clashes, retries and loads this one.
            return TaskGraph(workspace_id=workspace_id, project_id=project_id, actor_id=actor_id)

    def _check_assignee(self, workspace_id: UUID, assignee_id: UUID | None) -> None:
        if assignee_id is not None and role_in(self.store, workspace_id, assignee_id) is None:
            raise invalid("assignee_id", "the assignee must be a member of this workspace")

    def _check_linked(self, project_id: UUID, field: str, task_ids: list[UUID]) -> None:
        """Linked tasks must be live tasks of the same project."""
        for task_id in task_ids:
            try:
                linked = self.store.load(Task, task_id)
            except NotFound:
                linked = None
            if linked is None or linked.deleted or linked.project_id != project_id:
                raise invalid(field, f"task {task_id} is not a task of this project")

    # Commands ------------------------------------------------------------------------------

    def create(
        self,
        *,
        project_id: UUID,
        actor_id: UUID,
        title: str,
        description: str | None = None,
        status: str = "todo",
        priority: str = "medium",
        estimated_hours: Decimal | None = None,
        assignee_id: UUID | None = None,
        due_date: datetime | None = None,
        tags: list[str] | None = None,
        milestone_id: UUID | None = None,
        parent_task_id: UUID | None = None,
        dependencies: list[UUID] | None = None,
    ) -> Saved:
        dependencies = list(dependencies or [])

        def command() -> tuple[UUID, list[Any]]:
            project = live_project(self.store, project_id, actor_id, Action.TASK_WRITE)
            self._check_assignee(project.workspace_id, assignee_id)
            self._check_linked(
                project_id, "parent_task_id", [parent_task_id] if parent_task_id else []
            )
            self._check_linked(project_id, "dependencies", dependencies)
            task = Task(
                workspace_id=project.workspace_id,
                project_id=project_id,
                title=title,
                description=description,
                status=status,
                priority=priority,
                estimated_hours=estimated_hours,
                assignee_id=assignee_id,
                due_date=due_date,
                tags=list(tags or []),
                milestone_id=milestone_id,
                parent_task_id=parent_task_id,
                dependencies=dependencies,
                actor_id=actor_id,
            )
            changed: list[Any] = [task]
            if parent_task_id is not None or dependencies:
                graph = self._graph(project_id, project.workspace_id, actor_id)
                graph.link(actor_id, task.id, parent_task_id, dependencies)
                changed.append(graph)
            return task.id, changed

        return self.store.run(command, serialize_on=TaskGraph.id_for(project_id))

    def update(
        self, *, task_id: UUID, actor_id: UUID, expected_version: int | None, **fields: Any
    ) -> Saved:
        """Change any of the content fields, status, assignee, parent task and dependencies."""
        project_id = live_task(self.store, task_id, actor_id, Action.TASK_WRITE).project_id
        relinks = "parent_task_id" in fields or "dependencies" in fields

        def command() -> tuple[None, list[Any]]:
            task = live_task(self.store, task_id, actor_id, Action.TASK_WRITE)
            check_version(task, expected_version)
            changed: list[Any] = [task]
            if relinks:
                parent = fields.get("parent_task_id", task.parent_task_id)
                dependencies = list(fields.get("dependencies", task.dependencies))
                self._check_linked(project_id, "parent_task_id", [parent] if parent else [])
                self._check_linked(project_id, "dependencies", dependencies)
                graph = self._graph(project_id, task.workspace_id, actor_id)
                graph.link(actor_id, task.id, parent, dependencies)
                task.change_parent(actor_id, parent)
                task.change_dependencies(actor_id, dependencies)
                changed.append(graph)
            if "assignee_id" in fields:
                self._check_assignee(task.workspace_id, fields["assignee_id"])
                task.assign(actor_id, fields["assignee_id"])
            task.update(actor_id, **{k: fields[k] for k in CONTENT_FIELDS if k in fields})
            if "status" in fields:
                task.change_status(actor_id, fields["status"])
            return None, changed

        if not relinks:
            return self.store.run(command)
        return self.store.run(command, serialize_on=TaskGraph.id_for(project_id))

    def delete(self, *, task_id: UUID, actor_id: UUID, expected_version: int | None) -> Saved:
        """Delete a task with all its subtasks; tasks that depended on them lose those links."""
        project_id = live_task(self.store, task_id, actor_id, Action.TASK_WRITE).project_id

        def command() -> tuple[list[str], list[Any]]:
            task = live_task(self.store, task_id, actor_id, Action.TASK_WRITE)
            check_version(task, expected_version)
            graph = self._graph(project_id, task.workspace_id, actor_id)
            subtree = set(graph.subtree_of(task.id))
            dependents = graph.dependents_of(subtree)
            removed = graph.remove(actor_id, task.id)
            doomed = [task] + [self.store.load(Task, UUID(t)) for t in removed[1:]]
            for each in doomed:
                each.delete(actor_id)
            relinked = []
            for dependent_id in dependents:
                dependent = self.store.load(Task, UUID(dependent_id))
                dependent.change_dependencies(
                    actor_id, [d for d in dependent.dependencies if str(d) not in subtree]
                )
                relinked.append(dependent)
            return removed, [*doomed, *relinked, graph]

        return self.store.run(command, serialize_on=TaskGraph.id_for(project_id))
