"""What a projection is: a name, the tables it owns, and one handler per event class.

Handlers receive a psycopg cursor inside the projection's transaction, the decoded event and
its global position. They must be deterministic (ids and timestamps from the event, never
``now()``) so that a rebuild produces the same rows as the live projection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar
from uuid import UUID, uuid5

from eventsourcing.utils import get_topic
from psycopg import Cursor

Handler = Callable[[Any, Cursor, Any, int], None]

ROW_NAMESPACE = UUID("0b6f8f62-3c55-4d36-8d38-8f2f0c5d9e41")


def row_id(*parts: object) -> UUID:
    """A deterministic id for a row that has no aggregate of its own (e.g. a membership)."""
    return uuid5(ROW_NAMESPACE, ":".join(str(p) for p in parts))


def handles(*event_classes: type) -> Callable[[Handler], Handler]:
    def mark(fn: Handler) -> Handler:
        fn._handles = event_classes  # type: ignore[attr-defined]
        return fn

    return mark


class Projection:
    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]
    _handlers: ClassVar[dict[str, Handler]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        handlers: dict[str, Handler] = {}
        for base in reversed(cls.__mro__):
            for attr in vars(base).values():
                for event_class in getattr(attr, "_handles", ()):
                    handlers[get_topic(event_class)] = attr
        cls._handlers = handlers

    @property
    def topics(self) -> frozenset[str]:
        return frozenset(self._handlers)

    def handles_topic(self, topic: str) -> bool:
        return topic in self._handlers

    def apply(self, cur: Cursor, event: Any, position: int) -> None:
        self._handlers[get_topic(type(event))](self, cur, event, position)


def actor_of(event: Any) -> UUID | None:
    """The user who caused the event."""
    for attr in ("actor_id", "owner_id", "created_by"):
        value = getattr(event, attr, None)
        if value is not None:
            return value
    return None
