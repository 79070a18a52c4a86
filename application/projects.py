"""Projects use cases. A project lives in one workspace; the workspace role decides who may
read (everyone), write (owner, admin, member) or delete it (owner, admin)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from application.access import live_project, require, role_in
from application.adapters.store import EventStore, Saved, check_version
from application.authorization import Action
from application.errors import Invalid
from domain.projects import Project


class ProjectsService:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    def _check_workspace_member(self, workspace_id: UUID, user_id: UUID, field: str) -> None:
        """A user a project refers to (its owner, a member) must belong to its workspace."""
        if role_in(self.store, workspace_id, user_id) is None:
            detail = f"{field} must be a member of the project's workspace"
            raise Invalid(
                detail,
                errors=[{"field": field, "message": detail, "type": "not_workspace_member"}],
            )

    def _change(
        self, project_id: UUID, actor_id: UUID, action: Action, expected: int | None, change: Any
    ) -> Saved:
        def command() -> tuple[Any, list[Project]]:
            project = live_project(self.store, project_id, actor_id, action)
            check_version(project, expected)
            return change(project), [project]

        return self.store.run(command)

    def create(
        self,
        *,
        actor_id: UUID,
        workspace_id: UUID,
        name: str,
        description: str | None,
        status: str,
        priority: str,
        start_date: date | None,
        end_date: date | None,
        budget: Decimal | None,
        owner_id: UUID | None,
        settings: dict[str, Any],
    ) -> Saved:
        def command() -> tuple[UUID, list[Project]]:
            require(self.store, workspace_id, actor_id, Action.PROJECT_WRITE, "workspace")
            owner = owner_id or actor_id
            self._check_workspace_member(workspace_id, owner, "owner_id")
            project = Project(
                workspace_id=workspace_id,
                name=name,
                description=description,
                status=status,
                priority=priority,
                start_date=start_date,
                end_date=end_date,
                budget=budget,
                owner_id=owner,
                settings=settings,
                actor_id=actor_id,
            )
            return project.id, [project]

        return self.store.run(command)

    def update(
        self, *, project_id: UUID, actor_id: UUID, expected_version: int | None, **fields: Any
    ) -> Saved:
        """Change any fields; a new ``status`` is recorded as its own StatusChanged event."""
        status = fields.pop("status", None)

        def change(project: Project) -> None:
            if fields.get("owner_id") is not None:
                self._check_workspace_member(project.workspace_id, fields["owner_id"], "owner_id")
            project.update(actor_id=actor_id, **fields)
            if status is not None:
                project.change_status(actor_id=actor_id, status=status)

        return self._change(project_id, actor_id, Action.PROJECT_WRITE, expected_version, change)

    def delete(self, *, project_id: UUID, actor_id: UUID, expected_version: int | None) -> Saved:
        return self._change(
            project_id,
            actor_id,
            Action.PROJECT_DELETE,
            expected_version,
            lambda p: p.delete(actor_id=actor_id),
        )

    # Members -----------------------------------------------------------------------------

    def add_member(
        self, *, project_id: UUID, actor_id: UUID, user_id: UUID, role: str | None
    ) -> Saved:
        def change(project: Project) -> None:
            self._check_workspace_member(project.workspace_id, user_id, "user_id")
            project.add_member(actor_id=actor_id, user_id=user_id, role=role)

        return self._change(project_id, actor_id, Action.PROJECT_WRITE, None, change)

    def remove_member(self, *, project_id: UUID, actor_id: UUID, user_id: UUID) -> Saved:
        return self._change(
            project_id,
            actor_id,
            Action.PROJECT_WRITE,
            None,
            lambda p: p.remove_member(actor_id=actor_id, user_id=user_id),
        )
