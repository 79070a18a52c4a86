"""The projection engine: follows the log and applies each event to each projection once.

Exactly once: a projection's rows and its position (``projection_tracking``) are written in
the same transaction, many events per transaction. One runner per projection: a session
advisory lock elects it; others wait as standbys. Woken by LISTEN/NOTIFY on the log's channel.
The projections a runner leads normally share ONE transaction per batch (one log read, one
commit); if that batch fails, each projection runs it alone and a poison event stops only its
projection, which records the position and the error.

The projector's commits are asynchronous (``synchronous_commit = off``): the read model is
derived from the log, which stays synchronously durable. A server crash can lose the last
projected batches, never half of one (rows and position commit together), and the projector
re-applies them from the durable position.
"""

from __future__ import annotations

import threading
import time
import traceback
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
import sentry_sdk
import structlog
from eventsourcing.persistence import Mapper, StoredEvent
from psycopg import Connection, Cursor, sql

from projections.base import Projection
from projections.rebuild_decoding import fast_mapper

EVENTS_TABLE = "worksync_events"
EVENTS_CHANNEL = "worksync_events"  # eventsourcing NOTIFYs this channel on every append
PROGRESS_CHANNEL = "worksync_projections"  # we NOTIFY '<name>:<position>' after each batch
CONTROL_CHANNEL = "worksync_projection_control"

log = structlog.get_logger("projections")


def lock_key(name: str) -> int:
    """A stable 32-bit advisory lock key per projection."""
    return zlib.crc32(f"worksync.projection.{name}".encode())


@dataclass(frozen=True)
class Row:
    position: int
    topic: str
    stored: StoredEvent


def read_events(cur: Cursor, after: int, limit: int, until: int | None = None) -> list[Row]:
    query = (
        "SELECT notification_id, originator_id, originator_version, topic, state "
        f"FROM {EVENTS_TABLE} WHERE notification_id > %s"
    )
    params: list[Any] = [after]
    if until is not None:
        query += " AND notification_id <= %s"
        params.append(until)
    query += " ORDER BY notification_id LIMIT %s"
    params.append(limit)
    cur.execute(query, params, prepare=True)
    return [
        Row(
            r[0],
            r[3],
            StoredEvent(originator_id=r[1], originator_version=r[2], topic=r[3], state=bytes(r[4])),
        )
        for r in cur.fetchall()
    ]


def log_head(cur: Cursor) -> int:
    cur.execute(f"SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE}")
    return int(cur.fetchone()[0])


def apply_rows(cur: Cursor, projection: Projection, mapper: Mapper, rows: Iterable[Row]) -> None:
    for row in rows:
        if projection.handles_topic(row.topic):
            projection.apply(cur, mapper.to_domain_event(row.stored), row.position)


def ensure_tracking(conn: Connection, names: Iterable[str], *, at_head: bool = False) -> None:
    """Create missing tracking rows: at position 0 (a projection replays the whole log), or
    with ``at_head`` at the log's head (a policy reacts only to what happens from now on;
    its migration should have created its row, this is the fallback)."""
    start = f"(SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE})" if at_head else "0"
    with conn.transaction():
        for name in names:
            conn.execute(
                f"INSERT INTO projection_tracking (name, position) VALUES (%s, {start})"
                " ON CONFLICT DO NOTHING",
                (name,),
            )


# The positions parked for a projection past its own position (projection_parked, 0007).
PARKED_AFTER = (
    "ARRAY(SELECT p.position FROM projection_parked p"
    " WHERE p.projection = t.name AND p.position > t.position)"
)


class DecodedEvents:
    """Decoded events by position, shared by the projections of one runner (each event is
    decoded once, however many projections handle it)."""

    def __init__(self, mapper: Mapper, capacity: int = 20_000) -> None:
        self.mapper = fast_mapper(mapper)  # orjson: the same events, decoded faster
        self.capacity = capacity
        self._events: OrderedDict[int, Any] = OrderedDict()

    def get(self, row: Row) -> Any:
        event = self._events.get(row.position)
        if event is None:
            event = self.mapper.to_domain_event(row.stored)
            self._events[row.position] = event
            if len(self._events) > self.capacity:
                self._events.popitem(last=False)
        return event


