"""Projects use cases."""

from __future__ import annotations

from application.store import EventStore


class ProjectsService:
    def __init__(self, store: EventStore) -> None:
        self.store = store
