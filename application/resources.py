"""Resource allocation use cases: team members, allocations (one by one or many in one
all-or-nothing command) and closing conflicts. Managers (owner, admin) change them; every
member reads them (application/resources_reports.py). Conflicts and utilization are the
``resources_workload`` policy's (application/resources_policy.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from application.access import require, role_in
from application.adapters.store import EventStore, Saved, check_version
from application.authorization import Action
from application.errors import Conflict, Invalid, NotFound, PreconditionFailed
from domain.projects import Project
from domain.resources import Allocation, TeamMember, Workload
from domain.shared import DomainError

MAX_BULK = 500  # changes in one bulk command


def invalid(field_name: str, message: str) -> Invalid:
    """A 422 naming the body field at fault, shaped like the validation errors."""
    return Invalid(
        f"{field_name}: {message}",
        errors=[
            {"field": field_name, "location": "body", "message": message, "type": "value_error"}
        ],
    )


@dataclass(frozen=True)
class Change:
    """One item of a bulk command: create (no ``id``), update (``id`` and fields) or delete
    (``id`` and ``delete``). ``version``: the allocation's expected version (409 if stale)."""

    id: UUID | None = None
    delete: bool = False
    version: int | None = None
    fields: dict[str, Any] = field(default_factory=dict)


FIELD_NAMES = frozenset(
    {"hours_per_week", "start_date", "end_date", "capacity", "availability", "skills"}
)
CREATE_REQUIRED = ("project_id", "user_id", "hours_per_week", "start_date", "end_date")