def apply_decoded(
    cur: Cursor,
    projection: Projection,
    decoded: DecodedEvents,
    rows: Iterable[Row],
    parked: frozenset[int] = frozenset(),
) -> None:
    """Apply the rows the projection handles, except the positions parked for it."""
    for row in rows:
        if projection.handles_topic(row.topic) and row.position not in parked:
            projection.apply(cur, decoded.get(row), row.position)


class ProjectionWorker:
    """One projection's runner state and its batch step (driven by a Projector)."""

    alone = False  # True: stepped in a transaction of its own (a policy), not with the others
    # A policy that the projections' batch advanced to its end (``step_together``): its own
    # step would find nothing, so the projector skips it this round.
    settled = False

    def __init__(self, projection: Projection, decoded: DecodedEvents, batch_size: int) -> None:
        self.projection = projection
        self.decoded = decoded
        self.batch_size = batch_size
        self.is_leader = False

    @property
    def key(self) -> int:
        return lock_key(self.projection.name)

    def step(self, conn: Connection) -> int:
        """Apply one batch in one transaction; return how many log rows were consumed."""
        try:
            with conn.transaction(), conn.cursor() as cur:
                position, state, parked = self._lock_tracking(cur)
                if state != "running":
                    return 0
                rows = read_events(cur, position, self.batch_size)
                if not rows:
                    return 0
                apply_decoded(cur, self.projection, self.decoded, rows, parked)
                self._advance(cur, rows[-1].position)
                return len(rows)
        except psycopg.OperationalError:
            raise
        except Exception:
            log.warning(
                "projection batch failed; isolating the event", projection=self.projection.name
            )
            return self._step_isolating(conn)

    def _step_isolating(self, conn: Connection) -> int:
        """Re-run the batch event by event (savepoints) up to the poison event, then fail."""
        with conn.transaction(), conn.cursor() as cur:
            position, state, parked = self._lock_tracking(cur)
            if state != "running":
                return 0
            rows = read_events(cur, position, self.batch_size)
            done = position
            for row in rows:
                try:
                    with conn.transaction():
                        apply_decoded(cur, self.projection, self.decoded, [row], parked)
                except Exception as e:
                    self._fail(cur, done, row, e)
                    return 0
                done = row.position
            if rows:
                self._advance(cur, done)
            return len(rows)

    def _fail(self, cur: Cursor, done: int, row: Row, e: Exception) -> None:
        """Stop at ``row``: keep what was applied before it, record the error and position."""
        error = "".join(traceback.format_exception_only(e)).strip()
        self._advance(cur, done)
        cur.execute(
            "UPDATE projection_tracking SET state = 'failed', error = %s,"
            " error_position = %s, updated_at = now() WHERE name = %s",
            (error, row.position, self.projection.name),
        )
        sentry_sdk.capture_exception(e)  # a no-op unless the process reports to Sentry
        log.error(
            "projection failed",
            projection=self.projection.name,
            position=row.position,
            topic=row.topic,
            error=error,
        )

    def _lock_tracking(self, cur: Cursor) -> tuple[int, str, frozenset[int]]:
        """Lock the tracking row: (position, state, positions parked past the position)."""
        cur.execute(
            f"SELECT t.position, t.state, {PARKED_AFTER} FROM projection_tracking t"
            " WHERE t.name = %s FOR UPDATE",
            (self.projection.name,),
            prepare=True,
        )
        row = cur.fetchone()
        if row is None:
            cur.execute(
                "INSERT INTO projection_tracking (name) VALUES (%s) ON CONFLICT DO NOTHING",
                (self.projection.name,),
            )
            return 0, "running", frozenset()
        return int(row[0]), row[1], frozenset(row[2])

    def _advance(self, cur: Cursor, position: int) -> None:
        cur.execute(
            "UPDATE projection_tracking SET position = %s, updated_at = now() WHERE name = %s",
            (position, self.projection.name),
            prepare=True,
        )
        cur.execute(
            "SELECT pg_notify(%s, %s)",
            (PROGRESS_CHANNEL, f"{self.projection.name}:{position}"),
            prepare=True,
        )


