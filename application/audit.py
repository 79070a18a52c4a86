"""Audit replay, straight from the log: an object's events (who, when, what changed) and its
state as of a version or a moment, rebuilt by replaying its events."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from application.access import require
from application.adapters.store import EventStore
from application.authorization import Action
from application.errors import Invalid, NotFound
from domain.comments import Comment
from domain.kanban import Board, Card
from domain.milestones import Milestone
from domain.milestones_templates import MilestoneTemplate
from domain.projects import Project
from domain.tasks import Task
from domain.workspaces import Workspace

AUDITABLE: dict[str, type] = {
    "workspace": Workspace,
    "project": Project,
    "board": Board,
    "card": Card,
    "task": Task,
    "comment": Comment,
    "milestone": Milestone,
    "milestone_template": MilestoneTemplate,
}
META = {"originator_id", "originator_version", "timestamp"}
META_AND_ACTOR = frozenset(META | {"actor_id"})


def plain(value: Any) -> Any:
    """JSON-ready values: ids, decimals and dates as strings, containers recursively."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(v) for v in value]
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def state_of(aggregate: Any) -> dict[str, Any]:
    """The aggregate's public state (no private attributes)."""
    state = {k: v for k, v in vars(aggregate).items() if not k.startswith("_")}
    state["id"] = aggregate.id
    state["version"] = aggregate.version
    return plain(state)


class AuditService:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    def _events(self, object_type: str, object_id: UUID, actor_id: UUID) -> list[Any]:
        cls = AUDITABLE.get(object_type)
        if cls is None:
            raise NotFound(f"no audit trail for object type {object_type!r}")
        events = list(self.store.events.get(object_id))
        if not events or not type(events[0]).__qualname__.startswith(cls.__name__ + "."):
            raise NotFound(f"{object_type} not found")
        latest = self.store.load(cls, object_id, object_type)
        workspace_id = latest.id if cls is Workspace else latest.workspace_id
        require(self.store, workspace_id, actor_id, Action.ACTIVITY_READ, object_type)
        return events

    def history(self, *, object_type: str, object_id: UUID, actor_id: UUID) -> list[dict[str, Any]]:
        return [
            {
                "version": e.originator_version,
                "event": type(e).__qualname__.split(".", 1)[1],
                "at": e.timestamp.isoformat(),
                "actor_id": plain(getattr(e, "actor_id", None) or getattr(e, "owner_id", None)),
                "data": plain({k: v for k, v in vars(e).items() if k not in META_AND_ACTOR}),
            }
            for e in self._events(object_type, object_id, actor_id)
        ]

    def state(
        self,
        *,
        object_type: str,
        object_id: UUID,
        actor_id: UUID,
        version: int | None = None,
        as_of: datetime | None = None,
    ) -> dict[str, Any]:
        """The object as it was at ``version`` or at the moment ``as_of``."""
        events = self._events(object_type, object_id, actor_id)
        if as_of is not None:
            before = [e for e in events if e.timestamp <= as_of]
            if not before:
                raise NotFound(f"the {object_type} did not exist yet at {as_of.isoformat()}")
            version = before[-1].originator_version
        if version is None or not 1 <= version <= events[-1].originator_version:
            raise Invalid(f"version must be between 1 and {events[-1].originator_version}")
        aggregate = self.store.repository.get(object_id, version=version)
        state = state_of(aggregate)
        if isinstance(aggregate, Board):
            state["columns"] = self._board_columns(aggregate, events[version - 1].timestamp)
            state.pop("cards", None)
        return {"object_type": object_type, "as_of_version": version, "state": state}

    def _board_columns(self, board: Board, at: datetime) -> list[dict[str, Any]]:
        """The board's columns in order, each with its cards' content as it was then."""
        columns = []
        for column_id in board.column_order():
            cards = []
            for card_id in board.cards_in(column_id):
                history = [e for e in self.store.events.get(UUID(card_id)) if e.timestamp <= at]
                card = (
                    self.store.repository.get(UUID(card_id), version=history[-1].originator_version)
                    if history
                    else None
                )
                cards.append(state_of(card) if card else {"id": card_id})
            columns.append({"id": column_id, **plain(board.columns[column_id]), "cards": cards})
        return columns
