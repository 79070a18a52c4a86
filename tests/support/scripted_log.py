"""A scripted real-time log (no I/O) and a subscriber reading it, for the replay/live hand-over
tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from interfaces.realtime.log import Delivery
from interfaces.realtime.subscriber import Subscriber

W = "w1"
ROOM = f"workspace:{W}"


def delivery(position: int, **extra) -> Delivery:
    return Delivery(
        position, "kanban:card:moved", frozenset({ROOM}), {"position": position}, **extra
    )


class ScriptedLog:
    """The committed log; ``during_read`` runs while a read is in flight (after its snapshot)."""

    def __init__(self, count: int) -> None:
        self.committed = [delivery(p) for p in range(1, count + 1)]
        self.during_read: list[Callable[[], None]] = []
        self.reads = 0

    def commit(self, d: Delivery) -> Delivery:
        self.committed.append(d)
        return d

    async def after(self, conn, position: int, limit: int):
        snapshot = [d for d in self.committed if d.position > position][:limit]
        self.reads += 1
        if self.during_read:
            self.during_read.pop(0)()
        await asyncio.sleep(0)
        last = snapshot[-1].position if snapshot else position
        return snapshot, last, len(snapshot) == limit


def subscriber(log: ScriptedLog, cursor: int = 0, workspaces=(W,)) -> Subscriber:
    sent: list[int] = []

    async def send(d: Delivery) -> None:
        sent.append(d.position)

    s = Subscriber(
        "sid",
        "me",
        set(workspaces),
        set(workspaces),
        cursor,
        send=send,
        rooms_changed=lambda *_: None,
        connection=_no_connection,
        reader=log,  # type: ignore[arg-type]
    )
    s.sent = sent  # type: ignore[attr-defined]
    s.sender = asyncio.create_task(s.run_sender())  # type: ignore[attr-defined]
    return s


@contextlib.asynccontextmanager
async def _no_connection():
    yield None


async def positions(s: Subscriber) -> list[int]:
    """What the socket was sent (after letting its sender drain the outbox)."""
    if s.outbox:
        s.drained.clear()
        await s.drained.wait()
    return s.sent  # type: ignore[attr-defined]
