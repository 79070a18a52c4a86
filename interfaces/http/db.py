"""A request's read connection: taken from the pool on first use, given back before the
request waits (for a command, for projections) and at its end, and a read that fails because
the connection died is retried once on a fresh one.

Routers and query functions use it like a psycopg ``AsyncConnection`` (``execute``,
``cursor``); nothing holds a pooled connection across a wait, so stalled projections cannot
starve the pool (a command waits up to ``PROJECTION_WAIT_TIMEOUT`` with no connection).
The pool checks each connection as it is handed out (``bootstrap.open_read_pool``: a
non-blocking look at its socket, and an empty query when something arrived there while it was
idle); the retry covers a connection that dies between that check and the read.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import psycopg
import structlog
from psycopg import AsyncConnection, AsyncCursor
from psycopg_pool import AsyncConnectionPool

log = structlog.get_logger("http.db")


def connection_lost(conn: AsyncConnection, error: Exception) -> bool:
    """Did ``error`` come from the connection itself dying (terminated backend, restart,
    network), rather than from the statement?"""
    return isinstance(error, psycopg.OperationalError) and (conn.closed or conn.broken)


class ReadConnection:
    """One request's lazily acquired pooled connection (autocommit: every read stands alone)."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool
        self._conn: AsyncConnection | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None

    async def acquire(self) -> AsyncConnection:
        if self._conn is None:
            self._conn = await self.pool.getconn()
        return self._conn

    async def release(self) -> None:
        """Give the connection back (the pool discards a broken one); reads take a new one."""
        conn, self._conn = self._conn, None
        if conn is not None:
            await self.pool.putconn(conn)

    async def _lost(self, conn: AsyncConnection, error: Exception, attempt: int) -> bool:
        """True when the read should be tried again on a fresh connection."""
        if attempt > 0 or not connection_lost(conn, error):
            return False
        log.warning("read connection lost; retrying on a fresh one", error=str(error))
        await self.release()
        return True

    async def execute(self, query: Any, params: Any = None, **kwargs: Any) -> AsyncCursor:
        attempt = 0
        while True:
            conn = await self.acquire()
            try:
                return await conn.execute(query, params, **kwargs)
            except psycopg.Error as e:
                if not await self._lost(conn, e, attempt):
                    raise
            attempt += 1

    def cursor(self, **kwargs: Any) -> RetryingCursor:
        return RetryingCursor(self, kwargs)


class RetryingCursor:
    """``async with conn.cursor(...) as cur``: each ``execute`` is retried once on a fresh
    connection (and cursor) when the connection died under it."""

    def __init__(self, owner: ReadConnection, kwargs: dict[str, Any]) -> None:
        self._owner = owner
        self._kwargs = kwargs
        self._cursor: AsyncCursor | None = None

    async def _open(self) -> AsyncCursor:
        conn = await self._owner.acquire()
        self._cursor = conn.cursor(**self._kwargs)
        return self._cursor

    async def __aenter__(self) -> RetryingCursor:
        await self._open()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._cursor is not None:
            await self._cursor.close()

    async def execute(self, query: Any, params: Any = None, **kwargs: Any) -> RetryingCursor:
        assert self._cursor is not None, "use the cursor inside `async with`"
        attempt = 0
        while True:
            conn = self._cursor.connection
            try:
                await self._cursor.execute(query, params, **kwargs)
                return self
            except psycopg.Error as e:
                if not await self._owner._lost(conn, e, attempt):
                    raise
            attempt += 1
            await self._open()

    def __getattr__(self, name: str) -> Any:  # fetchone, fetchall, rowcount, description...
        return getattr(self._cursor, name)

    def __aiter__(self) -> Any:
        return self._cursor.__aiter__()
