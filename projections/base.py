"""What a projection is: a name, the tables it owns, and one handler per event class.

Handlers receive a psycopg cursor inside the projection's transaction, the decoded event and
its global position. They must be deterministic (ids and timestamps from the event, never
``now()``) so that a rebuild produces the same rows as the live projection.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import lru_cache
from hashlib import sha1
from typing import Any, ClassVar
from uuid import UUID, SafeUUID

import orjson
from eventsourcing.utils import get_topic, resolve_topic
from psycopg import Cursor, sql

Handler = Callable[[Any, Cursor, Any, int], None]

ROW_NAMESPACE = UUID("0b6f8f62-3c55-4d36-8d38-8f2f0c5d9e41")


@lru_cache(maxsize=4096)
def current_topic(topic: str) -> str:
    """The topic a stored topic stands for today: itself, or, for an event class that moved
    (its old topic registered with ``eventsourcing.utils.register_topic``), its new one."""
    try:
        return get_topic(resolve_topic(topic))
    except Exception:  # a topic nothing resolves: no handler has it either
        return topic


_NAMESPACE = ROW_NAMESPACE.bytes
_VERSION_BITS = (0xC000 << 48) | (0xF000 << 64)
_VERSION_5 = (0x8000 << 48) | (5 << 76)  # RFC 4122 variant, version 5


def row_id(*parts: object) -> UUID:
    """A deterministic id for a row that has no aggregate of its own (e.g. a membership):
    ``uuid5(ROW_NAMESPACE, "part:part...")``, made without ``UUID.__init__``'s checks (a
    rebuild makes one for each activity)."""
    name = ":".join([p if type(p) is str else str(p) for p in parts])
    digest = sha1(_NAMESPACE + name.encode(), usedforsecurity=False).digest()  # as uuid5
    made = object.__new__(UUID)
    object.__setattr__(made, "int", (int.from_bytes(digest[:16]) & ~_VERSION_BITS) | _VERSION_5)
    object.__setattr__(made, "is_safe", SafeUUID.unknown)
    return made


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
        """Whether a stored event is handled (stored under its class's old topic too)."""
        return topic in self._handlers or current_topic(topic) in self._handlers

    def apply(self, cur: Cursor, event: Any, position: int) -> None:
        self._handlers[get_topic(type(event))](self, cur, event, position)

    def apply_batch(self, cur: Cursor, events: Sequence[tuple[Any, int]]) -> None:
        """Apply (event, position) pairs in log order, with the outcome of ``apply`` on each.

        A rebuild calls this once per batch. This default sends the statements in pipeline
        mode (without waiting for each result): a handler that fetches a result makes the
        pipeline wait for it, and must not rely on ``cur.rowcount``. Projections override it
        to write a batch set-wise (COPY, one UPDATE for many rows) with the same outcome.
        """
        with cur.connection.pipeline():
            for event, position in events:
                self.apply(cur, event, position)

    # For a rebuild: tables whose rows are only ever inserted (loaded first, indexed after),
    # and indexes no handler's statement needs (built after the load: fewer index entries
    # to write for each row, and updates that change no indexed column stay HOT).
    append_only: ClassVar[tuple[str, ...]] = ()
    deferred_indexes: ClassVar[tuple[str, ...]] = ()
    # Indexes a rebuild's statements need that the live tables lack, e.g. "comments
    # (parent_comment_id)": built on the shadow table for the replay, dropped before the swap.
    scratch_indexes: ClassVar[tuple[str, ...]] = ()


def actor_of(event: Any) -> UUID | None:
    """The user who caused the event."""
    for attr in ("actor_id", "owner_id", "created_by"):
        value = getattr(event, attr, None)
        if value is not None:
            return value
    return None


def json_dumps(value: Any) -> bytes:
    """JSON for a jsonb value (any spelling of the same JSON is the same jsonb)."""
    try:
        return orjson.dumps(value)
    except TypeError:  # e.g. an integer past 64 bits
        return json.dumps(value).encode()


def copy_rows(cur: Cursor, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
    """Insert rows with one COPY (not in pipeline mode). Text format: each value is read by
    its column's input function, as a statement's parameter would be (an id may be a str)."""
    if not rows:
        return
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


class RowSink:
    """Stands in for a cursor: keeps the parameters of each INSERT a handler executes, for
    ``copy_rows``. Anything but ``insert`` is refused."""

    def __init__(self, insert: str) -> None:
        self.insert = insert
        self.rows: list[tuple] = []

    def execute(self, query: str, params: tuple, **_: Any) -> None:
        if query != self.insert:
            raise RuntimeError(f"only {self.insert!r} can be collected, not {query!r}")
        self.rows.append(params)