def step_together(
    conn: Connection,
    workers: Sequence[ProjectionWorker],
    policies: Sequence[ProjectionWorker] = (),
) -> int:
    """Apply one batch to several projections in ONE transaction: lock their tracking rows,
    read the log once from the lowest position, give each projection the events past its own
    position, advance them all and notify once (``name:position,...``).

    ``policies`` (each stepped alone, ``projections/policy.py``) are advanced in the same
    transaction over the events of the batch they do not handle, up to the first one they
    do: most events concern no policy, and a policy's own transaction for them (lock, read,
    advance, commit) would cost several round trips each. What a policy handles is left to
    its own step; a policy behind the batch is left to it whole.

    Any error rolls the whole batch back and each projection runs it alone instead
    (``ProjectionWorker.step``), which isolates a poison event to its projection.
    Returns how many log rows were consumed (0: nothing to do).
    """
    by_name = {w.projection.name: w for w in (*workers, *policies)}
    alone = {w.projection.name for w in policies}
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(
                f"SELECT t.name, t.position, t.state, {PARKED_AFTER} FROM projection_tracking t"
                " WHERE t.name = ANY(%s) ORDER BY t.name FOR UPDATE",
                (list(by_name),),
                prepare=True,
            )
            tracked, parked = {}, {}
            for name, position, state, skipped in cur.fetchall():
                if state == "running":
                    tracked[name], parked[name] = int(position), frozenset(skipped)
            projected = {n: p for n, p in tracked.items() if n not in alone}
            if not projected:
                return 0
            batch_size = min(by_name[n].batch_size for n in projected)
            start = min(projected.values())
            rows = read_events(cur, start, batch_size)
            if not rows:
                for name in alone & tracked.keys():  # at or past the head: nothing to step
                    by_name[name].settled = tracked[name] >= start
                return 0
            last = rows[-1].position
            advanced = {}
            for name, position in projected.items():
                worker = by_name[name]
                mine = [r for r in rows if r.position > position]
                apply_decoded(cur, worker.projection, worker.decoded, mine, parked[name])
                advanced[name] = max(position, last)
            for name in alone & tracked.keys():
                policy = by_name[name]
                skipped = unhandled_until(policy, tracked[name], start, rows, parked[name], cur, {})
                if skipped > tracked[name]:
                    advanced[name] = skipped
                # nothing left for its own step: it reached the batch's end, the log's head
                policy.settled = skipped >= last and len(rows) < batch_size
            cur.execute(
                "UPDATE projection_tracking t SET position = v.position, updated_at = now()"
                " FROM unnest(%s::text[], %s::bigint[]) AS v(name, position)"
                " WHERE t.name = v.name",
                (list(advanced), list(advanced.values())),
                prepare=True,
            )
            cur.execute(
                "SELECT pg_notify(%s, %s)",
                (PROGRESS_CHANNEL, ",".join(f"{n}:{p}" for n, p in advanced.items())),
                prepare=True,
            )
            return len(rows)
    except psycopg.OperationalError:
        raise
    except Exception:
        log.warning("projection batch failed; running each projection alone")
        for policy in policies:
            policy.settled = False  # rolled back: each policy steps on its own
        return max((w.step(conn) for w in workers), default=0)


