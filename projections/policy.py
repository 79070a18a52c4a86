"""Policies: reactions to events that issue commands (new events) or side effects, exactly
once, after a crash too, and identically when re-run.

This is eventsourcing's process application, on our engine: a policy follows the log like a
projection (a ``projection_tracking`` row, an advisory-lock election, ``worksync projections
status``/pause/resume/skip, /ready), and what it decides for an event is written in the SAME
transaction as its new position:

- new events: ``ctx.load`` an aggregate, call its methods, ``ctx.save`` it; the events are
  appended through the policy's own connection with the recorder's append function
  (``worksync_append_events``: the log's ordering lock, NOTIFY, insert), so they commit with
  the position or not at all. A version clash (someone changed the aggregate meanwhile) rolls
  back to a savepoint and the handler runs again on the reloaded aggregate. After an event
  whose handler appended, the batch commits at once: the log's lock is held briefly, and the
  next handler loads what was just appended.
- side effects: ``ctx.outbox(kind, payload)`` writes an ``outbox`` row whose key is derived
  from the policy and the event's position (the same on every re-run: a row is never written
  twice). A dispatcher (projections/outbox.py) delivers it at least once, with that key, and
  the receiver uses the key to act once.

A transaction that appends or writes the outbox commits synchronously (the projector's
connection commits asynchronously otherwise). A policy never takes part in a rebuild: its
effects happened; replaying them would repeat them. A new policy's tracking row should be
created at the log's head by its migration (see migrations/0007) so that it reacts to what
happens from its deployment on; failing that, the engine creates it at the head when it
first runs.

Declaring one (see application/mail.py)::

    class Milestones(Policy):
        name = "milestones"

        def __init__(self, store): super().__init__(store)

        @handles(Task.Completed)
        def progress(self, ctx: PolicyContext, e) -> None:
            milestone = ctx.load(Milestone, e.milestone_id)
            milestone.count_done(task_id=e.originator_id)
            ctx.save(milestone)
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, TypeVar
from uuid import UUID

import psycopg
import structlog
from eventsourcing.persistence import Mapper
from eventsourcing.utils import get_topic
from psycopg import Connection, Cursor
from psycopg.types.json import Jsonb

from projections.base import Handler
from projections.engine import DecodedEvents, ProjectionWorker, read_events

T = TypeVar("T")
log = structlog.get_logger("policies")
OUTBOX_CHANNEL = "worksync_outbox"  # NOTIFY'd with the kind when a policy writes a row
MAX_ATTEMPTS = 8  # version clashes retried per event before the policy fails on it
APPEND = (
    "SELECT * FROM worksync_append_events(ARRAY(SELECT ROW(o, v, t, s)::stored_event_uuid"
    " FROM unnest(%s::uuid[], %s::bigint[], %s::text[], %s::bytea[])"
    " WITH ORDINALITY AS u(o, v, t, s, i) ORDER BY i))"
)


class Loader(Protocol):
    """Where a policy loads aggregates from (the application's EventStore)."""

    def load(self, cls: type[T], aggregate_id: UUID, what: str | None = None) -> T: ...


class PolicyContext:
    """What a handler may do for one event, inside the policy's transaction."""

    def __init__(
        self, policy: Policy, cur: Cursor, position: int, mapper: Mapper, loader: Loader | None
    ) -> None:
        self.policy = policy
        self.cur = cur
        self.position = position
        self.mapper = mapper
        self.loader = loader
        self.pending: dict[UUID, Any] = {}
        self.appended = 0
        self.outboxed = 0

    def load(self, cls: type[T], aggregate_id: UUID) -> T:
        """The aggregate as the log has it (or as this handler changed it): a copy."""
        if aggregate_id in self.pending:
            return self.pending[aggregate_id]
        if self.loader is None:
            raise RuntimeError(f"policy {self.policy.name} was given no loader")
        return self.loader.load(cls, aggregate_id)

    def save(self, *aggregates: Any) -> None:
        """Append these aggregates' new events with the policy's position."""
        for aggregate in aggregates:
            self.pending[aggregate.id] = aggregate

    def outbox(self, kind: str, payload: dict[str, Any], key: str | None = None) -> str:
        """Record a side effect for the dispatcher; returns its idempotency key."""
        if key is None:
            key = f"{self.policy.name}:{self.position}:{self.outboxed}"
        self.outboxed += 1
        self.policy.effects += 1
        self.cur.execute(
            "INSERT INTO outbox (key, kind, policy, position, payload)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (key) DO NOTHING",
            (key, kind, self.policy.name, self.position, Jsonb(payload)),
        )
        self.cur.execute("SELECT pg_notify(%s, %s)", (OUTBOX_CHANNEL, kind))
        return key

    def flush(self) -> None:
        events = [e for a in self.pending.values() for e in a.collect_events()]
        if not events:
            return
        stored = [self.mapper.to_stored_event(e) for e in events]
        self.policy.effects += 1
        self.cur.execute(
            APPEND,
            (
                [s.originator_id for s in stored],
                [s.originator_version for s in stored],
                [s.topic for s in stored],
                [s.state for s in stored],
            ),
        )
        self.appended += len(stored)


class Policy:
    """A named set of handlers ``(self, ctx, event)``, declared with ``projections.base.handles``."""

    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]] = ()  # a policy owns no read table
    is_policy: ClassVar[bool] = True
    effects = 0  # new events or outbox rows written in the current transaction (its worker's)
    _handlers: ClassVar[dict[str, Handler]]

    def __init__(self, loader: Loader | None = None) -> None:
        self.loader = loader

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        handlers: dict[str, Handler] = {}
        for base in reversed(cls.__mro__):
            for attr in vars(base).values():
                for event_class in getattr(attr, "_handles", ()):
                    handlers[get_topic(event_class)] = attr
        cls._handlers = handlers

    @property
    def topics(self) -> frozenset[str]:
        return frozenset(self._handlers)

    def handles_topic(self, topic: str) -> bool:
        return topic in self._handlers

    def passes_over(self, cur: Cursor, event: Any, seen: dict[str, Any]) -> bool:
        """True when reacting to ``event`` (of a topic this policy handles) would write
        nothing, as the read tables stand in ``cur``'s transaction: the projections' batch
        may then move the policy's position past it (``engine.unhandled_until``). Only for
        what the policy's own earlier reactions cannot change within the batch. ``seen``
        lasts one batch (what a policy reads once per batch). By default: never."""
        return False

    def react(self, cur: Cursor, event: Any, position: int, mapper: Mapper) -> int:
        """Run the event's handler in a savepoint; return how many events it appended.
        A version clash on append rolls back to the savepoint and runs it again."""
        handler = self._handlers[get_topic(type(event))]
        for attempt in range(MAX_ATTEMPTS):
            ctx = PolicyContext(self, cur, position, mapper, self.loader)
            try:
                with cur.connection.transaction():
                    handler(self, ctx, event)
                    ctx.flush()
                return ctx.appended
            except psycopg.errors.UniqueViolation:
                if attempt + 1 == MAX_ATTEMPTS:
                    raise
                log.info(
                    "policy version clash; reacting again", policy=self.name, position=position
                )
        raise AssertionError("unreachable")  # pragma: no cover

    def make_worker(self, decoded: DecodedEvents, batch_size: int) -> PolicyWorker:
        return PolicyWorker(self, decoded, batch_size)  # type: ignore[arg-type]