class ResourcesService:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    # Team members ------------------------------------------------------------------------------

    def add_team_member(
        self, *, workspace_id: UUID, actor_id: UUID, user_id: UUID, **fields: Any
    ) -> Saved:
        """A workspace member becomes a team member (409 if they already are one)."""

        def command() -> tuple[UUID, list[Any]]:
            require(self.store, workspace_id, actor_id, Action.RESOURCES_MANAGE, "workspace")
            if self.store.exists(TeamMember.id_for(workspace_id, user_id)):
                raise Conflict("the user is already a team member of this workspace")
            if role_in(self.store, workspace_id, user_id) is None:
                raise invalid("user_id", "not a member of this workspace")
            member = self._with_item_errors(
                lambda: TeamMember.add(
                    workspace_id=workspace_id, user_id=user_id, actor_id=actor_id, **fields
                ),
                "",
            )
            return member.id, [member]

        return self.store.run(command)

    def update_team_member(
        self, *, member_id: UUID, actor_id: UUID, expected: int | None = None, **fields: Any
    ) -> Saved:
        def command() -> tuple[UUID, list[Any]]:
            member = self.store.load(TeamMember, member_id, "team member")
            require(
                self.store, member.workspace_id, actor_id, Action.RESOURCES_MANAGE, "team member"
            )
            check_version(member, expected)
            member.update(actor_id, **fields)
            return member.id, [member]

        return self.store.run(command)

    # Allocations -------------------------------------------------------------------------------

    def _project(self, workspace_id: UUID, project_id: Any, where: str) -> Project:
        try:
            project = self.store.load(Project, UUID(str(project_id)), "project")
        except (NotFound, ValueError):
            project = None
        if project is None or project.deleted or project.workspace_id != workspace_id:
            raise invalid(where, "not a project of this workspace")
        return project

    def _check_member(self, workspace_id: UUID, user_id: Any, where: str) -> None:
        try:
            member = self.store.load(
                TeamMember, TeamMember.id_for(workspace_id, UUID(str(user_id))), "team member"
            )
        except (NotFound, ValueError):
            member = None
        if member is None or not member.is_active:
            raise invalid(where, "not an active team member of this workspace")

    def _allocation(self, allocation_id: UUID) -> Allocation:
        """A live allocation of a live project (a deleted project's are gone with it)."""
        allocation = self.store.load(Allocation, allocation_id, "allocation")
        if allocation.deleted:
            raise NotFound("allocation not found")
        try:
            project = self.store.load(Project, allocation.project_id, copy=False)
        except NotFound:
            project = None
        if project is None or project.deleted:
            raise NotFound("allocation not found")
        return allocation

    def _book(
        self, workspace_id: UUID, actor_id: UUID, values: dict[str, Any], at: str
    ) -> Allocation:
        self._project(workspace_id, values["project_id"], f"{at}project_id")
        self._check_member(workspace_id, values["user_id"], f"{at}user_id")
        return Allocation.book(
            workspace_id=workspace_id,
            project_id=UUID(str(values["project_id"])),
            user_id=UUID(str(values["user_id"])),
            actor_id=actor_id,
            hours_per_week=Decimal(str(values["hours_per_week"])),
            start_date=values["start_date"],
            end_date=values["end_date"],
            role=values.get("role"),
            required_skills=values.get("required_skills"),
        )

    def create_allocation(
        self,
        *,
        workspace_id: UUID,
        actor_id: UUID,
        project_id: UUID,
        user_id: UUID,
        hours_per_week: Decimal,
        start_date: date,
        end_date: date,
        role: str | None = None,
        required_skills: list[str] | None = None,
    ) -> Saved:
        values = {
            "project_id": project_id,
            "user_id": user_id,
            "hours_per_week": hours_per_week,
            "start_date": start_date,
            "end_date": end_date,
            "role": role,
            "required_skills": required_skills,
        }

        def command() -> tuple[UUID, list[Any]]:
            require(self.store, workspace_id, actor_id, Action.RESOURCES_MANAGE, "workspace")
            allocation = self._with_item_errors(
                lambda: self._book(workspace_id, actor_id, values, ""), ""
            )
            return allocation.id, [allocation]

        return self.store.run(command)

    def update_allocation(
        self, *, allocation_id: UUID, actor_id: UUID, expected: int | None = None, **fields: Any
    ) -> Saved:
        def command() -> tuple[UUID, list[Any]]:
            allocation = self._allocation(allocation_id)
            require(
                self.store, allocation.workspace_id, actor_id, Action.RESOURCES_MANAGE, "allocation"
            )
            check_version(allocation, expected)
            self._with_item_errors(lambda: allocation.update(actor_id, **fields), "")
            return allocation.id, [allocation]

        return self.store.run(command)

    def delete_allocation(
        self, *, allocation_id: UUID, actor_id: UUID, expected: int | None = None
    ) -> Saved:
        def command() -> tuple[UUID, list[Any]]:
            allocation = self._allocation(allocation_id)
            require(
                self.store, allocation.workspace_id, actor_id, Action.RESOURCES_MANAGE, "allocation"
            )
            check_version(allocation, expected)
            allocation.delete(actor_id)
            return allocation.id, [allocation]

        return self.store.run(command)

    @staticmethod
    def _with_item_errors(action: Any, at: str) -> Any:
        """A broken rule of one item is a 422 naming it (``at``: e.g. ``changes[3].``)."""
        try:
            return action()
        except DomainError as e:
            if e.code == "not-found":
                raise
            word = e.detail.split(" ", 1)[0].rstrip(":")
            named = word in FIELD_NAMES
            where = f"{at}{word}" if named else at.rstrip(".") or "body"
            message = e.detail.removeprefix(f"{word}:").strip() if named else e.detail
            raise invalid(where, message) from None

    def bulk_update(self, *, workspace_id: UUID, actor_id: UUID, changes: list[Change]) -> Saved:
        """Every change or none: one invalid item is a 422 naming it (``changes[i]...``), a
        stale ``version`` a 409 (a body field, not If-Match), and nothing is written. Returns
        the ids, in item order."""
        if len(changes) > MAX_BULK:
            raise invalid("changes", f"at most {MAX_BULK} changes in one command")

        def command() -> tuple[list[UUID], list[Any]]:
            require(self.store, workspace_id, actor_id, Action.RESOURCES_MANAGE, "workspace")
            touched: dict[UUID, Allocation] = {}
            created: list[Allocation] = []
            ids: list[UUID] = []
            for i, change in enumerate(changes):
                at = f"changes[{i}]."
                if change.id is None:
                    if change.delete:
                        raise invalid(f"{at}delete", "a new allocation cannot be deleted")
                    missing = [k for k in CREATE_REQUIRED if change.fields.get(k) is None]
                    if missing:
                        raise invalid(f"{at}{missing[0]}", "required to create an allocation")
                    allocation = self._with_item_errors(
                        lambda c=change, at=at: self._book(workspace_id, actor_id, c.fields, at),
                        at,
                    )
                    created.append(allocation)
                    ids.append(allocation.id)
                    continue
                allocation = touched.get(change.id)
                if allocation is None:
                    try:
                        allocation = self._allocation(change.id)
                    except NotFound:
                        allocation = None
                    if allocation is None or allocation.workspace_id != workspace_id:
                        raise invalid(f"{at}id", "not an allocation of this workspace")
                    if change.version is not None and allocation.version != change.version:
                        raise Conflict(
                            f"changes[{i}]: version {change.version} is stale; the current"
                            f" version is {allocation.version}",
                            current_version=allocation.version,
                        )
                    touched[change.id] = allocation
                if allocation.deleted:
                    raise invalid(f"{at}id", "deleted earlier in this command")
                fields = {
                    k: v for k, v in change.fields.items() if k not in ("project_id", "user_id")
                }
                if set(change.fields) & {"project_id", "user_id"}:
                    raise invalid(
                        f"{at}user_id",
                        "an allocation keeps its user and project (delete it and create another)",
                    )
                if change.delete:
                    allocation.delete(actor_id)
                else:
                    self._with_item_errors(
                        lambda a=allocation, f=fields: a.update(actor_id, **f), at
                    )
                ids.append(allocation.id)
            return ids, [*touched.values(), *created]

        return self.store.run(command)

    # Conflicts ---------------------------------------------------------------------------------

    def close_conflict(
        self,
        *,
        conflict_id: UUID,
        workspace_id: UUID,
        user_id: UUID,
        actor_id: UUID,
        status: str,
        details: dict[str, Any],
        expected: int | None = None,
    ) -> Saved:
        """Resolve or ignore an active conflict (managers); 409 if it is no longer active."""

        def command() -> tuple[UUID, list[Any]]:
            require(self.store, workspace_id, actor_id, Action.RESOURCES_MANAGE, "conflict")
            workload = self.store.load(Workload, Workload.id_for(workspace_id, user_id), "conflict")
            version = workload.conflict_version(conflict_id)
            if expected is not None and expected != version:
                raise PreconditionFailed(
                    f"version {expected} is stale; the current version is {version}",
                    current_version=version,
                )
            workload.close_conflict(actor_id, conflict_id, status, details)
            return conflict_id, [workload]

        return self.store.run(command)
