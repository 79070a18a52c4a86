"""The ``resources_workload`` policy: conflict detection and utilization, live.

It follows team members, allocations, projects, workspaces (their time zone) and stopped time
entries, and keeps each member's inputs in its own tables (migrations/0010), written in the
transaction of its position: a crash or a re-run never counts an event twice. After each
event it computes the member's conflicts (``domain.resources_capacity.overloads``) and, when
they differ from what it last found, reconciles the member's ``Workload``: new conflicts are
detected, changed ones updated, vanished ones resolved by themselves. Weeks whose capacity,
allocated or tracked hours changed are recorded on the same ``Workload``
(``UtilizationUpdated``). The read model and real-time take it from those events, so
replaying the log gives the same conflicts and metrics.
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

from application.errors import NotFound
from domain.projects import Project
from domain.resources import Allocation, TeamMember, Workload
from domain.resources_capacity import (
    Booking,
    Capacity,
    hours,
    mondays,
    overloads,
    seconds_by_week,
    weekly_load,
    zone_name,
)
from domain.time_tracking import TimeEntry
from domain.workspaces import Workspace
from projections.base import handles
from projections.engine import DecodedEvents, read_events
from projections.policy import (
    APPEND,
    MAX_ATTEMPTS,
    Loader,
    Policy,
    PolicyContext,
    PolicyWorker,
)

MEMBER_KEYS = ("capacity", "availability", "is_active")
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

    def __init__(self, policy: WorkloadPolicy, decoded: DecodedEvents, batch_size: int) -> None:
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
        policy: WorkloadPolicy = self.projection  # type: ignore[assignment]
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
            policy.prefetch(cur, keys)
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
                policy.flush_states(cur)
            finally:
                policy.end_batch()
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


class WorkloadPolicy(Policy):
    name = "resources_workload"

    def __init__(self, loader: Loader) -> None:
        super().__init__(loader)

    def make_worker(self, decoded: DecodedEvents, batch_size: int) -> PolicyWorker:
        return BatchedWorker(self, decoded, batch_size)

    # State ----------------------------------------------------------------------------------

    # Within a batch (``BatchedWorker``) the states are read together at its start, kept
    # in ``batch`` and written together at its end; alone (the engine's event-by-event
    # worker), each handler reads and writes its own.
    batch: dict[tuple[UUID, UUID], State] | None = None

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

    def _state(self, cur: Cursor, workspace_id: UUID, user_id: UUID) -> State:
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

    def flush_states(self, cur: Cursor) -> None:
        """Write the batch's states (one round trip: executemany pipelines them)."""
        if self.batch:
            cur.executemany(self.UPSERT, [self._values(s) for s in self.batch.values()])

    def end_batch(self) -> None:
        self.batch = None

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

    def _write(self, cur: Cursor, state: State) -> None:
        if self.batch is not None:
            self.batch[(state.workspace_id, state.user_id)] = state  # written at the end
            return
        cur.execute(self.UPSERT, self._values(state), prepare=True)

    def _zone(self, ctx: PolicyContext, workspace_id: UUID) -> str:
        ctx.cur.execute("SELECT zone FROM resource_zones WHERE workspace_id = %s", (workspace_id,))
        row = ctx.cur.fetchone()
        if row is not None:
            return row[0]
        try:  # a workspace from before this policy: its settings as the log has them
            settings = ctx.load(Workspace, workspace_id).settings
        except NotFound:
            settings = {}
        zone = zone_name(settings)
        self._set_zone(ctx.cur, workspace_id, zone)
        return zone

    @staticmethod
    def _set_zone(cur: Cursor, workspace_id: UUID, zone: str) -> None:
        cur.execute(
            "INSERT INTO resource_zones (workspace_id, zone) VALUES (%s, %s)"
            " ON CONFLICT (workspace_id) DO UPDATE SET zone = excluded.zone",
            (workspace_id, zone),
        )

    # Deciding -------------------------------------------------------------------------------

    def _settle(self, ctx: PolicyContext, state: State, weeks: set[str] | None, cause: str) -> None:
        """Reconcile conflicts and record changed weeks; then write the state."""
        workload: Workload | None = None

        def load() -> Workload:
            nonlocal workload
            if workload is None:
                try:
                    workload = ctx.load(
                        Workload, Workload.id_for(state.workspace_id, state.user_id)
                    )
                except NotFound:
                    workload = Workload(workspace_id=state.workspace_id, user_id=state.user_id)
            return workload

        capacity = state.capacity()
        bookings = state.bookings()
        weeks_load = weekly_load(bookings)
        found = overloads(state.workspace_id, state.user_id, capacity, bookings, weeks_load)
        signatures = {str(o.id): o.signature() for o in found}
        if signatures != state.found:
            load().reconcile(found, cause)
            state.found = signatures
        changed = []
        for monday_iso in sorted(state.all_weeks() if weeks is None else weeks):
            monday = date.fromisoformat(monday_iso)
            allocated = sum(weeks_load.get(monday, {}).values(), Fraction(0))
            actual = Fraction(state.actual.get(monday_iso, 0), 3600)
            values = [str(hours(capacity.week(monday))), str(hours(allocated)), str(hours(actual))]
            if state.weeks.get(monday_iso) == values:
                continue
            if monday_iso not in state.weeks and allocated == 0 and actual == 0:
                continue
            state.weeks[monday_iso] = values
            changed.append(
                {
                    "period_start": monday_iso,
                    "capacity": values[0],
                    "allocated": values[1],
                    "actual": values[2],
                }
            )
        if changed:
            load().record_utilization(changed)
        if workload is not None:
            ctx.save(workload)
        self._write(ctx.cur, state)

    # Team members ---------------------------------------------------------------------------

    @handles(TeamMember.Created)
    def member_added(self, ctx: PolicyContext, e: Any) -> None:
        state = self._state(ctx.cur, e.workspace_id, e.user_id)
        state.member = {k: _plain(getattr(e, k)) for k in MEMBER_KEYS}
        self._settle(ctx, state, None, "team member added")

    @handles(TeamMember.Updated)
    def member_updated(self, ctx: PolicyContext, e: Any) -> None:
        changes = {k: _plain(v) for k, v in e.changes.items() if k in MEMBER_KEYS}
        if not changes:
            return
        state = self._state(ctx.cur, e.workspace_id, e.user_id)
        state.member = {**(state.member or {}), **changes}
        self._settle(ctx, state, None, "capacity or availability changed")

    # Allocations ----------------------------------------------------------------------------

    @handles(Allocation.Created)
    def allocation_created(self, ctx: PolicyContext, e: Any) -> None:
        state = self._state(ctx.cur, e.workspace_id, e.user_id)
        ident = str(e.originator_id)
        state.allocations[ident] = [
            str(e.hours_per_week),
            e.start_date.isoformat(),
            e.end_date.isoformat(),
            str(e.project_id),
        ]
        self._settle(ctx, state, state.allocation_weeks(ident), "allocation created")

    @handles(Allocation.Updated)
    def allocation_updated(self, ctx: PolicyContext, e: Any) -> None:
        keys = {"hours_per_week": 0, "start_date": 1, "end_date": 2}
        if not set(e.changes) & set(keys):
            return
        state = self._state(ctx.cur, e.workspace_id, e.user_id)
        ident = str(e.originator_id)
        if ident not in state.allocations:
            return
        before = state.allocation_weeks(ident)
        for key, index in keys.items():
            if key in e.changes:
                value = e.changes[key]
                state.allocations[ident][index] = (
                    value.isoformat() if isinstance(value, date) else str(value)
                )
        after = state.allocation_weeks(ident)
        self._settle(ctx, state, before | after, "allocation changed")

    @handles(Allocation.Deleted)
    def allocation_deleted(self, ctx: PolicyContext, e: Any) -> None:
        state = self._state(ctx.cur, e.workspace_id, e.user_id)
        ident = str(e.originator_id)
        weeks = state.allocation_weeks(ident)
        if state.allocations.pop(ident, None) is None:
            return
        self._settle(ctx, state, weeks, "allocation deleted")

    @handles(Project.Deleted)
    def project_deleted(self, ctx: PolicyContext, e: Any) -> None:
        """The project's allocations and tracked time no longer count."""
        if self.batch is not None:
            self.flush_states(ctx.cur)  # the query below reads the table
        project = str(e.originator_id)
        ctx.cur.execute(
            "SELECT entry_id, user_id, weeks FROM resource_tracked WHERE workspace_id = %s"
            " AND project_id = %s",
            (e.workspace_id, e.originator_id),
        )
        untracked: dict[UUID, list[dict[str, int]]] = {}
        for _entry, user, weeks in ctx.cur.fetchall():
            untracked.setdefault(user, []).append(weeks)
        ctx.cur.execute(
            "DELETE FROM resource_tracked WHERE workspace_id = %s AND project_id = %s",
            (e.workspace_id, e.originator_id),
        )
        ctx.cur.execute(
            "SELECT user_id FROM resource_workloads WHERE workspace_id = %s"
            " AND jsonb_path_exists(allocations, '$.*[3] ? (@ == $p)', %s)",
            (e.workspace_id, Jsonb({"p": project})),
        )
        users = {r[0] for r in ctx.cur.fetchall()} | set(untracked)
        for user in sorted(users, key=str):
            state = self._state(ctx.cur, e.workspace_id, user)
            weeks: set[str] = set()
            for ident in [k for k, v in state.allocations.items() if v[3] == project]:
                weeks |= state.allocation_weeks(ident)
                del state.allocations[ident]
            for entry_weeks in untracked.get(user, []):
                for monday, seconds in entry_weeks.items():
                    state.actual[monday] = state.actual.get(monday, 0) - seconds
                    weeks.add(monday)
            self._settle(ctx, state, weeks, "project deleted")

    # Workspaces: the time zone of their weeks -----------------------------------------------

    @handles(Workspace.Created)
    def workspace_created(self, ctx: PolicyContext, e: Any) -> None:
        self._set_zone(ctx.cur, e.originator_id, zone_name(e.settings))

    @handles(Workspace.Updated)
    def workspace_updated(self, ctx: PolicyContext, e: Any) -> None:
        if "settings" not in e.changes:
            return
        workspace_id = e.originator_id
        before, after = self._zone(ctx, workspace_id), zone_name(e.changes["settings"])
        if before == after:
            return
        self._set_zone(ctx.cur, workspace_id, after)
        ctx.cur.execute(
            "SELECT entry_id, user_id, segments FROM resource_tracked WHERE workspace_id = %s",
            (workspace_id,),
        )
        actual: dict[UUID, dict[str, int]] = {}
        for entry, user, segments in ctx.cur.fetchall():
            weeks = seconds_by_week(segments, after)
            ctx.cur.execute(
                "UPDATE resource_tracked SET weeks = %s WHERE entry_id = %s", (Jsonb(weeks), entry)
            )
            mine = actual.setdefault(user, {})
            for monday, seconds in weeks.items():
                mine[monday] = mine.get(monday, 0) + seconds
        for user, weeks in sorted(actual.items(), key=lambda x: str(x[0])):
            state = self._state(ctx.cur, workspace_id, user)
            touched = set(state.actual) | set(weeks)
            state.actual = weeks
            self._settle(ctx, state, touched, "time zone changed")

    # Tracked time ---------------------------------------------------------------------------

    def _track(self, ctx: PolicyContext, e: Any, segments: list[Any] | None, project: Any) -> None:
        """Set (or, with ``segments`` None, remove) what a stopped entry counts for."""
        ctx.cur.execute(
            "SELECT weeks FROM resource_tracked WHERE entry_id = %s", (e.originator_id,)
        )
        row = ctx.cur.fetchone()
        old: dict[str, int] = row[0] if row else {}
        if segments is None and row is None:
            return
        state = self._state(ctx.cur, e.workspace_id, e.user_id)
        new: dict[str, int] = {}
        if segments is None:
            ctx.cur.execute("DELETE FROM resource_tracked WHERE entry_id = %s", (e.originator_id,))
        else:
            plain = [[_plain(s), _plain(t)] for s, t in segments]
            new = seconds_by_week(plain, self._zone(ctx, e.workspace_id))
            ctx.cur.execute(
                "INSERT INTO resource_tracked (entry_id, workspace_id, user_id, project_id,"
                " segments, weeks) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (entry_id) DO"
                " UPDATE SET project_id = excluded.project_id, segments = excluded.segments,"
                " weeks = excluded.weeks",
                (e.originator_id, e.workspace_id, e.user_id, project, Jsonb(plain), Jsonb(new)),
            )
        for monday in set(old) | set(new):
            total = state.actual.get(monday, 0) - old.get(monday, 0) + new.get(monday, 0)
            if total:
                state.actual[monday] = total
            else:
                state.actual.pop(monday, None)
        self._settle(ctx, state, set(old) | set(new), "time tracked")

    @handles(TimeEntry.Recorded, TimeEntry.Stopped)
    def entry_closed(self, ctx: PolicyContext, e: Any) -> None:
        self._track(ctx, e, e.segments, e.project_id)

    @handles(TimeEntry.Updated)
    def entry_updated(self, ctx: PolicyContext, e: Any) -> None:
        if "segments" not in e.changes and "project_id" not in e.changes:
            return
        ctx.cur.execute(
            "SELECT segments FROM resource_tracked WHERE entry_id = %s", (e.originator_id,)
        )
        row = ctx.cur.fetchone()
        if row is None:  # running, paused, or stopped before this policy: not counted
            return
        self._track(ctx, e, e.changes.get("segments", row[0]), e.project_id)

    @handles(TimeEntry.Deleted)
    def entry_deleted(self, ctx: PolicyContext, e: Any) -> None:
        self._track(ctx, e, None, e.project_id)


def _plain(value: Any) -> Any:
    """A JSON-ready value (dates and datetimes as ISO strings, decimals as strings)."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)
