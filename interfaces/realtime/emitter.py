"""The log follower: reads each new event once, routes it and publishes it to its rooms.

One emitter per deployment: with Redis every candidate (each API process, or dedicated
``worksync realtime`` processes) takes a session advisory lock on its own connection, and
only the holder emits; when it dies its connection closes, the lock is released and a
standby takes over within a second. Without Redis each process emits to its own sockets.

A new emitter starts at the log head with a new epoch; receivers notice the new epoch and
re-read the log for their sockets, so events appended while no emitter ran are not lost.
"""

from __future__ import annotations

import asyncio
import time
import uuid
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
import structlog

from interfaces.realtime.log import LogReader, log_head, read_rows
from projections.engine import EVENTS_CHANNEL

log = structlog.get_logger("realtime")

LOCK_KEY = zlib.crc32(b"worksync.realtime.emitter")
Publish = Callable[[dict[str, Any], list[str]], Awaitable[None]]


class LogEmitter:
    def __init__(
        self,
        conninfo: str,
        reader: LogReader,
        publish: Publish,
        *,
        elect: bool,
        heartbeat: float = 2.0,
        standby_poll: float = 1.0,
        batch_size: int = 500,
        publish_timeout: float = 5.0,
    ) -> None:
        self.conninfo = conninfo
        self.reader = reader
        self.publish = publish
        self.elect = elect
        self.heartbeat = heartbeat
        self.standby_poll = standby_poll
        self.batch_size = batch_size
        self.publish_timeout = publish_timeout
        self.is_leader = False
        self.epoch: str | None = None
        self.last: int | None = None
        self.emitted = 0
        self._last_sent = 0.0

    async def run(self) -> None:
        """Follow the log until cancelled, reconnecting (and re-electing) on errors."""
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True
                ) as conn:
                    await self._lead(conn)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("realtime emitter lost its connection", error=str(e))
                await asyncio.sleep(self.standby_poll)
            finally:
                self.is_leader = False

    async def _lead(self, conn: psycopg.AsyncConnection) -> None:
        while self.elect:
            cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,))
            row = await cur.fetchone()
            if row and row[0]:
                break
            await asyncio.sleep(self.standby_poll)
        await conn.execute(f"LISTEN {EVENTS_CHANNEL}")
        position = await log_head(conn)
        self.epoch, self.last, self.is_leader = uuid.uuid4().hex, None, True
        log.info("realtime emitter running", epoch=self.epoch, position=position)
        await self._send({"epoch": self.epoch, "heartbeat": True, "last": None}, [])
        while True:
            rows = await read_rows(conn, position, self.batch_size)
            for row in rows:
                delivery = self.reader.deliver(row)
                if delivery is not None:
                    message = {**delivery.message(), "epoch": self.epoch, "prev": self.last}
                    await self._send(message, sorted(delivery.rooms))
                    self.last = delivery.position
                    self.emitted += 1
                position = row.position
            if len(rows) == self.batch_size:
                continue
            if time.monotonic() - self._last_sent >= self.heartbeat:
                await self._send({"epoch": self.epoch, "heartbeat": True, "last": self.last}, [])
            async for _ in conn.notifies(timeout=self.heartbeat, stop_after=1):
                pass

    async def _send(self, message: dict[str, Any], rooms: list[str]) -> None:
        """Publish; never raise: a broken Redis must not stop the log follower."""
        self._last_sent = time.monotonic()
        try:
            await asyncio.wait_for(self.publish(message, rooms), self.publish_timeout)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.warning("realtime publish failed", error=str(e))
