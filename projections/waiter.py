"""Read-your-writes for the API: wait until projections reach a command's position.

One LISTEN connection per process follows the projectors' progress notifications and keeps
the latest position of each projection; waiters are woken as positions advance. If a
notification is missed (reconnects), the positions are re-read from ``projection_tracking``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Iterable
from typing import Any

import psycopg
import structlog

from projections.engine import PROGRESS_CHANNEL
from projections.identity import SIGN_INS_CHANNEL

log = structlog.get_logger("projections.waiter")


class ProjectionWaiter:
    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.positions: dict[str, int] = {}
        # Bumped on each (re)connection, when notifications may have been missed: caches of
        # what the notifications announce compare it.
        self.generation = 0
        self.sign_ins_changed = 0  # a new value for each announcement (never one seen before)
        self._changes = itertools.count(1)
        self.listening = False  # False: announcements may be missed; caches must not serve
        self._changed = asyncio.Condition()
        self._task: asyncio.Task | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="projection-waiter")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), 5.0)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _refresh(self, conn: psycopg.AsyncConnection) -> None:
        cur = await conn.execute("SELECT name, position FROM projection_tracking")
        rows = await cur.fetchall()
        self.generation += 1
        async with self._changed:
            for name, position in rows:
                self.positions[name] = max(self.positions.get(name, 0), int(position))
            self._changed.notify_all()

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {PROGRESS_CHANNEL}")
                    await conn.execute(f"LISTEN {SIGN_INS_CHANNEL}")
                    await self._refresh(conn)
                    self.listening = True
                    self._ready.set()
                    async for note in conn.notifies():
                        if note.channel == SIGN_INS_CHANNEL:
                            self.sign_ins_changed_here()
                            continue
                        # "name:position", or several joined by "," (one batch, many projections)
                        async with self._changed:
                            for item in note.payload.split(","):
                                name, _, pos = item.rpartition(":")
                                if int(pos) > self.positions.get(name, 0):
                                    self.positions[name] = int(pos)
                            self._changed.notify_all()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                self.listening = False
                log.warning("projection waiter lost its connection", error=str(e))
                await asyncio.sleep(0.5)

    def sign_ins_changed_here(self) -> None:
        """A user or a login changed (an announcement, or this process revoked logins: called
        from the command's thread before it answers). ``next`` is atomic: each call sets a
        value no cache was tagged with."""
        self.sign_ins_changed = next(self._changes)

    def reached(self, names: Iterable[str], position: int) -> bool:
        return all(self.positions.get(n, 0) >= position for n in names)

    async def wait(self, names: Iterable[str], position: int | None, timeout: float) -> bool:
        """True when every named projection has reached ``position`` within ``timeout``."""
        names = list(names)
        if position is None or not names or self.reached(names, position):
            return True
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: self.reached(names, position))
            return True
        except TimeoutError:
            return self.reached(names, position)


REPLICA_POSITIONS = "SELECT name, position FROM projection_tracking WHERE name = ANY(%s)"


class ReplicaWaiter:
    """Read-your-writes on a streaming read replica (``DATABASE_READ_URL``).

    The projections write their rows and their position in ``projection_tracking`` in one
    transaction on the primary, and streaming replication applies that transaction whole on
    the replica: once the replica's ``projection_tracking`` shows a position, the rows of
    every event up to it are there too. A command waits on the primary first
    (``ProjectionWaiter``: LISTEN/NOTIFY, which a hot standby cannot do), then polls the
    replica here, backing off from 1 ms to ``max_interval``; no pooled connection is held
    between polls. ``positions`` keeps the highest position seen on the replica."""

    def __init__(self, pool: Any, max_interval: float = 0.05) -> None:
        self.pool = pool  # psycopg_pool.AsyncConnectionPool on the replica
        self.max_interval = max_interval
        self.positions: dict[str, int] = {}
        # Bumped on each (re)connection, when notifications may have been missed: caches of
        # what the notifications announce compare it.
        self.generation = 0
        self.sign_ins_changed = 0  # a new value for each announcement (never one seen before)
        self._changes = itertools.count(1)
        self.listening = False  # False: announcements may be missed; caches must not serve

    async def _poll(self, names: list[str]) -> None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(REPLICA_POSITIONS, (names,))
            for name, position in await cur.fetchall():
                self.positions[name] = max(self.positions.get(name, 0), int(position))

    def reached(self, names: Iterable[str], position: int) -> bool:
        return all(self.positions.get(n, 0) >= position for n in names)

    async def wait(self, names: Iterable[str], position: int | None, timeout: float) -> bool:
        """True when the replica shows every named projection at ``position`` or beyond
        within ``timeout`` seconds."""
        names = list(names)
        if position is None or not names or self.reached(names, position):
            return True
        interval = 0.001
        try:
            async with asyncio.timeout(timeout):
                while True:
                    await self._poll(names)
                    if self.reached(names, position):
                        return True
                    await asyncio.sleep(interval)
                    interval = min(interval * 2, self.max_interval)
        except TimeoutError:
            return self.reached(names, position)
