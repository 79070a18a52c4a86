"""Resource allocation: team members (capacity, skills, availability), allocations of their
hours to projects, and each member's workload (conflicts and utilization, recorded by the
``resources`` policy). The capacity arithmetic is in ``domain.resources_capacity``.

- ``TeamMember``: one per (workspace, user), id = uuid5 of both.
- ``Allocation``: a user's hours per week on a project from a start to an end date. Its user
  must be an active team member of the project's workspace (checked by the use case, which
  loads both).
- ``Workload``: one per (workspace, user), id = uuid5 of both: the conflicts found in the
  member's allocations and the weekly utilization. The policy detects, updates and clears
  conflicts; a manager resolves or ignores one (``close_conflict``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.resources_capacity import (
    MAX_SPAN_DAYS,
    MAX_WEEK_HOURS,
    Overload,
    normalize_availability,
)
from domain.shared import Gone, Missing, RuleBroken, name_based_id

MEMBER_FIELDS = ("role", "skills", "capacity", "hourly_rate", "availability", "is_active")
ALLOCATION_FIELDS = ("role", "hours_per_week", "start_date", "end_date", "required_skills")
CLOSING_STATUSES = ("resolved", "ignored")


def normalize_skills(skills: list[str] | None) -> list[str]:
    """Skills compare without case; kept once each, sorted."""
    return sorted({s.strip().lower() for s in skills or [] if s.strip()})


def check_member_fields(fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    if "skills" in out:
        out["skills"] = normalize_skills(out["skills"])
    if "capacity" in out and not (0 <= int(out["capacity"]) <= MAX_WEEK_HOURS):
        raise RuleBroken(f"capacity: 0 to {MAX_WEEK_HOURS} hours a week")
    if "availability" in out:
        try:
            out["availability"] = normalize_availability(out["availability"])
        except (ValueError, KeyError, TypeError) as e:
            raise RuleBroken(f"availability: {e}") from None
    return out


def check_allocation(hours_per_week: Decimal, start_date: date, end_date: date) -> None:
    if not (Decimal(0) < hours_per_week <= MAX_WEEK_HOURS):
        raise RuleBroken(f"hours_per_week must be more than 0 and at most {MAX_WEEK_HOURS}")
    if end_date < start_date:
        raise RuleBroken("end_date must not be before start_date")
    if (end_date - start_date).days >= MAX_SPAN_DAYS:
        raise RuleBroken(f"end_date: an allocation lasts at most {MAX_SPAN_DAYS} days")


class TeamMember(Aggregate):
    """A workspace member as a resource: role, skills, weekly capacity, rate, availability."""

    @staticmethod
    def create_id(workspace_id: UUID, user_id: UUID) -> UUID:
        return TeamMember.id_for(workspace_id, user_id)

    @staticmethod
    def id_for(workspace_id: UUID, user_id: UUID) -> UUID:
        return name_based_id("team-member", f"{workspace_id}:{user_id}")

    @event("Created")
    def __init__(
        self,
        workspace_id: UUID,
        user_id: UUID,
        actor_id: UUID,
        role: str | None,
        skills: list[str],
        capacity: int,
        hourly_rate: Decimal | None,
        availability: dict[str, Any],
        is_active: bool,
    ) -> None:
        self.workspace_id = workspace_id
        self.user_id = user_id
        self.role = role
        self.skills = list(skills)
        self.capacity = capacity
        self.hourly_rate = hourly_rate
        self.availability = availability
        self.is_active = is_active

    @classmethod
    def add(cls, *, workspace_id: UUID, user_id: UUID, actor_id: UUID, **fields: Any) -> TeamMember:
        values = check_member_fields(
            {
                "role": None,
                "skills": [],
                "capacity": 40,
                "hourly_rate": None,
                "availability": {},
                "is_active": True,
                **fields,
            }
        )
        return cls(workspace_id=workspace_id, user_id=user_id, actor_id=actor_id, **values)

    def update(self, actor_id: UUID, **fields: Any) -> bool:
        unknown = set(fields) - set(MEMBER_FIELDS)
        if unknown:
            raise RuleBroken(f"not a team member field: {', '.join(sorted(unknown))}")
        checked = check_member_fields(fields)
        changes = {k: v for k, v in checked.items() if getattr(self, k) != v}
        if not changes:
            return False
        self._updated(
            actor_id=actor_id, workspace_id=self.workspace_id, user_id=self.user_id, changes=changes
        )
        return True

    @event("Updated")
    def _updated(
        self, actor_id: UUID, workspace_id: UUID, user_id: UUID, changes: dict[str, Any]
    ) -> None:
        for key, value in changes.items():
            setattr(self, key, list(value) if key == "skills" else value)

    def has_skills(self, required: list[str]) -> bool:
        return set(required) <= set(self.skills)


class Allocation(Aggregate):
    """Hours per week of a user on a project, from ``start_date`` to ``end_date``."""

    @event("Created")
    def __init__(
        self,
        workspace_id: UUID,
        project_id: UUID,
        user_id: UUID,
        actor_id: UUID,
        role: str | None,
        hours_per_week: Decimal,
        start_date: date,
        end_date: date,
        required_skills: list[str],
    ) -> None:
        self.workspace_id = workspace_id
        self.project_id = project_id
        self.user_id = user_id
        self.created_by = actor_id
        self.role = role
        self.hours_per_week = hours_per_week
        self.start_date = start_date
        self.end_date = end_date
        self.required_skills = list(required_skills)
        self.deleted = False

    @classmethod
    def book(
        cls,
        *,
        workspace_id: UUID,
        project_id: UUID,
        user_id: UUID,
        actor_id: UUID,
        hours_per_week: Decimal,
        start_date: date,
        end_date: date,
        role: str | None = None,
        required_skills: list[str] | None = None,
    ) -> Allocation:
        check_allocation(hours_per_week, start_date, end_date)
        return cls(
            workspace_id=workspace_id,
            project_id=project_id,
            user_id=user_id,
            actor_id=actor_id,
            role=role,
            hours_per_week=hours_per_week,
            start_date=start_date,
            end_date=end_date,
            required_skills=normalize_skills(required_skills),
        )

    def _scope(self, actor_id: UUID) -> dict[str, Any]:
        return {
            "actor_id": actor_id,
            "workspace_id": self.workspace_id,
            "project_id": self.project_id,
            "user_id": self.user_id,
        }

    def _check_live(self) -> None:
        if self.deleted:
            raise Gone("allocation not found")

    def update(self, actor_id: UUID, **fields: Any) -> bool:
        self._check_live()
        unknown = set(fields) - set(ALLOCATION_FIELDS)
        if unknown:
            raise RuleBroken(f"not an allocation field: {', '.join(sorted(unknown))}")
        if "required_skills" in fields:
            fields["required_skills"] = normalize_skills(fields["required_skills"])
        after = {k: fields.get(k, getattr(self, k)) for k in ALLOCATION_FIELDS}
        check_allocation(after["hours_per_week"], after["start_date"], after["end_date"])
        changes = {k: v for k, v in fields.items() if getattr(self, k) != v}
        if not changes:
            return False
        self._updated(**self._scope(actor_id), changes=changes)
        return True

    @event("Updated")
    def _updated(
        self,
        actor_id: UUID,
        workspace_id: UUID,
        project_id: UUID,
        user_id: UUID,
        changes: dict[str, Any],
    ) -> None:
        for key, value in changes.items():
            setattr(self, key, list(value) if key == "required_skills" else value)

    def delete(self, actor_id: UUID) -> None:
        self._check_live()
        self._deleted(**self._scope(actor_id))

    @event("Deleted")
    def _deleted(self, actor_id: UUID, workspace_id: UUID, project_id: UUID, user_id: UUID) -> None:
        self.deleted = True


class Workload(Aggregate):
    """A member's conflicts (by id) and the weekly utilization last recorded for them.

    ``conflicts[id]`` holds ``status`` (active, resolved, ignored) and what was detected.
    """

    @staticmethod
    def create_id(workspace_id: UUID, user_id: UUID) -> UUID:
        return Workload.id_for(workspace_id, user_id)

    @staticmethod
    def id_for(workspace_id: UUID, user_id: UUID) -> UUID:
        return name_based_id("workload", f"{workspace_id}:{user_id}")

    @event("Created")
    def __init__(self, workspace_id: UUID, user_id: UUID) -> None:
        self.workspace_id = workspace_id
        self.user_id = user_id
        self.conflicts: dict[str, dict[str, Any]] = {}

    def _scope(self) -> dict[str, Any]:
        return {"workspace_id": self.workspace_id, "user_id": self.user_id}

    def active_conflicts(self) -> set[str]:
        return {k for k, v in self.conflicts.items() if v["status"] == "active"}

    def reconcile(self, found: list[Overload], cause: str) -> None:
        """Make the active conflicts those ``found``: new ones detected (or detected again),
        changed ones updated, vanished ones resolved by themselves. A conflict a manager
        closed stays closed while its cause lasts."""
        wanted = {str(o.id): o for o in found}
        for ident in sorted(self.active_conflicts() - set(wanted)):
            self._conflict_cleared(**self._scope(), conflict_id=UUID(ident), reason=cause)
        for ident, overload in wanted.items():
            known = self.conflicts.get(ident)
            details = {
                "conflict_id": overload.id,
                "allocation_ids": list(overload.allocation_ids),
                "start_date": overload.start_date,
                "end_date": overload.end_date,
                "percentage": overload.percentage,
                "over_hours": overload.over_hours,
            }
            if known is None or known["status"] == "cleared":
                self._conflict_detected(**self._scope(), **details)
            elif known["status"] == "active" and known["signature"] != overload.signature():
                self._conflict_changed(**self._scope(), **details)

    @staticmethod
    def _signature(
        allocation_ids: list[str], start: date, end: date, pct: Decimal, over: Decimal
    ) -> list[Any]:
        return [list(allocation_ids), start.isoformat(), end.isoformat(), str(pct), str(over)]

    @event("ConflictDetected")
    def _conflict_detected(
        self,
        workspace_id: UUID,
        user_id: UUID,
        conflict_id: UUID,
        allocation_ids: list[str],
        start_date: date,
        end_date: date,
        percentage: Decimal,
        over_hours: Decimal,
    ) -> None:
        before = self.conflicts.get(str(conflict_id), {}).get("version", 0)
        self.conflicts[str(conflict_id)] = {
            "status": "active",
            "signature": self._signature(
                allocation_ids, start_date, end_date, percentage, over_hours
            ),
            "version": before + 1,
        }

    @event("ConflictChanged")
    def _conflict_changed(
        self,
        workspace_id: UUID,
        user_id: UUID,
        conflict_id: UUID,
        allocation_ids: list[str],
        start_date: date,
        end_date: date,
        percentage: Decimal,
        over_hours: Decimal,
    ) -> None:
        conflict = self.conflicts[str(conflict_id)]
        conflict["signature"] = self._signature(
            allocation_ids, start_date, end_date, percentage, over_hours
        )
        conflict["version"] += 1

    @event("ConflictCleared")
    def _conflict_cleared(
        self, workspace_id: UUID, user_id: UUID, conflict_id: UUID, reason: str
    ) -> None:
        """The cause went away: resolved by itself."""
        self.conflicts[str(conflict_id)]["status"] = "cleared"
        self.conflicts[str(conflict_id)]["version"] += 1

    def conflict_version(self, conflict_id: UUID) -> int:
        known = self.conflicts.get(str(conflict_id))
        if known is None:
            raise Missing("conflict not found")
        return int(known["version"])

    def close_conflict(
        self, actor_id: UUID, conflict_id: UUID, status: str, details: dict[str, Any]
    ) -> None:
        """A manager resolves or ignores an active conflict."""
        if status not in CLOSING_STATUSES:
            raise RuleBroken(f"status must be one of {', '.join(CLOSING_STATUSES)}")
        known = self.conflicts.get(str(conflict_id))
        if known is None:
            raise Missing("conflict not found")
        if known["status"] != "active":
            raise RuleBroken("the conflict is no longer active")
        self._conflict_closed(
            actor_id=actor_id,
            **self._scope(),
            conflict_id=conflict_id,
            status=status,
            details=details,
        )

    @event("ConflictClosed")
    def _conflict_closed(
        self,
        actor_id: UUID,
        workspace_id: UUID,
        user_id: UUID,
        conflict_id: UUID,
        status: str,
        details: dict[str, Any],
    ) -> None:
        self.conflicts[str(conflict_id)]["status"] = status
        self.conflicts[str(conflict_id)]["version"] += 1

    def record_utilization(self, weeks: list[dict[str, Any]]) -> None:
        if weeks:
            self._utilization_updated(**self._scope(), weeks=weeks)

    @event("UtilizationUpdated")
    def _utilization_updated(
        self, workspace_id: UUID, user_id: UUID, weeks: list[dict[str, Any]]
    ) -> None:
        """Weeks whose capacity, allocated or tracked hours changed: ``period_start``,
        ``capacity``, ``allocated``, ``actual`` (hours as strings)."""
