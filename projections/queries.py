"""Running a read query and returning dict rows: the helpers every ``<context>_queries.py``
shares.

``prepare``: True prepares the statement at once (a fixed query text run on every request);
None leaves it to psycopg (prepared after a few runs of the same text: for query texts built
from the request's filters)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any, Generic, TypeVar

from psycopg import AsyncConnection
from psycopg.rows import dict_row

V = TypeVar("V")
NOT_KEPT: Any = object()  # ``Kept.get``'s answer when nothing current is kept (None is a value)


async def fetch_one(
    conn: AsyncConnection, query: str, params: Any, *, prepare: bool | None = True
) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params, prepare=prepare)
        return await cur.fetchone()


async def fetch_all(
    conn: AsyncConnection, query: str, params: Any, *, prepare: bool | None = None
) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params, prepare=prepare)
        return await cur.fetchall()


async def fetch_aggregate(conn: AsyncConnection, query: str, params: Any) -> dict[str, Any]:
    """The row of an aggregate query (counts, sums: there is always exactly one)."""
    row = await fetch_one(conn, query, params, prepare=None)
    if row is None:  # pragma: no cover - an aggregate without GROUP BY always answers a row
        raise LookupError("an aggregate query returned no row")
    return row


class Kept(Generic[V]):
    """Values read under a tag (e.g. the positions of the projections they come from), served
    again only while the caller's current tag is the same; the least recently used go first.
    A tag of None (no positions to compare) keeps nothing and serves nothing."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[Hashable, tuple[Hashable, V]] = OrderedDict()

    def get(self, key: Hashable, tag: Hashable | None) -> V:
        """The value kept under ``tag``, or ``NOT_KEPT``."""
        kept = self._items.get(key) if tag is not None else None
        if kept is None or kept[0] != tag:
            return NOT_KEPT
        self._items.move_to_end(key)
        return kept[1]

    def put(self, key: Hashable, tag: Hashable | None, value: V) -> None:
        if tag is None:
            return
        self._items[key] = (tag, value)
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)
