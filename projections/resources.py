"""Resource allocation read model: ``team_members``, ``resource_allocations``,
``resource_conflicts`` and ``utilization_metrics``, from the TeamMember, Allocation and
Workload events (the conflicts and metrics are what the ``resources_workload`` policy
recorded, so a rebuild gives the same rows)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from psycopg import Cursor
from psycopg.types.json import Jsonb

from domain.projects import Project
from domain.resources import Allocation, TeamMember, Workload
from domain.resources_capacity import percent
from projections.base import Projection, handles, row_id

MEMBER_COLUMNS = ("role", "skills", "capacity", "hourly_rate", "availability", "is_active")
ALLOCATION_COLUMNS = ("role", "hours_per_week", "start_date", "end_date", "required_skills")


def _value(key: str, value: Any) -> Any:
    return Jsonb(value) if key == "availability" else value


def _fraction(value: str) -> Fraction:
    return Fraction(value)


class ResourcesProjection(Projection):
    name = "resources"
    tables = ("team_members", "resource_allocations", "resource_conflicts", "utilization_metrics")

    # Team members -----------------------------------------------------------------------------

    @handles(TeamMember.Created)
    def member_created(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "INSERT INTO team_members (id, user_id, workspace_id, role, skills, capacity,"
            " hourly_rate, availability, is_active, version, created_at, updated_at) VALUES"
            " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                e.originator_id,
                e.user_id,
                e.workspace_id,
                e.role,
                list(e.skills),
                e.capacity,
                e.hourly_rate,
                Jsonb(e.availability),
                e.is_active,
                e.originator_version,
                e.timestamp,
                e.timestamp,
            ),
        )

    @handles(TeamMember.Updated)
    def member_updated(self, cur: Cursor, e: Any, position: int) -> None:
        values = {k: _value(k, v) for k, v in e.changes.items() if k in MEMBER_COLUMNS}
        sets = "".join(f"{k} = %({k})s, " for k in values)
        cur.execute(
            f"UPDATE team_members SET {sets}updated_at = %(ts)s, version = %(v)s WHERE id = %(id)s",
            {**values, "ts": e.timestamp, "v": e.originator_version, "id": e.originator_id},
        )

    # Allocations ------------------------------------------------------------------------------

    @handles(Allocation.Created)
    def allocation_created(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "INSERT INTO resource_allocations (id, user_id, project_id, workspace_id, role,"
            " hours_per_week, start_date, end_date, required_skills, created_by, version,"
            " created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
            " %s)",
            (
                e.originator_id,
                e.user_id,
                e.project_id,
                e.workspace_id,
                e.role,
                e.hours_per_week,
                e.start_date,
                e.end_date,
                list(e.required_skills),
                e.actor_id,
                e.originator_version,
                e.timestamp,
                e.timestamp,
            ),
        )

    @handles(Allocation.Updated)
    def allocation_updated(self, cur: Cursor, e: Any, position: int) -> None:
        values = {k: v for k, v in e.changes.items() if k in ALLOCATION_COLUMNS}
        sets = "".join(f"{k} = %({k})s, " for k in values)
        cur.execute(
            f"UPDATE resource_allocations SET {sets}updated_at = %(ts)s, version = %(v)s"
            " WHERE id = %(id)s",
            {**values, "ts": e.timestamp, "v": e.originator_version, "id": e.originator_id},
        )

    @handles(Allocation.Deleted)
    def allocation_deleted(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute("DELETE FROM resource_allocations WHERE id = %s", (e.originator_id,))

    @handles(Project.Deleted)
    def project_deleted(self, cur: Cursor, e: Any, position: int) -> None:
        """The spec: resource_allocations.project_id ON DELETE CASCADE."""
        cur.execute("DELETE FROM resource_allocations WHERE project_id = %s", (e.originator_id,))

    # Conflicts (recorded by the resources_workload policy) --------------------------------------

    @handles(Workload.ConflictDetected)
    def conflict_detected(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "INSERT INTO resource_conflicts (id, user_id, workspace_id, conflicting_allocations,"
            " overallocation_percentage, over_hours, start_date, end_date, status, resolved_by,"
            " resolved_at, resolution_details, detected_at, updated_at, version) VALUES (%(id)s,"
            " %(user)s, %(ws)s, %(ids)s, %(pct)s, %(over)s, %(start)s, %(end)s, 'active', NULL,"
            " NULL, NULL, %(ts)s, %(ts)s, 1) ON CONFLICT (id) DO UPDATE SET"
            " conflicting_allocations = excluded.conflicting_allocations,"
            " overallocation_percentage = excluded.overallocation_percentage, over_hours ="
            " excluded.over_hours, start_date = excluded.start_date, end_date ="
            " excluded.end_date, status = 'active', resolved_by = NULL, resolved_at = NULL,"
            " resolution_details = NULL, detected_at = excluded.detected_at, updated_at ="
            " excluded.updated_at, version = resource_conflicts.version + 1",
            self._conflict(e),
        )

    def _conflict(self, e: Any) -> dict[str, Any]:
        return {
            "id": e.conflict_id,
            "user": e.user_id,
            "ws": e.workspace_id,
            "ids": Jsonb([str(i) for i in e.allocation_ids]),
            "pct": e.percentage,
            "over": e.over_hours,
            "start": e.start_date,
            "end": e.end_date,
            "ts": e.timestamp,
        }

    @handles(Workload.ConflictChanged)
    def conflict_changed(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "UPDATE resource_conflicts SET conflicting_allocations = %(ids)s,"
            " overallocation_percentage = %(pct)s, over_hours = %(over)s, start_date = %(start)s,"
            " end_date = %(end)s, updated_at = %(ts)s, version = version + 1 WHERE id = %(id)s",
            self._conflict(e),
        )

    @handles(Workload.ConflictCleared)
    def conflict_cleared(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "UPDATE resource_conflicts SET status = 'resolved', resolved_by = NULL, resolved_at ="
            " %s, resolution_details = %s, updated_at = %s, version = version + 1 WHERE id = %s",
            (
                e.timestamp,
                Jsonb({"automatic": True, "reason": e.reason}),
                e.timestamp,
                e.conflict_id,
            ),
        )

    @handles(Workload.ConflictClosed)
    def conflict_closed(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "UPDATE resource_conflicts SET status = %s, resolved_by = %s, resolved_at = %s,"
            " resolution_details = %s, updated_at = %s, version = version + 1 WHERE id = %s",
            (
                e.status,
                e.actor_id,
                e.timestamp,
                Jsonb({"automatic": False, **e.details}),
                e.timestamp,
                e.conflict_id,
            ),
        )

    # Utilization ------------------------------------------------------------------------------

    @handles(Workload.UtilizationUpdated)
    def utilization_updated(self, cur: Cursor, e: Any, position: int) -> None:
        """One statement for all the weeks of the event."""
        rows = []
        for week in e.weeks:
            monday = date.fromisoformat(week["period_start"])
            capacity, allocated, actual = (
                _fraction(week[k]) for k in ("capacity", "allocated", "actual")
            )
            rows.append(
                (
                    row_id("utilization", e.workspace_id, e.user_id, monday),
                    monday,
                    monday + timedelta(days=6),
                    Decimal(week["capacity"]),
                    Decimal(week["allocated"]),
                    Decimal(week["actual"]),
                    percent(allocated, capacity),
                    percent(actual, allocated) if allocated > 0 else None,
                )
            )
        if not rows:
            return
        columns = list(zip(*rows, strict=True))
        cur.execute(
            "INSERT INTO utilization_metrics (id, user_id, workspace_id, period_start,"
            " period_end, total_capacity, allocated_hours, actual_hours,"
            " utilization_percentage, efficiency_score, computed_at) SELECT u.id, %s, %s,"
            " u.ps, u.pe, u.cap, u.alloc, u.act, u.pct, u.eff, %s FROM unnest(%s::uuid[],"
            " %s::date[], %s::date[], %s::numeric[], %s::numeric[], %s::numeric[],"
            " %s::numeric[], %s::numeric[]) AS u(id, ps, pe, cap, alloc, act, pct, eff)"
            " ON CONFLICT (user_id, workspace_id, period_start, period_end) DO UPDATE SET"
            " total_capacity = excluded.total_capacity, allocated_hours ="
            " excluded.allocated_hours, actual_hours = excluded.actual_hours,"
            " utilization_percentage = excluded.utilization_percentage, efficiency_score ="
            " excluded.efficiency_score, computed_at = excluded.computed_at",
            (e.user_id, e.workspace_id, e.timestamp, *[list(c) for c in columns]),
            prepare=True,
        )
