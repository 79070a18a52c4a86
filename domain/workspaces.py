"""Workspaces: the tenant. Owns its members and their roles."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.shared import Gone

WORKSPACE_ROLES = ("owner", "admin", "member", "viewer")


class Workspace(Aggregate):
    """Every event of a workspace is scoped to it: its originator id is the workspace id."""

    @event("Created")
    def __init__(
        self, name: str, description: str | None, settings: dict[str, Any], owner_id: UUID
    ) -> None:
        self.name = name
        self.description = description
        self.settings = settings
        self.owner_id = owner_id
        self.members: dict[UUID, str] = {owner_id: "owner"}
        self.is_active = True
        self.deleted = False

    @property
    def workspace_id(self) -> UUID:
        return self.id

    def role_of(self, user_id: UUID) -> str | None:
        if self.deleted:
            return None
        return self.members.get(user_id)

    def _check_live(self) -> None:
        if self.deleted:
            raise Gone("workspace not found")

    def update(self, actor_id: UUID, **fields: Any) -> None:
        """Change name, description or settings; unchanged fields are not recorded."""
        self._check_live()
        changes = {k: v for k, v in fields.items() if getattr(self, k) != v}
        if changes:
            self._updated(actor_id=actor_id, changes=changes)

    @event("Updated")
    def _updated(self, actor_id: UUID, changes: dict[str, Any]) -> None:
        for key, value in changes.items():
            setattr(self, key, value)

    def delete(self, actor_id: UUID) -> None:
        self._check_live()
        self._deleted(actor_id=actor_id)

    @event("Deleted")
    def _deleted(self, actor_id: UUID) -> None:
        self.deleted = True
        self.is_active = False
