"""One connected socket: what it may follow, where it is in the log, and its ordered outbox.

Every event reaches the socket through ``push``, in log order, whether it was read from the
log (replay) or arrived live; ``queued`` is the last position considered, so nothing is sent
twice and nothing goes backwards.

The hand-over from replay to live: while ``replaying``, live events are buffered in
``pending`` (the socket is already in its rooms). The replay reads the log until it finds no
more rows, then, without yielding to the event loop, takes ``pending``, goes live and pushes
what was buffered (``push`` drops what the replay already covered). An event committed after
the replay's last read was published after the socket joined its rooms, so it is in
``pending``: no gap. If ``pending`` overflows, or the process saw a gap in the live stream,
the replay goes round once more instead of handing over.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from interfaces.realtime.log import Delivery, LogReader
from interfaces.realtime.names import EVERYONE

log = structlog.get_logger("realtime")

REPLAY_BATCH = 500
PENDING_LIMIT = 5_000
OUTBOX_LIMIT = 10_000  # a client this far behind is disconnected; it resumes with since=


class Subscriber:
    def __init__(
        self,
        sid: str,
        user_id: str,
        workspaces: set[str],
        requested: set[str],
        cursor: int,
        *,
        send: Callable[[Delivery], Awaitable[None]],
        rooms_changed: Callable[[str, str, bool], None],
        connection: Callable[[], Any],
        reader: LogReader,
    ) -> None:
        self.sid = sid
        self.user_id = user_id
        self.rooms = {f"user:{user_id}"} | {f"workspace:{w}" for w in workspaces}
        self.requested = set(requested)  # workspaces the client asked to follow
        self.queued = cursor
        self.replaying = True
        self.pending: list[Delivery] = []
        self.again = False  # the replay must read the log once more before going live
        self.outbox: deque[Delivery] = deque()
        self.wake = asyncio.Event()
        self.drained = asyncio.Event()
        self.closed = False
        self._send = send
        self._rooms_changed = rooms_changed
        self._connection = connection
        self._reader = reader
        self._replay: asyncio.Task | None = None

    # Called synchronously by the process's fan-out, in log order ------------------------------

    def offer(self, delivery: Delivery) -> None:
        if not self.replaying:
            self.push(delivery)
        elif len(self.pending) < PENDING_LIMIT:
            self.pending.append(delivery)
        else:
            self.pending.clear()
            self.again = True

    def push(self, d: Delivery) -> None:
        if d.position <= self.queued or self.closed:
            return
        self.queued = d.position
        if d.grant and d.grant[1] == self.user_id and d.grant[0] in self.requested:
            self._follow(d.grant[0], True)
        if not d.rooms & self.rooms:
            return
        self.outbox.append(d)
        if d.revoke and d.revoke[1] in (EVERYONE, self.user_id):
            self._follow(d.revoke[0], False)
        if len(self.outbox) > OUTBOX_LIMIT:
            log.warning("socket too far behind; disconnecting", sid=self.sid)
            self.closed = True
        self.wake.set()

    def _follow(self, workspace_id: str, on: bool) -> None:
        room = f"workspace:{workspace_id}"
        if on and room not in self.rooms:
            self.rooms.add(room)
            self._rooms_changed(self.sid, room, True)
        elif not on and room in self.rooms:
            self.rooms.discard(room)
            self._rooms_changed(self.sid, room, False)

    def follow(self, workspace_id: str) -> None:
        """Follow a workspace from now on (the caller checked membership)."""
        self.requested.add(workspace_id)
        self._follow(workspace_id, True)

    def unfollow(self, workspace_id: str) -> None:
        self.requested.discard(workspace_id)
        self._follow(workspace_id, False)

    def send_control(self, name: str, payload: dict[str, Any]) -> None:
        self.outbox.append(Delivery.control(name, payload))
        self.wake.set()

    # Replay -------------------------------------------------------------------------------

    def resync(self, intact: int | None = None) -> None:
        """Read the log again from where the socket is: the live stream may have lost events
        after ``intact`` (the last position the process received before the gap; a live
        socket was offered everything up to there)."""
        if self.closed:
            return
        if self.replaying:
            self.again = True
            return
        if intact is not None:
            self.queued = max(self.queued, intact)
        self.replaying = True
        self.start_replay()

    def start_replay(self, ready: Callable[[], None] | None = None) -> None:
        self._replay = asyncio.create_task(self._run_replay(ready), name=f"replay-{self.sid}")

    async def _run_replay(self, ready: Callable[[], None] | None) -> None:
        try:
            await self.replay()
            if ready is not None:
                ready()
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.warning("replay failed; disconnecting the socket", sid=self.sid, error=str(e))
            self.closed = True
            self.wake.set()

    async def replay(self) -> None:
        while not self.closed:
            async with self._connection() as conn:
                deliveries, last, more = await self._reader.after(conn, self.queued, REPLAY_BATCH)
            for d in deliveries:
                self.push(d)
            self.queued = max(self.queued, last)
            if more or self.again:
                self.again = False
                if len(self.outbox) > REPLAY_BATCH:  # let the sender drain before reading on
                    self.drained.clear()
                    await self.drained.wait()
                continue
            pending, self.pending = self.pending, []
            self.replaying = False
            for d in pending:
                self.push(d)
            return

    # Sending ------------------------------------------------------------------------------

    async def run_sender(self) -> None:
        """Send the outbox in order, until the socket closes."""
        while not self.closed:
            while self.outbox and not self.closed:
                await self._send(self.outbox.popleft())
            self.drained.set()
            self.wake.clear()
            if not self.closed:
                await self.wake.wait()

    async def close(self) -> None:
        self.closed = True
        self.wake.set()
        self.drained.set()
        if self._replay is not None:
            self._replay.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._replay
