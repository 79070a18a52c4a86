"""Live events into this process's sockets, and the Socket.IO client managers that carry them.

The emitter (one per deployment) publishes each routed log event once, as the internal
Socket.IO event ``worksync:log`` addressed to the event's rooms. With Redis,
``AsyncRedisManager`` carries it to every API process; without, the plain manager delivers
in-process. Either way the manager hands it to ``Fanout.receive`` instead of sending it: the
fan-out offers it to each local socket in those rooms, and each socket sends it in order
(see ``Subscriber``).

Every message carries the emitter's ``epoch`` (a new one at each election) and ``prev``, the
position of the emitter's previous message; idle emitters send heartbeats with their last
position. A process that sees a message that does not follow the last one it saw (Redis
lost messages, Redis restarted, a new emitter took over, or this process just subscribed)
makes every local socket read the log again from where it is: live delivery heals itself.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import socketio
import structlog

from interfaces.realtime.log import Delivery, LogReader
from interfaces.realtime.names import EVERYONE
from interfaces.realtime.subscriber import Subscriber

LOG_EVENT = "worksync:log"
REVOCATIONS_KEPT = 10_000

log = structlog.get_logger("realtime")


class Fanout:
    def __init__(self) -> None:
        self.subscribers: dict[str, Subscriber] = {}
        self.reader: LogReader | None = None
        self.epoch: str | None = None
        self.last: int | None = None
        self.resyncs = 0
        # Membership revocations seen, by (workspace, user): a join that started checking
        # before one arrived is refused (the check may have read the old membership).
        self.revocation_seq = 0
        self.revocations: OrderedDict[tuple[str, str], int] = OrderedDict()

    def receive(self, message: dict[str, Any], participants: Iterable[str]) -> None:
        if message.get("heartbeat"):
            self._follows(message["epoch"], message.get("last"))
            return
        self._follows(message["epoch"], message.get("prev"))
        self.last = int(message["position"])
        delivery = self.reader.known(message) if self.reader else Delivery.from_message(message)
        if delivery.revoke:
            self.revocation_seq += 1
            self.revocations[delivery.revoke] = self.revocation_seq
            self.revocations.move_to_end(delivery.revoke)
            if len(self.revocations) > REVOCATIONS_KEPT:
                self.revocations.popitem(last=False)
        for sid in participants:
            subscriber = self.subscribers.get(sid)
            if subscriber is not None:
                subscriber.offer(delivery)

    def _follows(self, epoch: str, prev: int | None) -> None:
        if epoch == self.epoch and prev == self.last:
            return
        if self.subscribers:
            log.info(
                "live stream gap; sockets re-read the log",
                epoch=epoch,
                prev=prev,
                last=self.last,
                sockets=len(self.subscribers),
            )
            self.resyncs += 1
            for subscriber in self.subscribers.values():
                subscriber.resync(intact=self.last)
        self.epoch, self.last = epoch, prev

    def revoked_since(self, seq: int, workspace_id: str, user_id: str) -> bool:
        return any(
            self.revocations.get((workspace_id, who), 0) > seq for who in (user_id, EVERYONE)
        )


class FanoutManager(socketio.AsyncManager):
    """Hands ``worksync:log`` messages to the fan-out; anything else is sent as usual."""

    fanout: Fanout

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str | None = None,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        if event != LOG_EVENT:
            return await super().emit(
                event, data, namespace or "/", room=to or room, skip_sid=skip_sid,
                callback=callback, **kwargs,
            )  # fmt: skip
        rooms = to or room
        participants = [sid for sid, _ in self.get_participants("/", rooms)] if rooms else []
        self.fanout.receive(data, participants)
        return None


class RedisFanoutManager(socketio.AsyncRedisManager, FanoutManager):
    """``AsyncRedisManager`` whose local delivery is the fan-out's (see the MRO: the pub/sub
    manager's local emit resolves to ``FanoutManager.emit``)."""


def make_manager(redis_url: str | None, channel: str) -> FanoutManager:
    if redis_url:
        return RedisFanoutManager(
            redis_url, channel=channel, redis_options={"socket_connect_timeout": 2}
        )
    return FanoutManager()
