"""What the ``resources_workload`` policy (application/resources_policy.py) keeps in
PostgreSQL, and how it runs: its own tables (migrations/0010), written in the transaction of
its position, and ``BatchedWorker``, which decides a batch of events per transaction.

- ``resource_workloads``: per member, their capacity, allocations, tracked seconds per week,
  the conflicts last found and the utilization last recorded (``State``);
- ``resource_tracked``: per stopped time entry, its segments and seconds per week;
- ``resource_zones``: each workspace's time zone.
"""

from __future__ import annotations

import time as clock
from datetime import date
from fractions import Fraction
from typing import Any
from uuid import UUID

import psycopg
import structlog
from eventsourcing.utils import get_topic
from psycopg import Connection, Cursor
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from domain.resources_capacity import Booking, Capacity, mondays
from projections.engine import DecodedEvents, read_events
from projections.policy import APPEND, MAX_ATTEMPTS, PolicyContext, PolicyWorker

BATCH = 500  # events read per transaction, decided within BATCH_SECONDS
BATCH_SECONDS = 0.1  # then the batch commits: the lag a batch adds stays about this
log = structlog.get_logger("policies")


class State:
    """One member's row of ``resource_workloads``."""

    def __init__(self, workspace_id: UUID, user_id: UUID, row: dict[str, Any] | None) -> None:
        self.workspace_id = workspace_id
        self.user_id = user_id
        row = row or {}
        self.member: dict[str, Any] | None = row.get("member")
        self.allocations: dict[str, list[str]] = row.get("allocations") or {}
        self.actual: dict[str, int] = row.get("actual") or {}
        self.found: dict[str, list[Any]] = row.get("found") or {}
        self.weeks: dict[str, list[str]] = row.get("weeks") or {}

    def capacity(self) -> Capacity:
        if self.member is None:
            return Capacity(weekly=Fraction(0), active=False)
        return Capacity.of(
            self.member["capacity"], self.member["availability"], self.member["is_active"]
        )

    def bookings(self) -> list[Booking]:
        return [Booking.of(k, h, s, e, p) for k, (h, s, e, p) in self.allocations.items()]

    def allocation_weeks(self, ident: str) -> set[str]:
        found = self.allocations.get(ident)
        if found is None:
            return set()
        start, end = date.fromisoformat(found[1]), date.fromisoformat(found[2])
        return {m.isoformat() for m in mondays(start, end)}

    def all_weeks(self) -> set[str]:
        weeks = set(self.actual) | set(self.weeks)
        for ident in self.allocations:
            weeks |= self.allocation_weeks(ident)
        return weeks


