"""Reading the log for real-time: stored rows -> decoded events -> deliveries.

A ``Delivery`` is one routed event, encoded into a Socket.IO packet once however many sockets
receive it. The reader keeps recent deliveries by position, so replays after a reconnect storm
or a resync decode and encode each event once per process.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from engineio import packet as eio_packet
from eventsourcing.persistence import Mapper, StoredEvent
from psycopg import AsyncConnection
from socketio import packet as sio_packet

from interfaces.realtime.names import Route, route, skipped
from projections.engine import EVENTS_TABLE, DecodedEvents, Row


@dataclass(eq=False)
class Delivery:
    position: int
    name: str
    rooms: frozenset[str]
    payload: dict[str, Any]
    revoke: tuple[str, str] | None = None
    grant: tuple[str, str] | None = None
    _packets: list[eio_packet.Packet] | None = field(default=None, repr=False)

    @classmethod
    def of(cls, position: int, r: Route) -> Delivery:
        return cls(position, r.name, r.rooms, r.payload, r.revoke, r.grant)

    @classmethod
    def control(cls, name: str, payload: dict[str, Any]) -> Delivery:
        """A message of ours to one socket (not a log event: it bypasses ordering)."""
        return cls(-1, name, frozenset(), payload)

    def packets(self) -> list[eio_packet.Packet]:
        if self._packets is None:
            encoded = sio_packet.Packet(
                sio_packet.EVENT, namespace="/", data=[self.name, self.payload]
            ).encode()
            parts = encoded if isinstance(encoded, list) else [encoded]
            self._packets = [eio_packet.Packet(eio_packet.MESSAGE, p) for p in parts]
        return self._packets

    def message(self) -> dict[str, Any]:
        """As sent between processes."""
        return {
            "position": self.position,
            "name": self.name,
            "rooms": sorted(self.rooms),
            "payload": self.payload,
            "revoke": self.revoke,
            "grant": self.grant,
        }

    @classmethod
    def from_message(cls, m: dict[str, Any]) -> Delivery:
        return cls(
            int(m["position"]),
            m["name"],
            frozenset(m["rooms"]),
            m["payload"],
            tuple(m["revoke"]) if m.get("revoke") else None,  # type: ignore[arg-type]
            tuple(m["grant"]) if m.get("grant") else None,  # type: ignore[arg-type]
        )


async def log_head(conn: AsyncConnection) -> int:
    cur = await conn.execute(f"SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE}")
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def log_channel(conn: AsyncConnection) -> str:
    """The pub/sub channel: one per log, so deployments sharing a Redis never mix."""
    cur = await conn.execute("SELECT current_database()")
    row = await cur.fetchone()
    return f"worksync:realtime:{row[0] if row else 'default'}"


async def read_rows(conn: AsyncConnection, after: int, limit: int) -> list[Row]:
    cur = await conn.execute(
        "SELECT notification_id, originator_id, originator_version, topic, state"
        f" FROM {EVENTS_TABLE} WHERE notification_id > %s ORDER BY notification_id LIMIT %s",
        (after, limit),
        prepare=True,
    )
    return [
        Row(r[0], r[3], StoredEvent(r[1], r[2], r[3], bytes(r[4]))) for r in await cur.fetchall()
    ]


class LogReader:
    def __init__(self, mapper: Mapper, capacity: int = 20_000) -> None:
        self.decoded = DecodedEvents(mapper, capacity)
        self.capacity = capacity
        self._routed: OrderedDict[int, Delivery | None] = OrderedDict()

    def deliver(self, row: Row) -> Delivery | None:
        """The delivery for a log row, or None when nobody follows that event."""
        if row.position in self._routed:
            return self._routed[row.position]
        delivery = None
        if not skipped(row.topic):
            routed = route(self.decoded.get(row), row.position)
            delivery = Delivery.of(row.position, routed) if routed else None
        self.remember(row.position, delivery)
        return delivery

    def remember(self, position: int, delivery: Delivery | None) -> None:
        self._routed[position] = delivery
        if len(self._routed) > self.capacity:
            self._routed.popitem(last=False)

    def known(self, message: dict[str, Any]) -> Delivery:
        """A delivery received from the emitter (sharing the cached one when we have it)."""
        position = int(message["position"])
        cached = self._routed.get(position)
        if cached is not None:
            return cached
        delivery = Delivery.from_message(message)
        self.remember(position, delivery)
        return delivery

    async def after(
        self, conn: AsyncConnection, position: int, limit: int
    ) -> tuple[list[Delivery], int, bool]:
        """Deliveries after ``position``, the last position read, and whether more may follow."""
        rows = await read_rows(conn, position, limit)
        deliveries = [d for d in map(self.deliver, rows) if d is not None]
        last = rows[-1].position if rows else position
        return deliveries, last, len(rows) == limit
