"""The event store: one eventsourcing application, one events table, one global position.

Every context saves through ``EventStore.run``: it runs a command function, saves what it
changed, and retries the whole function when another writer got there first (optimistic
concurrency). The result carries the command's global position for read-your-writes.
"""

from __future__ import annotations

import getpass
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar, TypeVar
from uuid import UUID
from weakref import WeakValueDictionary

import psycopg
from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
    Recording,
    Repository,
)
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    Transcoding,
)
from psycopg.conninfo import conninfo_to_dict

from application.adapters.personal_data import KeyStore, PersonalDataMapper
from application.adapters.recorder import end_transaction
from application.errors import Conflict, Forbidden, NotFound, PreconditionFailed
from domain.kanban import Board
from domain.milestones_plan import MilestonePlan
from domain.shared import DomainError, Gone, Missing, NotPermitted
from domain.tasks import TaskGraph
from domain.time_tracking import TimeTracker

T = TypeVar("T")
EVENTS_TABLE = "worksync_events"
TURN_WAIT_MS = 2000  # waiting longer for a hot aggregate's turn: run it optimistically
TAKE_TURN = "SELECT * FROM worksync_take_turn_in_transaction(%s, %s, %s, %s)"  # migrations/0022
NOTHING_BEFORE = 2**62  # after_version when nothing is cached: the turn reads no events


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class SetAsList(Transcoding):
    type = set
    name = "set"

    def encode(self, obj: set[Any]) -> list[Any]:
        return sorted(obj, key=str)

    def decode(self, data: list[Any]) -> set[Any]:
        return set(data)


def eventstore_env(database_url: str, pool_size: int = 10, create_table: bool = False) -> dict:
    """eventsourcing's POSTGRES_* settings derived from a DATABASE_URL."""
    info = conninfo_to_dict(database_url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": info.get("dbname") or "postgres",
        "POSTGRES_HOST": info.get("host") or "127.0.0.1",
        "POSTGRES_PORT": str(info.get("port") or 5432),
        "POSTGRES_USER": info.get("user") or getpass.getuser(),
        "POSTGRES_PASSWORD": info.get("password") or "",
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(pool_size),
        "POSTGRES_LOCK_TIMEOUT": "5",
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "10",
        # Check each pooled connection as it is handed out: after the database dropped
        # connections, commands get live ones instead of failing.
        "POSTGRES_PRE_PING": "y",
        "CREATE_TABLE": "y" if create_table else "n",
        # Loaded aggregates stay in memory and are fast-forwarded from the log on each get.
        "AGGREGATE_CACHE_MAXSIZE": "2000",
        # Appends run as one server-side statement that takes the ordering lock itself.
        "APPLICATION_RECORDER_TOPIC": "application.adapters.recorder:OrderedAppendRecorder",
        "POSTGRES_ENABLE_DB_FUNCTIONS": "y",
    }


def check_version(aggregate: Any, expected: int | None) -> None:
    """If-Match: the client's version must be the aggregate's current version."""
    if expected is not None and aggregate.version != expected:
        raise PreconditionFailed(
            f"version {expected} is stale; the current version is {aggregate.version}",
            current_version=aggregate.version,
        )


