"""Projects: belong to a workspace; own their status, priority, dates, budget and members."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.shared import Gone, Missing, RuleBroken

PROJECT_STATUSES = ("planning", "active", "on_hold", "completed", "cancelled")
PROJECT_PRIORITIES = ("low", "medium", "high", "critical")


class Project(Aggregate):
    @event("Created")
    def __init__(
        self,
        workspace_id: UUID,
        name: str,
        description: str | None,
        status: str,
        priority: str,
        start_date: date | None,
        end_date: date | None,
        budget: Decimal | None,
        owner_id: UUID,
        settings: dict[str, Any],
        actor_id: UUID,
    ) -> None:
        _check_dates(start_date, end_date)
        self.workspace_id = workspace_id
        self.name = name
        self.description = description
        self.status = status
        self.priority = priority
        self.start_date = start_date
        self.end_date = end_date
        self.budget = budget
        self.owner_id = owner_id
        self.settings = settings
        self.members: dict[str, str | None] = {str(owner_id): "owner"}  # user id -> role label
        self.deleted = False

    def _check_live(self) -> None:
        if self.deleted:
            raise Gone("project not found")

    def update(self, actor_id: UUID, **fields: Any) -> None:
        """Change any of name, description, priority, dates, budget, owner, settings."""
        self._check_live()
        if "priority" in fields and fields["priority"] not in PROJECT_PRIORITIES:
            raise RuleBroken(f"unknown priority {fields['priority']!r}")
        _check_dates(
            fields.get("start_date", self.start_date), fields.get("end_date", self.end_date)
        )
        changes = {k: v for k, v in fields.items() if getattr(self, k) != v}
        if changes:
            self._updated(actor_id=actor_id, workspace_id=self.workspace_id, changes=changes)

    @event("Updated")
    def _updated(self, actor_id: UUID, workspace_id: UUID, changes: dict[str, Any]) -> None:
        for key, value in changes.items():
            setattr(self, key, value)

    def change_status(self, actor_id: UUID, status: str) -> None:
        self._check_live()
        if status not in PROJECT_STATUSES:
            raise RuleBroken(f"unknown status {status!r}")
        if status != self.status:
            self._status_changed(
                actor_id=actor_id,
                workspace_id=self.workspace_id,
                old_status=self.status,
                status=status,
            )

    @event("StatusChanged")
    def _status_changed(
        self, actor_id: UUID, workspace_id: UUID, old_status: str, status: str
    ) -> None:
        self.status = status

    def add_member(self, actor_id: UUID, user_id: UUID, role: str | None) -> None:
        self._check_live()
        if str(user_id) in self.members:
            raise RuleBroken("the user is already a member of this project")
        self._member_added(
            actor_id=actor_id, workspace_id=self.workspace_id, user_id=user_id, role=role
        )

    @event("MemberAdded")
    def _member_added(
        self, actor_id: UUID, workspace_id: UUID, user_id: UUID, role: str | None
    ) -> None:
        self.members[str(user_id)] = role

    def remove_member(self, actor_id: UUID, user_id: UUID) -> None:
        self._check_live()
        if str(user_id) not in self.members:
            raise Missing("project member not found")
        self._member_removed(actor_id=actor_id, workspace_id=self.workspace_id, user_id=user_id)

    @event("MemberRemoved")
    def _member_removed(self, actor_id: UUID, workspace_id: UUID, user_id: UUID) -> None:
        del self.members[str(user_id)]

    def delete(self, actor_id: UUID) -> None:
        self._check_live()
        self._deleted(actor_id=actor_id, workspace_id=self.workspace_id)

    @event("Deleted")
    def _deleted(self, actor_id: UUID, workspace_id: UUID) -> None:
        self.deleted = True


def _check_dates(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and end < start:
        raise RuleBroken("end_date must not be before start_date")
