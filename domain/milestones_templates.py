"""Milestone templates: milestones and deliverables as data, dated by offsets in days from a
start date, private to a workspace or public; applying one counts a use.

A template's milestones are a list; a milestone names the milestones it depends on by their
index in that list (``depends_on``), a deliverable its milestone by index (``milestone``).
"""

from __future__ import annotations

from datetime import date, timedelta
from graphlib import CycleError, TopologicalSorter
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.shared import Gone, RuleBroken

TEMPLATE_FIELDS = ("name", "description", "category", "is_public", "milestones", "deliverables")


def template_problem(
    milestones: list[dict[str, Any]], deliverables: list[dict[str, Any]]
) -> tuple[str, str] | None:
    """(field, message) for the first thing wrong with a template's data, or None."""
    count = len(milestones)
    for i, milestone in enumerate(milestones):
        for ref in milestone.get("depends_on", []):
            if not 0 <= ref < count or ref == i:
                return f"milestones.{i}.depends_on", f"{ref} is not another milestone's index"
    graph = {i: m.get("depends_on", []) for i, m in enumerate(milestones)}
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as e:
        cycle = " -> ".join(str(n) for n in reversed(e.args[1]))
        return "milestones", f"the dependencies form a cycle: {cycle}"
    for i, deliverable in enumerate(deliverables):
        if not 0 <= deliverable["milestone"] < count:
            return f"deliverables.{i}.milestone", "not the index of one of the milestones"
    return None


def dated(start: date, offset_days: int) -> date:
    try:
        return start + timedelta(days=offset_days)
    except OverflowError:
        raise RuleBroken("the template's dates would fall after the year 9999") from None


class MilestoneTemplate(Aggregate):
    @event("Created")
    def __init__(
        self,
        workspace_id: UUID,
        name: str,
        description: str | None,
        category: str | None,
        is_public: bool,
        milestones: list[dict[str, Any]],
        deliverables: list[dict[str, Any]],
        actor_id: UUID,
    ) -> None:
        self.workspace_id = workspace_id
        self.name = name
        self.description = description
        self.category = category
        self.is_public = is_public
        self.milestones = milestones
        self.deliverables = deliverables
        self.created_by = actor_id
        self.usage_count = 0
        self.deleted = False

    def _check_live(self) -> None:
        if self.deleted:
            raise Gone("milestone template not found")

    def update(self, actor_id: UUID, **fields: Any) -> None:
        self._check_live()
        changes = {
            k: v for k, v in fields.items() if k in TEMPLATE_FIELDS and getattr(self, k) != v
        }
        if changes:
            self._updated(actor_id=actor_id, workspace_id=self.workspace_id, changes=changes)

    @event("Updated")
    def _updated(self, actor_id: UUID, workspace_id: UUID, changes: dict[str, Any]) -> None:
        for key, value in changes.items():
            setattr(self, key, value)

    def use(self, actor_id: UUID | None) -> None:
        """Count one application of the template."""
        self._check_live()
        self._used(
            actor_id=actor_id, workspace_id=self.workspace_id, usage_count=self.usage_count + 1
        )

    @event("Used")
    def _used(self, actor_id: UUID | None, workspace_id: UUID, usage_count: int) -> None:
        self.usage_count = usage_count

    def delete(self, actor_id: UUID) -> None:
        self._check_live()
        self._deleted(actor_id=actor_id, workspace_id=self.workspace_id)

    @event("Deleted")
    def _deleted(self, actor_id: UUID, workspace_id: UUID) -> None:
        self.deleted = True