def project_aggregate(aggregate: Any, events: Iterable[Any]) -> Any:
    """Each event's ``mutate`` in turn: eventsourcing's ``project_aggregate`` without its
    ``assert isinstance(event, CanMutateProtocol)``. An isinstance check against a runtime
    Protocol walks the protocol's attributes on every call in Python 3.11 (and the lists it
    builds set off the garbage collector): a few percent of an API worker's CPU."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class CopyOnWriteRepository(Repository):
    """eventsourcing's repository, except that a cached aggregate is never changed in place.

    The library fast-forwards a cached aggregate by applying newer events to the cached
    instance itself, under a lock of its own. A hot aggregate's turn (``EventStore._turn``)
    reads the cached instance's version and later copies it without that lock, so a read
    elsewhere (a card edit checking its board, a move looking up the board's workspace) that
    fast-forwarded it in between made the turn apply events to a newer state:
    ``OriginatorVersionError`` (issue 12, defect 2). Here a stale cached aggregate is copied,
    the copy brought up to date and put in the cache in its place: whatever is in the cache is
    never mutated again, and any thread may read or copy it.
    """

    def get(
        self,
        aggregate_id: Any,
        *,
        version: int | None = None,
        projector_func: Any = project_aggregate,
        fastforward_skipping: bool = False,
        deepcopy_from_cache: bool = True,
    ) -> Any:
        if self.cache is None or version is not None:
            return super().get(aggregate_id, version=version, projector_func=projector_func)
        try:
            aggregate = self.cache.get(aggregate_id)
        except KeyError:
            aggregate = self._reconstruct_aggregate(aggregate_id, None, projector_func)
            self.cache.put(aggregate_id, aggregate)
        else:
            newer = list(self.event_store.get(originator_id=aggregate_id, gt=aggregate.version))
            if newer:
                aggregate = projector_func(deepcopy(aggregate), newer)
                if aggregate is None:
                    raise AggregateNotFoundError(aggregate_id)
                self.cache.put(aggregate_id, aggregate)
        if deepcopy_from_cache and self.deepcopy_from_cache:
            return deepcopy(aggregate)
        return aggregate


@dataclass(frozen=True)
class Saved:
    """What a command wrote: its last global position and the topics of its events."""

    position: int | None
    topics: frozenset[str] = field(default_factory=frozenset)
    value: Any = None
    attempts: int = 1  # more than one: it clashed with another writer and was retried


class EventStore(Application):
    name = "WorkSync"  # events table: worksync_events
    max_attempts = 8
    snapshotting_intervals: ClassVar[dict[type[Aggregate], int]] = {
        Board: 100,
        TaskGraph: 100,
        TimeTracker: 100,
        MilestonePlan: 100,
    }

    def __init__(self, env: dict | None = None) -> None:
        self.keys = KeyStore(lambda: self.recorder.datastore.get_connection())
        self._locks: WeakValueDictionary[UUID, threading.Lock] = WeakValueDictionary()
        self._locks_guard = threading.Lock()
        self._local = threading.local()  # .prepared: aggregate id -> working copy (a turn)
        super().__init__(env)

    def _lock_for(self, aggregate_id: UUID) -> threading.Lock:
        with self._locks_guard:
            lock = self._locks.get(aggregate_id)
            if lock is None:
                lock = threading.Lock()
                self._locks[aggregate_id] = lock
            return lock

    def construct_repository(self) -> Repository:
        maxsize = self.env.get(self.AGGREGATE_CACHE_MAXSIZE)
        return CopyOnWriteRepository(
            event_store=self.events,
            snapshot_store=self.snapshots,
            cache_maxsize=int(maxsize) if maxsize else None,
        )

    def construct_mapper(self) -> Mapper:
        mapper = PersonalDataMapper(transcoder=self.construct_transcoder())
        mapper.keys = self.keys
        return mapper

    def save(self, *aggregates: Any, **kwargs: Any) -> list[Recording]:
        """``Application.save`` for aggregates only (every caller saves aggregates), without
        its ``isinstance(obj, DomainEventProtocol)`` per object: a check against a runtime
        Protocol, which Python 3.11 answers by walking the protocol's members on every call
        (~7 % of an API worker's CPU on card moves)."""
        processing_event: ProcessingEvent = ProcessingEvent()
        for aggregate in aggregates:
            if aggregate is None:
                continue
            processing_event.events.extend(aggregate.collect_events())
            processing_event.aggregates[aggregate.id] = aggregate
        processing_event.saved_kwargs.update(kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        return recordings

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())
        transcoder.register(SetAsList())

    def load(
        self, cls: type[T], aggregate_id: UUID, what: str | None = None, *, copy: bool = True
    ) -> T:
        """Load an aggregate of the given class or raise NotFound.

        ``copy=False`` returns the cached instance itself (no deep copy): only for reading,
        never for an aggregate the caller will change or save.
        """
        label = what or cls.__name__.lower()
        prepared = getattr(self._local, "prepared", None)
        aggregate = prepared.pop(aggregate_id, None) if prepared else None
        if aggregate is not None:  # this command's working copy, current as of its turn
            if not isinstance(aggregate, cls):
                raise NotFound(f"{label} not found")
            return aggregate
        current = getattr(self._local, "current", None)
        aggregate = current.get(aggregate_id) if current else None
        if aggregate is not None:  # read in this command's turn: current as of it
            if not isinstance(aggregate, cls):
                raise NotFound(f"{label} not found")
            return deepcopy(aggregate) if copy else aggregate
        try:
            aggregate = self.repository.get(aggregate_id, deepcopy_from_cache=copy)
        except AggregateNotFoundError:
            raise NotFound(f"{label} not found") from None
        if not isinstance(aggregate, cls):
            raise NotFound(f"{label} not found")
        return aggregate

    def exists(self, aggregate_id: UUID) -> bool:
        return aggregate_id in self.repository

    def run(
        self,
        command: Callable[[], tuple[Any, list[Aggregate]]],
        *,
        serialize_on: UUID | None = None,
        reading: Sequence[UUID] = (),
    ) -> Saved:
        """Run ``command`` (returns (value, aggregates to save)); retry on version clashes.

        Domain rule violations become application errors: RuleBroken -> Conflict,
        Gone -> NotFound. ``serialize_on`` names a hot aggregate (a board): commands on it take
        turns, in this process (a thread lock) and across processes (a PostgreSQL advisory
        lock held for the command), so they do not load, clash and retry. ``reading``: other
        aggregates the command only reads (the workspace of its access check), brought up to
        date in the turn's round trip instead of one read each.
        """
        if serialize_on is None:
            return self._run(command)
        with self._lock_for(serialize_on), self._turn(serialize_on, reading) as working:
            self._local.prepared = {serialize_on: working} if working is not None else {}
            try:
                return self._run(command, keep_cached=serialize_on)
            finally:
                self._local.prepared = {}
                self._local.current = {}

    @contextmanager
    def _turn(self, aggregate_id: UUID, reading: Sequence[UUID] = ()) -> Iterator[Aggregate | None]:
        """This process's turn on a hot aggregate, across processes. One round trip sends
        BEGIN and ``worksync_take_turn_in_transaction``: it takes a transaction advisory lock
        and reads the events appended since this process's cached copy. The command's append
        then runs on the same connection and COMMITs in one more round trip
        (``OrderedAppendRecorder.insert_events``): the events become visible and the turn is
        released at the same instant. A command that appends nothing ends the turn with a
        ROLLBACK.

        Yields a private working copy brought up to date (None if the aggregate is not
        cached). The cached copies of the ``reading`` aggregates are brought up to date in the
        same round trip (``load`` serves them, as read in the turn, until the command's first
        clash). Waiting is bounded (TURN_WAIT_MS): past it the command runs without the
        turn and relies on optimistic concurrency. If this process dies, its session ends
        and the server releases the lock."""
        key = int.from_bytes(aggregate_id.bytes[:8], "big", signed=True)
        cached = self._cached(aggregate_id)
        also = {i: c for i in reading if i != aggregate_id and (c := self._cached(i)) is not None}
        ids = [aggregate_id, *also]
        afters = [cached.version if cached is not None else NOTHING_BEFORE]
        afters += [c.version for c in also.values()]
        turn = self.recorder.turn  # type: ignore[attr-defined]
        with self.recorder.datastore.get_connection() as conn:
            try:
                with conn.pipeline():
                    conn.execute("BEGIN")
                    cur = conn.execute(
                        TAKE_TURN, (key, ids, afters, f"{TURN_WAIT_MS}ms"), prepare=True
                    )
                rows = cur.fetchall()
            except psycopg.errors.LockNotAvailable:
                end_transaction(conn)
                yield None
                return
            except psycopg.OperationalError:
                end_transaction(conn)  # closes a connection that cannot roll back
                if not conn.closed:
                    raise
                # The connection died before the turn (the database dropped it after the
                # pool's check): nothing ran, so run without the turn, as on a timeout.
                yield None
                return
            turn.conn = conn
            try:
                newer: dict[UUID, list[Any]] = {}
                for r in rows:
                    newer.setdefault(r["originator_id"], []).append(
                        self.mapper.to_domain_event(
                            StoredEvent(
                                originator_id=r["originator_id"],
                                originator_version=r["originator_version"],
                                topic=r["topic"],
                                state=bytes(r["state"]),
                            )
                        )
                    )
                self._local.current = {
                    i: self._fast_forwarded(i, c, newer.get(i)) for i, c in also.items()
                }
                working = None
                if cached is not None:
                    working = project_aggregate(deepcopy(cached), newer.get(aggregate_id, []))
                yield working
            finally:
                turn.conn = None
                end_transaction(conn)  # nothing appended (or the append failed): ROLLBACK

    def _fast_forwarded(self, aggregate_id: UUID, cached: Aggregate, events: list | None) -> Any:
        """The cached copy with ``events`` applied: a new copy, put in the cache in its place
        (what is in the cache is never changed: another thread may be reading it)."""
        if not events:
            return cached
        aggregate = project_aggregate(deepcopy(cached), events)
        self.repository.cache.put(aggregate_id, aggregate)  # type: ignore[union-attr]
        return aggregate

    def _cached(self, aggregate_id: UUID) -> Aggregate | None:
        cache = self.repository.cache
        if cache is None:
            return None
        try:
            return cache.get(aggregate_id)
        except KeyError:
            return None

    def _run(
        self,
        command: Callable[[], tuple[Any, list[Aggregate]]],
        keep_cached: UUID | None = None,
    ) -> Saved:
        """``keep_cached``: an aggregate whose saved state replaces the cached copy (the
        process holds its turn, so the next command starts from it without reading)."""
        for attempt in range(self.max_attempts):
            try:
                value, aggregates = command()
            except (Gone, Missing) as e:
                raise NotFound(e.detail, **e.extra) from None
            except NotPermitted as e:
                raise Forbidden(e.detail, **e.extra) from None
            except DomainError as e:
                conflict = Conflict(e.detail, **e.extra)
                if e.code != DomainError.code:
                    conflict.code = e.code  # e.g. wip-limit: a problem type of its own
                raise conflict from None
            try:
                recordings = self.save(*aggregates)
            except IntegrityError:
                self._local.current = {}  # read again on the retry: another writer was first
                if attempt + 1 == self.max_attempts:
                    raise Conflict("too many concurrent changes; try again") from None
                continue
            if keep_cached is not None and self.repository.cache is not None:
                for aggregate in aggregates:
                    if aggregate.id == keep_cached:
                        self.repository.cache.put(aggregate.id, aggregate)
            position = max((r.notification.id for r in recordings), default=None)
            topics = frozenset(r.notification.topic for r in recordings)
            return Saved(position=position, topics=topics, value=value, attempts=attempt + 1)
        raise AssertionError("unreachable")  # pragma: no cover
