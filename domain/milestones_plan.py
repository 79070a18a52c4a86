"""A project's MilestonePlan: which milestones it has and which depend on which (a DAG),
decided in one place (see domain/milestones.py)."""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.shared import RuleBroken, name_based_id


class MilestoneCycle(RuleBroken):
    code = "cycle"

    def __init__(self, cycle: list[str]) -> None:
        super().__init__(
            f"this dependency would create a cycle: {' -> '.join(cycle)}",
            kind="milestone dependency",
            cycle=cycle,
        )


class MilestonePlan(Aggregate):
    """Which milestones a project has and which of them depend on which (a DAG).

    One per project (id = uuid5 of the project id). A dependency must be a live milestone of
    the same project, and a change that would close a cycle is refused, naming the cycle.
    """

    @staticmethod
    def create_id(project_id: UUID) -> UUID:
        return MilestonePlan.id_for(project_id)

    @staticmethod
    def id_for(project_id: UUID) -> UUID:
        return name_based_id("milestone-plan", str(project_id))

    @event("Created")
    def __init__(self, workspace_id: UUID, project_id: UUID, actor_id: UUID) -> None:
        self.workspace_id = workspace_id
        self.project_id = project_id
        self.milestones: dict[str, list[str]] = {}  # live milestone id -> ids it depends on

    def _scope(self, actor_id: UUID) -> dict[str, Any]:
        return {
            "actor_id": actor_id,
            "workspace_id": self.workspace_id,
            "project_id": self.project_id,
        }

    def dependents_of(self, milestone_id: UUID | str) -> list[str]:
        key = str(milestone_id)
        return sorted(m for m, deps in self.milestones.items() if key in deps)

    def cycle_with(self, milestone_id: str, dependencies: list[str]) -> list[str] | None:
        """The cycle that giving ``milestone_id`` these dependencies would close, as a path
        from the milestone back to itself (graphlib finds one)."""
        graph = {**self.milestones, milestone_id: dependencies}
        try:
            TopologicalSorter(graph).prepare()
        except CycleError as e:
            # graphlib lists each node before the one that depends on it: reversed, each
            # milestone depends on the next.
            found = [str(n) for n in reversed(e.args[1])]
            if milestone_id in found[:-1]:
                at = found.index(milestone_id)
                found = found[at:-1] + found[:at] + [milestone_id]
            return found
        return None

    def check_dependencies(self, milestone_id: UUID, dependencies: list[UUID]) -> None:
        key = str(milestone_id)
        deps = [str(d) for d in dependencies]
        if len(set(deps)) != len(deps):
            raise RuleBroken("dependencies must not repeat a milestone")
        for dep in deps:
            if dep != key and dep not in self.milestones:
                raise RuleBroken(
                    f"milestone {dep} is not a milestone of this project", dependency=dep
                )
        cycle = [key, key] if key in deps else self.cycle_with(key, deps)
        if cycle:
            raise MilestoneCycle(cycle)

    def place(self, actor_id: UUID, milestone_id: UUID, dependencies: list[UUID]) -> None:
        """Add a milestone or set its dependencies (checked first)."""
        self.check_dependencies(milestone_id, dependencies)
        deps = [str(d) for d in dependencies]
        if self.milestones.get(str(milestone_id)) != deps:
            self._placed(
                **self._scope(actor_id), milestone_id=milestone_id, dependencies=list(dependencies)
            )

    @event("Placed")
    def _placed(
        self,
        actor_id: UUID,
        workspace_id: UUID,
        project_id: UUID,
        milestone_id: UUID,
        dependencies: list[UUID],
    ) -> None:
        self.milestones[str(milestone_id)] = [str(d) for d in dependencies]

    def remove(self, actor_id: UUID, milestone_id: UUID) -> None:
        """Remove a milestone and every dependency on it."""
        self._removed(**self._scope(actor_id), milestone_id=milestone_id)

    @event("Removed")
    def _removed(
        self, actor_id: UUID, workspace_id: UUID, project_id: UUID, milestone_id: UUID
    ) -> None:
        key = str(milestone_id)
        self.milestones.pop(key, None)
        self.milestones = {m: [d for d in deps if d != key] for m, deps in self.milestones.items()}
