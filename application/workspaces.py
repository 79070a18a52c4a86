"""Workspace use cases. The creator is the owner; roles decide who may change what."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from application.authorization import Action, authorize
from application.store import EventStore, Saved, check_version
from domain.workspaces import Workspace


class WorkspaceService:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    def load(self, workspace_id: UUID, actor_id: UUID, action: Action) -> Workspace:
        workspace = self.store.load(Workspace, workspace_id, "workspace")
        authorize(workspace.role_of(actor_id), action, what="workspace")
        return workspace

    def create(
        self, actor_id: UUID, name: str, description: str | None, settings: dict[str, Any]
    ) -> Saved:
        def command() -> tuple[UUID, list[Workspace]]:
            workspace = Workspace(
                name=name, description=description, settings=settings, owner_id=actor_id
            )
            return workspace.id, [workspace]

        return self.store.run(command)

    def update(
        self, workspace_id: UUID, actor_id: UUID, expected_version: int | None, **fields: Any
    ) -> Saved:
        def command() -> tuple[None, list[Workspace]]:
            workspace = self.load(workspace_id, actor_id, Action.WORKSPACE_UPDATE)
            check_version(workspace, expected_version)
            workspace.update(actor_id=actor_id, **fields)
            return None, [workspace]

        return self.store.run(command)

    def delete(self, workspace_id: UUID, actor_id: UUID, expected_version: int | None) -> Saved:
        def command() -> tuple[None, list[Workspace]]:
            workspace = self.load(workspace_id, actor_id, Action.WORKSPACE_DELETE)
            check_version(workspace, expected_version)
            workspace.delete(actor_id=actor_id)
            return None, [workspace]

        return self.store.run(command)
