"""A rebuild's pass over the log: ``read_log`` fetches rows, ``Replayer`` decodes each event
once and hands it to every projection that handles it, ``Prefetcher`` reads and decodes the
next batches on a thread of its own while the current one is applied."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from eventsourcing.persistence import Mapper, StoredEvent
from psycopg import Cursor

from projections.base import Projection
from projections.engine import EVENTS_TABLE
from projections.rebuild_decoding import fast_mapper

# (position, originator_id, originator_version, topic, state): a log row as read, no object
# made for it until a projection handles its topic.
LogRow = tuple[int, Any, int, str, bytes]
Decoded = list[list[tuple[Any, int]]]  # each projection's (event, position) pairs

READ_LOG = (
    "SELECT notification_id, originator_id, originator_version, topic, state"
    f" FROM {EVENTS_TABLE} WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
)


def read_log(cur: Cursor, after: int, limit: int) -> list[LogRow]:
    """The next rows of the log after a position, as plain tuples (binary results: no text
    to parse for the ids and the state)."""
    cur.execute(READ_LOG, (after, limit), prepare=True, binary=True)
    return cur.fetchall()


class Replayer:
    """Hands each batch of log rows to every projection, decoding each event once (an event
    parked for a projection is not handed to it; one that no projection handles is not
    decoded)."""

    def __init__(
        self,
        projections: Sequence[Projection],
        mapper: Mapper,
        parked: dict[str, frozenset[int]] | None = None,
    ) -> None:
        self.projections = list(projections)
        self.mapper = fast_mapper(mapper)
        self.routes: dict[str, list[int]] = {}
        self.apply_seconds = [0.0] * len(self.projections)
        parked = parked or {}
        # position -> indexes of the projections that pass over it
        self.parked: dict[int, set[int]] = {}
        for i, projection in enumerate(self.projections):
            for position in parked.get(projection.name, ()):
                self.parked.setdefault(position, set()).add(i)

    def route(self, topic: str) -> list[int]:
        found = self.routes.get(topic)
        if found is None:
            found = [i for i, p in enumerate(self.projections) if p.handles_topic(topic)]
            self.routes[topic] = found
        return found

    def decode(self, rows: list[LogRow]) -> Decoded:
        """Each projection's (event, position) pairs of these rows."""
        batches: Decoded = [[] for _ in self.projections]
        decode, route, parked = self.mapper.to_domain_event, self.route, self.parked
        for position, originator_id, version, topic, state in rows:
            targets = route(topic)
            if targets and position in parked:
                targets = [i for i in targets if i not in parked[position]]
            if targets:
                event = decode(StoredEvent(originator_id, version, topic, bytes(state)))
                for i in targets:
                    batches[i].append((event, position))
        return batches

    def apply(self, cur: Cursor, rows: list[LogRow]) -> None:
        self.apply_decoded(cur, self.decode(rows))

    def apply_decoded(self, cur: Cursor, batches: Decoded) -> None:
        for i, projection in enumerate(self.projections):
            if batches[i]:
                started = time.perf_counter()
                projection.apply_batch(cur, batches[i])
                self.apply_seconds[i] += time.perf_counter() - started


class Prefetcher:
    """Reads and decodes the next batches on a connection and thread of its own, while the
    current one is applied (waits for the database overlap with decoding)."""

    def __init__(self, conninfo: str, replayer: Replayer, after: int, batch_size: int) -> None:
        self.conninfo = conninfo
        self.replayer = replayer
        self.after = after
        self.batch_size = batch_size
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=2)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="rebuild-reader", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            with psycopg.connect(self.conninfo, autocommit=True) as conn, conn.cursor() as cur:
                position = self.after
                while not self.stopping.is_set():
                    rows = read_log(cur, position, self.batch_size)
                    self._put((rows, self.replayer.decode(rows) if rows else []))
                    if not rows:
                        return
                    position = rows[-1][0]
        except BaseException as e:  # handed to the consumer, raised there
            self._put(e)

    def _put(self, item: Any) -> None:
        while not self.stopping.is_set():
            with contextlib.suppress(queue.Full):
                self.queue.put(item, timeout=0.2)
                return

    def __iter__(self) -> Iterator[tuple[list[LogRow], Decoded]]:
        while True:
            item = self.queue.get()
            if isinstance(item, BaseException):
                raise item
            if not item[0]:
                return
            yield item

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(5)