class WorkloadTables:
    """The policy's tables. Within a batch (``BatchedWorker``) the members' states are read
    together at its start, kept in ``batch`` and written together at its end; alone (the
    engine's event-by-event worker) each handler reads and writes its own."""

    SELECT = (
        "SELECT workspace_id, user_id, member, allocations, actual, found, weeks"
        " FROM resource_workloads"
    )
    UPSERT = (
        "INSERT INTO resource_workloads (workspace_id, user_id, member, allocations, actual,"
        " found, weeks) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (workspace_id,"
        " user_id) DO UPDATE SET member = excluded.member, allocations ="
        " excluded.allocations, actual = excluded.actual, found = excluded.found,"
        " weeks = excluded.weeks"
    )

    def __init__(self) -> None:
        self.batch: dict[tuple[UUID, UUID], State] | None = None

    # Members' states ---------------------------------------------------------------------

    def state(self, cur: Cursor, workspace_id: UUID, user_id: UUID) -> State:
        key = (workspace_id, user_id)
        if self.batch is not None and key in self.batch:
            return self.batch[key]
        with cur.connection.cursor(row_factory=dict_row) as c:
            c.execute(f"{self.SELECT} WHERE workspace_id = %s AND user_id = %s", key, prepare=True)
            state = State(workspace_id, user_id, c.fetchone())
        if self.batch is not None:
            self.batch[key] = state
        return state

    def prefetch(self, cur: Cursor, keys: set[tuple[UUID, UUID]]) -> None:
        """Start a batch: read the states of these members in one statement."""
        self.batch = {}
        if not keys:
            return
        with cur.connection.cursor(row_factory=dict_row) as c:
            c.execute(
                f"{self.SELECT} WHERE (workspace_id, user_id) IN (SELECT * FROM"
                " unnest(%s::uuid[], %s::uuid[]))",
                ([k[0] for k in keys], [k[1] for k in keys]),
            )
            for row in c.fetchall():
                key = (row["workspace_id"], row["user_id"])
                self.batch[key] = State(*key, row)
        for key in keys:
            self.batch.setdefault(key, State(*key, None))

    def flush(self, cur: Cursor) -> None:
        """Write the batch's states (one round trip: executemany pipelines them)."""
        if self.batch:
            cur.executemany(self.UPSERT, [self._values(s) for s in self.batch.values()])

    def end(self) -> None:
        self.batch = None

    def write(self, cur: Cursor, state: State) -> None:
        if self.batch is not None:
            self.batch[(state.workspace_id, state.user_id)] = state  # written at the end
            return
        cur.execute(self.UPSERT, self._values(state), prepare=True)

    @staticmethod
    def _values(state: State) -> tuple:
        return (
            state.workspace_id,
            state.user_id,
            Jsonb(state.member) if state.member is not None else None,
            Jsonb(state.allocations),
            Jsonb(state.actual),
            Jsonb(state.found),
            Jsonb(state.weeks),
        )

    def members_with_project(self, cur: Cursor, workspace_id: UUID, project: str) -> set[UUID]:
        """Members with an allocation of the project (the batch's states written first)."""
        if self.batch is not None:
            self.flush(cur)
        cur.execute(
            "SELECT user_id FROM resource_workloads WHERE workspace_id = %s"
            " AND jsonb_path_exists(allocations, '$.*[3] ? (@ == $p)', %s)",
            (workspace_id, Jsonb({"p": project})),
        )
        return {r[0] for r in cur.fetchall()}

    # Time zones --------------------------------------------------------------------------

    @staticmethod
    def zone(cur: Cursor, workspace_id: UUID) -> str | None:
        cur.execute("SELECT zone FROM resource_zones WHERE workspace_id = %s", (workspace_id,))
        row = cur.fetchone()
        return row[0] if row is not None else None

    @staticmethod
    def set_zone(cur: Cursor, workspace_id: UUID, zone: str) -> None:
        cur.execute(
            "INSERT INTO resource_zones (workspace_id, zone) VALUES (%s, %s)"
            " ON CONFLICT (workspace_id) DO UPDATE SET zone = excluded.zone",
            (workspace_id, zone),
        )

    # Tracked time ------------------------------------------------------------------------

    @staticmethod
    def tracked(cur: Cursor, entry_id: UUID) -> tuple[list[Any], dict[str, int]] | None:
        """A counted entry's segments and seconds per week."""
        cur.execute("SELECT segments, weeks FROM resource_tracked WHERE entry_id = %s", (entry_id,))
        row = cur.fetchone()
        return (row[0], row[1]) if row is not None else None

    @staticmethod
    def untrack(cur: Cursor, entry_id: UUID) -> None:
        cur.execute("DELETE FROM resource_tracked WHERE entry_id = %s", (entry_id,))

    @staticmethod
    def track(
        cur: Cursor,
        entry_id: UUID,
        workspace_id: UUID,
        user_id: UUID,
        project_id: Any,
        segments: list[Any],
        weeks: dict[str, int],
    ) -> None:
        cur.execute(
            "INSERT INTO resource_tracked (entry_id, workspace_id, user_id, project_id,"
            " segments, weeks) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (entry_id) DO"
            " UPDATE SET project_id = excluded.project_id, segments = excluded.segments,"
            " weeks = excluded.weeks",
            (entry_id, workspace_id, user_id, project_id, Jsonb(segments), Jsonb(weeks)),
        )

    @staticmethod
    def untrack_project(
        cur: Cursor, workspace_id: UUID, project_id: UUID
    ) -> dict[UUID, list[dict[str, int]]]:
        """Stop counting a project's entries; returns their seconds per week, by user."""
        cur.execute(
            "DELETE FROM resource_tracked WHERE workspace_id = %s AND project_id = %s"
            " RETURNING user_id, weeks",
            (workspace_id, project_id),
        )
        out: dict[UUID, list[dict[str, int]]] = {}
        for user, weeks in cur.fetchall():
            out.setdefault(user, []).append(weeks)
        return out

    @staticmethod
    def workspace_entries(cur: Cursor, workspace_id: UUID) -> list[tuple[UUID, UUID, list]]:
        cur.execute(
            "SELECT entry_id, user_id, segments FROM resource_tracked WHERE workspace_id = %s",
            (workspace_id,),
        )
        return [(r[0], r[1], r[2]) for r in cur.fetchall()]

    @staticmethod
    def set_entry_weeks(cur: Cursor, entry_id: UUID, weeks: dict[str, int]) -> None:
        cur.execute(
            "UPDATE resource_tracked SET weeks = %s WHERE entry_id = %s", (Jsonb(weeks), entry_id)
        )


