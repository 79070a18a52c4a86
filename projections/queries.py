"""Running a read query and returning dict rows: the helpers every ``<context>_queries.py``
shares.

``prepare``: True prepares the statement at once (a fixed query text run on every request);
None leaves it to psycopg (prepared after a few runs of the same text: for query texts built
from the request's filters)."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row


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
