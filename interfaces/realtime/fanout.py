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

The pub/sub listener reconnects on its own schedule (``RedisFanoutManager``): python-socketio's
doubles its pause up to 60 s, and a process that publishes nothing would stay deaf that long
after Redis returns; ours retries at least every ``LISTEN_RETRY_MAX`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable
from typing import Any
from urllib.parse import urlparse

import socketio
import structlog
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from socketio.redis_manager import parse_redis_sentinel_url

from interfaces.realtime.log import Delivery, LogReader
from interfaces.realtime.names import EVERYONE
from interfaces.realtime.subscriber import Subscriber

LOG_EVENT = "worksync:log"
REVOCATIONS_KEPT = 10_000
LISTEN_RETRY_FIRST = 0.1  # seconds before the first reconnection attempt, doubling...
LISTEN_RETRY_MAX = 1.0  # ...up to this: the listener is back within about a second

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
        self.resync("live stream gap", epoch=epoch, prev=prev)
        self.epoch, self.last = epoch, prev

    def resync(self, why: str, **details: Any) -> None:
        """Every local socket re-reads the log from where it is (it was offered everything up
        to ``last``, the last position received before the gap)."""
        if not self.subscribers:
            return
        sockets = len(self.subscribers)
        log.info(f"{why}; sockets re-read the log", last=self.last, sockets=sockets, **details)
        self.resyncs += 1
        for subscriber in self.subscribers.values():
            subscriber.resync(intact=self.last)

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
    manager's local emit resolves to ``FanoutManager.emit``), and whose listener reconnects
    with a capped backoff on a client of its own (publishing keeps the manager's)."""

    listening = False
    reconnects = 0

    async def _redis_listen_with_retries(self) -> AsyncIterator[dict[str, Any]]:
        delay, failing = LISTEN_RETRY_FIRST, False
        while True:
            client = None
            try:
                client = self._listener_client()
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                await pubsub.subscribe(self.channel)
                self.listening = True
                if failing:  # what was published meanwhile is lost: read it from the log
                    self.reconnects += 1
                    log.info("redis pub/sub listener reconnected", channel=self.channel)
                    self.fanout.resync("redis pub/sub reconnected")
                delay, failing = LISTEN_RETRY_FIRST, False
                async for message in pubsub.listen():
                    yield message
            except asyncio.CancelledError:
                raise
            except Exception as e:
                if not failing:  # once per outage, not at every attempt
                    log.warning("redis pub/sub listener lost; reconnecting", error=str(e))
                failing, self.listening = True, False
            finally:
                if client is not None:
                    with contextlib.suppress(Exception):
                        await client.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, LISTEN_RETRY_MAX)

    async def _listen(self) -> AsyncIterator[bytes]:
        channel = self.channel.encode("utf-8")
        async for message in self._redis_listen_with_retries():
            if message["channel"] == channel and message["type"] == "message":
                yield message["data"]

    def _listener_client(self) -> Any:
        """A client for listening only, without redis-py's own retries (our loop retries)."""
        module = self._get_redis_module()
        options = {**self.redis_options, "retry": Retry(NoBackoff(), 0)}
        if urlparse(self.redis_url).scheme in {"redis+sentinel", "valkey+sentinel"}:
            sentinels, service, kwargs = parse_redis_sentinel_url(self.redis_url)
            sentinel = module.sentinel.Sentinel(sentinels, **{**options, **kwargs})
            return sentinel.master_for(service or self.channel)
        return module.Redis.from_url(self.redis_url, **options)


def make_manager(redis_url: str | None, channel: str) -> FanoutManager:
    if redis_url:
        return RedisFanoutManager(
            redis_url, channel=channel, redis_options={"socket_connect_timeout": 2}
        )
    return FanoutManager()