class BatchedWorker(PolicyWorker):
    """Decides a batch of events in one transaction and appends all its decisions at the
    end, in one statement: the log's ordering lock is held as briefly as for one event, and
    a busy log costs one commit per batch instead of one per event (the engine's
    ``PolicyWorker`` commits after every event that appended).

    Handlers of one batch share the aggregates they changed (a later handler sees the
    earlier ones' events). The Workload aggregates last saved are kept between batches: a
    manager's change meanwhile makes the append clash (a unique violation), and the batch
    runs again on freshly loaded aggregates. A handler that raises hands the batch to the
    engine's event-by-event worker, which stops at the event at fault."""

    def __init__(self, policy: Any, decoded: DecodedEvents, batch_size: int) -> None:
        super().__init__(policy, decoded, min(batch_size, BATCH))
        self.saved: dict[UUID, Any] = {}

    def step(self, conn: Connection) -> int:
        for _attempt in range(MAX_ATTEMPTS):
            try:
                return self._step_batch(conn)
            except psycopg.errors.UniqueViolation:
                self.saved.clear()
                log.info("policy version clash; deciding the batch again", policy=self.name)
            except psycopg.OperationalError:
                raise
            except Exception:
                self.saved.clear()
                return super().step(conn)  # one by one: stops at the event at fault
        return super().step(conn)

    @property
    def name(self) -> str:
        return self.projection.name

    def _step_batch(self, conn: Connection) -> int:
        policy: Any = self.projection  # a policy with ``tables`` (WorkloadTables)
        mapper = self.decoded.mapper
        with conn.transaction(), conn.cursor() as cur:
            position, state, parked = self._lock_tracking(cur)
            if state != "running":
                return 0
            rows = read_events(cur, position, self.batch_size)
            if not rows:
                return 0
            pending: dict[UUID, Any] = {}
            mine = {
                row.position: self.decoded.get(row)
                for row in rows
                if policy.handles_topic(row.topic) and row.position not in parked
            }
            keys = {
                (e.workspace_id, e.user_id)
                for e in mine.values()
                if getattr(e, "workspace_id", None) and getattr(e, "user_id", None)
            }
            policy.tables.prefetch(cur, keys)
            started, done = clock.monotonic(), position
            try:
                for row in rows:
                    if clock.monotonic() - started > BATCH_SECONDS:
                        break  # the rest in the next batch: the projections get their turn
                    event = mine.get(row.position)
                    if event is not None:
                        loader = _Cached(self, pending)
                        ctx = PolicyContext(policy, cur, row.position, mapper, loader)
                        ctx.pending = pending
                        policy._handlers[get_topic(type(event))](policy, ctx, event)
                    done = row.position
                policy.tables.flush(cur)
            finally:
                policy.tables.end()
            events = [e for a in pending.values() for e in a.collect_events()]
            if events:
                cur.execute("SET LOCAL synchronous_commit = on")
                _append(cur, mapper, events)
            self._advance(cur, done)
        self.saved.update(pending)
        return sum(1 for row in rows if row.position <= done)


class _Cached:
    """The loader of a batch: the aggregates this worker last saved, else the store."""

    def __init__(self, worker: BatchedWorker, pending: dict[UUID, Any]) -> None:
        self.worker = worker
        self.pending = pending

    def load(self, cls: type, aggregate_id: UUID, what: str | None = None) -> Any:
        kept = self.worker.saved.pop(aggregate_id, None)
        if kept is not None:
            return kept
        return self.worker.projection.loader.load(cls, aggregate_id)  # type: ignore[attr-defined]


def _append(cur: Cursor, mapper: Any, events: list[Any]) -> None:
    stored = [mapper.to_stored_event(e) for e in events]
    cur.execute(
        APPEND,
        (
            [s.originator_id for s in stored],
            [s.originator_version for s in stored],
            [s.topic for s in stored],
            [s.state for s in stored],
        ),
    )