def unhandled_until(
    worker: ProjectionWorker,
    position: int,
    start: int,
    rows: Sequence[Row],
    parked: frozenset[int],
    cur: Cursor,
    seen: dict[str, Any],
) -> int:
    """How far a policy at ``position`` may advance over ``rows`` (read after ``start``)
    without reacting: to just before the first event it handles (not parked) and does not
    pass over (``Policy.passes_over``). ``position`` itself when the rows do not cover what
    follows it."""
    if position < start:
        return position
    policy = worker.projection
    for row in rows:
        reacts = (
            row.position > position
            and policy.handles_topic(row.topic)
            and row.position not in parked
            and not _passes_over(worker, cur, row, seen)
        )
        if reacts:
            break
        position = max(position, row.position)
    return position


def _passes_over(worker: ProjectionWorker, cur: Cursor, row: Row, seen: dict[str, Any]) -> bool:
    try:
        return worker.projection.passes_over(cur, worker.decoded.get(row), seen)
    except psycopg.Error:
        raise  # the batch's transaction is broken: roll it back
    except Exception:  # e.g. an event that does not decode: the policy's own step says
        return False


class Projector:
    """All projections in one thread on one connection: it LISTENs on that connection, holds
    one advisory lock per projection it leads (others stand by), and applies the projections
    it leads together, one transaction per batch, decoding every event once.

    Policies (projections/policy.py) are elected the same way and stepped after them, each
    in a transaction of its own. ``services`` (e.g. the outbox dispatcher) are started and
    stopped with the projector."""

    def __init__(
        self,
        projections: Sequence[Projection],
        conninfo: str,
        mapper: Mapper,
        *,
        batch_size: int = 500,
        idle_wait: float = 1.0,
        policies: Sequence[Any] = (),
        services: Sequence[Any] = (),
    ) -> None:
        self.conninfo = conninfo
        self.idle_wait = idle_wait
        decoded = DecodedEvents(mapper)
        self.workers = [ProjectionWorker(p, decoded, batch_size) for p in projections]
        self.workers += [p.make_worker(decoded, batch_size) for p in policies]
        self.services = list(services)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="projector", daemon=True)

    def start(self) -> None:
        with psycopg.connect(self.conninfo) as conn:
            ensure_tracking(conn, [w.projection.name for w in self.workers if not w.alone])
            names = [w.projection.name for w in self.workers if w.alone]
            ensure_tracking(conn, names, at_head=True)
        self._thread.start()
        for service in self.services:
            service.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        for service in self.services:
            service.stop(timeout)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def run_forever(self, should_stop: Callable[[], bool] = lambda: False) -> None:
        self.start()
        try:
            while not should_stop() and not self._stopping.is_set():
                time.sleep(0.2)
        finally:
            self.stop()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as conn:
                    conn.execute("SET synchronous_commit = off")  # see the module docstring
                    for channel in (EVENTS_CHANNEL, CONTROL_CHANNEL):
                        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                    self._loop(conn)
            except psycopg.OperationalError as e:
                log.warning("projector lost its connection", error=str(e))
                self._stopping.wait(1.0)
            finally:
                for worker in self.workers:
                    worker.is_leader = False

    def _elect(self, conn: Connection) -> None:
        for worker in self.workers:
            if not worker.is_leader:
                got = conn.execute("SELECT pg_try_advisory_lock(%s)", (worker.key,)).fetchone()[0]
                if got:
                    worker.is_leader = True
                    log.info("projection running", projection=worker.projection.name)

    def _loop(self, conn: Connection) -> None:
        last_election = 0.0
        while not self._stopping.is_set():
            if time.monotonic() - last_election >= self.idle_wait:
                self._elect(conn)
                last_election = time.monotonic()
            leading = [w for w in self.workers if w.is_leader]
            together = [w for w in leading if not w.alone]
            policies = [w for w in leading if w.alone]
            for worker in policies:
                worker.settled = False
            busy = bool(together) and step_together(conn, together, policies) >= min(
                w.batch_size for w in together
            )
            for worker in policies:
                if not worker.settled and worker.step(conn) > 0:
                    busy = True  # it may have stopped early: go round again
            if busy:
                continue
            for _ in conn.notifies(timeout=self.idle_wait, stop_after=1):
                pass  # any append or control message: go round again
