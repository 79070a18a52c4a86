"""Kanban use cases."""

from __future__ import annotations

from application.store import EventStore


class KanbanService:
    def __init__(self, store: EventStore) -> None:
        self.store = store
