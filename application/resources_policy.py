"""The ``resources_workload`` policy: conflict detection and utilization, live.

It follows team members, allocations, projects, workspaces (their time zone) and stopped time
entries, and keeps each member's inputs in its own tables (application/adapters/
resources_workload.py, migrations/0010), written in the transaction of its position: a crash
or a re-run never counts an event twice. After each event it computes the member's conflicts
(``domain.resources_capacity.overloads``) and, when they differ from what it last found,
reconciles the member's ``Workload``: new conflicts are detected, changed ones updated,
vanished ones resolved by themselves. Weeks whose capacity, allocated or tracked hours changed
are recorded on the same ``Workload`` (``UtilizationUpdated``). The read model and real-time
take it from those events, so replaying the log gives the same conflicts and metrics.
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from typing import Any
from uuid import UUID

from application.adapters.resources_workload import BatchedWorker, State, WorkloadTables
from application.errors import NotFound
from domain.projects import Project
from domain.resources import Allocation, TeamMember, Workload
from domain.resources_capacity import hours, overloads, seconds_by_week, weekly_load, zone_name
from domain.time_tracking import TimeEntry
from domain.workspaces import Workspace
from projections.base import handles
from projections.engine import DecodedEvents
from projections.policy import Loader, Policy, PolicyContext, PolicyWorker

MEMBER_KEYS = ("capacity", "availability", "is_active")


class WorkloadPolicy(Policy):
    name = "resources_workload"

    def __init__(self, loader: Loader) -> None:
        super().__init__(loader)
        self.tables = WorkloadTables()

    def make_worker(self, decoded: DecodedEvents, batch_size: int) -> PolicyWorker:
        return BatchedWorker(self, decoded, batch_size)

    def _zone(self, ctx: PolicyContext, workspace_id: UUID) -> str:
        zone = self.tables.zone(ctx.cur, workspace_id)
        if zone is not None:
            return zone
        try:  # a workspace from before this policy: its settings as the log has them
            settings = ctx.load(Workspace, workspace_id).settings
        except NotFound:
            settings = {}
        zone = zone_name(settings)
        self.tables.set_zone(ctx.cur, workspace_id, zone)
        return zone

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
        self.tables.write(ctx.cur, state)

    # Team members ---------------------------------------------------------------------------

    @handles(TeamMember.Created)
    def member_added(self, ctx: PolicyContext, e: Any) -> None:
        state = self.tables.state(ctx.cur, e.workspace_id, e.user_id)
        state.member = {k: _plain(getattr(e, k)) for k in MEMBER_KEYS}
        self._settle(ctx, state, None, "team member added")

    @handles(TeamMember.Updated)
    def member_updated(self, ctx: PolicyContext, e: Any) -> None:
        changes = {k: _plain(v) for k, v in e.changes.items() if k in MEMBER_KEYS}
        if not changes:
            return
        state = self.tables.state(ctx.cur, e.workspace_id, e.user_id)
        state.member = {**(state.member or {}), **changes}
        self._settle(ctx, state, None, "capacity or availability changed")

    # Allocations ----------------------------------------------------------------------------

    @handles(Allocation.Created)
    def allocation_created(self, ctx: PolicyContext, e: Any) -> None:
        state = self.tables.state(ctx.cur, e.workspace_id, e.user_id)
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
        state = self.tables.state(ctx.cur, e.workspace_id, e.user_id)
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
        state = self.tables.state(ctx.cur, e.workspace_id, e.user_id)
        ident = str(e.originator_id)
        weeks = state.allocation_weeks(ident)
        if state.allocations.pop(ident, None) is None:
            return
        self._settle(ctx, state, weeks, "allocation deleted")

    @handles(Project.Deleted)
    def project_deleted(self, ctx: PolicyContext, e: Any) -> None:
        """The project's allocations and tracked time no longer count."""
        project = str(e.originator_id)
        untracked = self.tables.untrack_project(ctx.cur, e.workspace_id, e.originator_id)
        users = self.tables.members_with_project(ctx.cur, e.workspace_id, project)
        for user in sorted(users | set(untracked), key=str):
            state = self.tables.state(ctx.cur, e.workspace_id, user)
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
        self.tables.set_zone(ctx.cur, e.originator_id, zone_name(e.settings))

    @handles(Workspace.Updated)
    def workspace_updated(self, ctx: PolicyContext, e: Any) -> None:
        if "settings" not in e.changes:
            return
        workspace_id = e.originator_id
        before, after = self._zone(ctx, workspace_id), zone_name(e.changes["settings"])
        if before == after:
            return
        self.tables.set_zone(ctx.cur, workspace_id, after)
        actual: dict[UUID, dict[str, int]] = {}
        for entry, user, segments in self.tables.workspace_entries(ctx.cur, workspace_id):
            weeks = seconds_by_week(segments, after)
            self.tables.set_entry_weeks(ctx.cur, entry, weeks)
            mine = actual.setdefault(user, {})
            for monday, seconds in weeks.items():
                mine[monday] = mine.get(monday, 0) + seconds
        for user, weeks in sorted(actual.items(), key=lambda x: str(x[0])):
            state = self.tables.state(ctx.cur, workspace_id, user)
            touched = set(state.actual) | set(weeks)
            state.actual = weeks
            self._settle(ctx, state, touched, "time zone changed")

    # Tracked time ---------------------------------------------------------------------------

    def _track(self, ctx: PolicyContext, e: Any, segments: list[Any] | None, project: Any) -> None:
        """Set (or, with ``segments`` None, remove) what a stopped entry counts for."""
        known = self.tables.tracked(ctx.cur, e.originator_id)
        old: dict[str, int] = known[1] if known else {}
        if segments is None and known is None:
            return
        state = self.tables.state(ctx.cur, e.workspace_id, e.user_id)
        new: dict[str, int] = {}
        if segments is None:
            self.tables.untrack(ctx.cur, e.originator_id)
        else:
            plain = [[_plain(s), _plain(t)] for s, t in segments]
            new = seconds_by_week(plain, self._zone(ctx, e.workspace_id))
            self.tables.track(
                ctx.cur, e.originator_id, e.workspace_id, e.user_id, project, plain, new
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
        known = self.tables.tracked(ctx.cur, e.originator_id)
        if known is None:  # running, paused, or stopped before this policy: not counted
            return
        self._track(ctx, e, e.changes.get("segments", known[0]), e.project_id)

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