class PolicyWorker(ProjectionWorker):
    """Runs a policy alone, event by event (a savepoint each): a failing event stops the
    policy at it (state=failed, as a projection); a batch ends after an event that appended."""

    alone = True

    def step(self, conn: Connection) -> int:
        policy: Policy = self.projection  # type: ignore[assignment]
        with conn.transaction(), conn.cursor() as cur:
            position, state, parked = self._lock_tracking(cur)
            if state != "running":
                return 0
            rows = read_events(cur, position, self.batch_size)
            if not rows:
                return 0
            policy.effects = 0
            done, consumed = position, 0
            for row in rows:
                consumed += 1
                if policy.handles_topic(row.topic) and row.position not in parked:
                    try:
                        appended = policy.react(
                            cur, self.decoded.get(row), row.position, self.decoded.mapper
                        )
                    except psycopg.OperationalError:
                        raise
                    except Exception as e:
                        self._durable_if_effects(cur, policy)
                        self._fail(cur, done, row, e)
                        return 0
                    done = row.position
                    if appended:
                        break
                done = row.position
            self._durable_if_effects(cur, policy)
            self._advance(cur, done)
            return consumed

    @staticmethod
    def _durable_if_effects(cur: Cursor, policy: Policy) -> None:
        """New events and side effects commit synchronously (the projector's connection
        commits asynchronously otherwise): a delivered outbox row must never be lost to a
        crash and written, and delivered, again. A batch that only moved the position needs
        no flush: lost, it is read again and passed over again."""
        if policy.effects:
            cur.execute("SET LOCAL synchronous_commit = on")
