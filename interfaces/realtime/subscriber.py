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

A workspace joined later with ``since`` is caught up by the same replay: the join goes live
from the socket's position (``queued``) with live events held in ``pending``, the replay first
sends that workspace's events in (since, queued] that this socket was not sent already, then
reads on and hands over as above. ``spans`` remember, per room, the positions this socket
received through it, so nothing is sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
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
        # room -> [first, last] positions the socket received through it (last open: inf)
        self.spans: dict[str, list[list[float]]] = {r: [[cursor + 1, math.inf]] for r in self.rooms}
        self.not_before: dict[str, int] = {}  # room -> first position wanted (since + 1)
        self.joins: list[tuple[str, int]] = []  # (workspace, since) for the replay to catch up
        self.since: int | None = None  # the connection's ``since``: the default for joins
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
            self._follow(d.grant[0], True, d.position)
        matched = d.rooms & self.rooms
        if matched and self.not_before:
            matched = {r for r in matched if d.position >= self.not_before.get(r, 0)}
        if not matched:
            return
        self._enqueue(d)
        if d.revoke and d.revoke[1] in (EVERYONE, self.user_id):
            self._follow(d.revoke[0], False, d.position + 1)

    def _enqueue(self, d: Delivery) -> None:
        self.outbox.append(d)
        if len(self.outbox) > OUTBOX_LIMIT:
            log.warning("socket too far behind; disconnecting", sid=self.sid)
            self.closed = True
        self.wake.set()

    def _follow(self, workspace_id: str, on: bool, at: int) -> None:
        """Enter or leave the workspace's room for the events from position ``at`` on."""
        room = f"workspace:{workspace_id}"
        if on and room not in self.rooms:
            self.rooms.add(room)
            self.spans.setdefault(room, []).append([at, math.inf])
            self._rooms_changed(self.sid, room, True)
        elif not on and room in self.rooms:
            self.rooms.discard(room)
            self.not_before.pop(room, None)
            self.spans[room][-1][1] = at - 1
            self._rooms_changed(self.sid, room, False)

    def follow(self, workspace_id: str, since: int | None = None) -> None:
        """Follow a workspace (the caller checked membership): its events after ``since``
        that this socket was not sent, in order, then live; without ``since``, from now on."""
        self.requested.add(workspace_id)
        if since is None or since >= self.queued or self.closed:
            room = f"workspace:{workspace_id}"
            if since is not None and since > self.queued and room not in self.rooms:
                self.not_before[room] = since + 1
            self._follow(workspace_id, True, max(self.queued, since or 0) + 1)
            return
        self.joins.append((workspace_id, since))
        if not self.replaying:
            self.replaying = True
            self.start_replay()

    def unfollow(self, workspace_id: str) -> None:
        self.requested.discard(workspace_id)
        self.joins = [j for j in self.joins if j[0] != workspace_id]
        self._follow(workspace_id, False, self.queued + 1)

    def was_sent(self, d: Delivery) -> bool:
        return any(
            lo <= d.position <= hi for room in d.rooms for lo, hi in self.spans.get(room, ())
        )

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
            if self.joins:
                await self._catch_up_joins()
            async with self._connection() as conn:
                deliveries, last, more = await self._reader.after(conn, self.queued, REPLAY_BATCH)
            for d in deliveries:
                self.push(d)
            self.queued = max(self.queued, last)
            if more or self.again or self.joins:
                self.again = False
                await self._let_drain()
                continue
            pending, self.pending = self.pending, []
            self.replaying = False
            for d in pending:
                self.push(d)
            return

    async def _let_drain(self) -> None:
        if len(self.outbox) > REPLAY_BATCH:  # let the sender drain before reading on
            self.drained.clear()
            await self.drained.wait()

    async def _catch_up_joins(self) -> None:
        """Send the joined workspaces' events in (since, queued] this socket was not sent,
        in order, as the socket would have received them had it followed them (a removal
        ends a workspace, being added again restarts it); they go live from ``queued``."""
        joins, self.joins = self.joins, []
        upto, since = self.queued, {}
        for workspace_id, after in joins:
            since[workspace_id] = min(after, since.get(workspace_id, after))
            self._follow(workspace_id, True, upto + 1)  # now: live events wait in pending
        position = min(since.values())
        catch_up = CatchUp(since)
        while position < upto and not self.closed:
            catch_up.drop(set(catch_up.since) - self.requested, position)  # left meanwhile
            async with self._connection() as conn:
                deliveries, last, more = await self._reader.after(conn, position, REPLAY_BATCH)
            for d in deliveries:
                if d.position > upto:
                    break
                if catch_up.wants(d, self.user_id) and not self.was_sent(d):
                    self._enqueue(d)
            position = min(last, upto) if more else upto
            await self._let_drain()
        catch_up.drop(set(catch_up.since), upto)
        for workspace_id, lo, hi in catch_up.spans:
            self.spans.setdefault(f"workspace:{workspace_id}", []).append([lo, hi])
        for workspace_id in catch_up.removed:  # after the join's membership check
            self._follow(workspace_id, False, upto + 1)

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


class CatchUp:
    """Which events of workspaces joined with ``since`` a socket gets, position by position:
    those of a workspace after its ``since``, until a removal, again once added back."""

    def __init__(self, since: dict[str, int]) -> None:
        self.since = since
        self.opened: dict[str, int | None] = {w: after + 1 for w, after in since.items()}
        self.spans: list[tuple[str, int, int]] = []  # (workspace, first, last) covered
        self.removed: set[str] = set()

    def wants(self, d: Delivery, user_id: str) -> bool:
        wanted = False
        for w, after in self.since.items():
            if d.position <= after:
                continue
            if d.grant == (w, user_id) and self.opened[w] is None and w in self.removed:
                self.opened[w] = d.position
                self.removed.discard(w)
            if self.opened[w] is None or f"workspace:{w}" not in d.rooms:
                continue
            wanted = True
            if d.revoke and d.revoke[0] == w and d.revoke[1] in (EVERYONE, user_id):
                self._close(w, d.position)
                self.removed.add(w)
        return wanted

    def drop(self, workspaces: set[str], last: int) -> None:
        """No more events for ``workspaces``: covered up to ``last``."""
        for w in workspaces & set(self.since):
            if self.opened[w] is not None:
                self._close(w, last)
            self.since.pop(w)

    def _close(self, w: str, last: int) -> None:
        first = self.opened[w]
        if first is not None and first <= last:
            self.spans.append((w, first, last))
        self.opened[w] = None
