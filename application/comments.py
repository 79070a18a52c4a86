"""Comments use cases."""

from __future__ import annotations

from application.store import EventStore


class CommentsService:
    def __init__(self, store: EventStore) -> None:
        self.store = store
