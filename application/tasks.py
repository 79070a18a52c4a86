"""Tasks use cases."""

from __future__ import annotations

from application.store import EventStore


class TasksService:
    def __init__(self, store: EventStore) -> None:
        self.store = store
