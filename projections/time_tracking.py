"""Time tracking read model: ``time_entries``, ``time_tracking_settings``, ``active_timers``;
and ``TrackedTime``, which the kanban and tasks projections use for ``actual_hours``.

actual_hours belongs to the projection that owns the row (kanban_cards: kanban; tasks: tasks).
Each of them follows the time entries' events itself and keeps, in a side table of its own,
the seconds of every stopped entry that counts for one of its rows; actual_hours is their sum.
So a rebuild of any one projection restores exactly its own tables, and no projection waits
for, or writes into, another's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from psycopg import Cursor
from psycopg.types.json import Jsonb

from domain.kanban import Board, Card
from domain.projects import Project
from domain.tasks import Task
from domain.time_tracking import SETTINGS_DEFAULTS, TimeEntry, TimeTracker, duration_of
from projections.base import Projection, handles

ENTRY_UPDATABLE = {
    "description",
    "is_billable",
    "hourly_rate",
    "project_id",
    "task_id",
    "task_type",
}


def segments_json(segments: list[list[Any]]) -> Jsonb:
    return Jsonb([[s.isoformat(), e.isoformat() if e is not None else None] for s, e in segments])


def parse_segments(value: list[list[str | None]]) -> list[list[datetime | None]]:
    """Segments as stored in time_entries.segments, back to datetimes."""
    return [
        [datetime.fromisoformat(s), datetime.fromisoformat(e) if e else None]  # type: ignore[arg-type]
        for s, e in value
    ]


def _shape(segments: list[list[Any]], stopped: bool) -> dict[str, Any]:
    """The columns that follow from an entry's segments."""
    running = not stopped and segments[-1][1] is None
    return {
        "segments": segments_json(segments),
        "start_time": segments[0][0],
        "end_time": segments[-1][1] if stopped else None,
        "duration": duration_of(segments),
        "is_running": running,
        "is_paused": not stopped and not running,
    }


class TimeTrackingProjection(Projection):
    name = "time_tracking"
    tables = ("time_entries", "time_tracking_settings", "active_timers")
    deferred_indexes = (  # entries are found by id, task and project
        "idx_time_entries_user",
        "idx_time_entries_start_time",
        "idx_time_entries_workspace",
        "idx_time_entries_user_start",
        "idx_active_timers_user",
    )

    # Settings --------------------------------------------------------------------------------

    @handles(TimeTracker.Created)
    def tracker_created(self, cur: Cursor, e: Any, position: int) -> None:
        d = SETTINGS_DEFAULTS
        cur.execute(
            "INSERT INTO time_tracking_settings (id, user_id, default_hourly_rate, auto_stop_timer,"
            " auto_stop_duration, require_description, default_billable, timezone,"
            " stop_running_on_start, created_at, updated_at, version) VALUES (%s, %s, %s, %s, %s,"
            " %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (user_id) DO NOTHING",
            (
                e.originator_id,
                e.user_id,
                d["default_hourly_rate"],
                d["auto_stop_timer"],
                d["auto_stop_duration"],
                d["require_description"],
                d["default_billable"],
                d["timezone"],
                d["stop_running_on_start"],
                e.timestamp,
                e.timestamp,
                e.originator_version,
            ),
        )

    @handles(TimeTracker.SettingsChanged)
    def settings_changed(self, cur: Cursor, e: Any, position: int) -> None:
        changes = {k: v for k, v in e.changes.items() if k in SETTINGS_DEFAULTS}
        sets = "".join(f"{k} = %({k})s, " for k in changes)
        cur.execute(
            f"UPDATE time_tracking_settings SET {sets}updated_at = %(ts)s, version = %(v)s"
            " WHERE id = %(id)s",
            {**changes, "ts": e.timestamp, "v": e.originator_version, "id": e.originator_id},
        )

    # Entries ---------------------------------------------------------------------------------

    def _set(self, cur: Cursor, e: Any, values: dict[str, Any]) -> None:
        sets = "".join(f"{k} = %({k})s, " for k in values)
        cur.execute(
            f"UPDATE time_entries SET {sets}updated_at = %(ts)s, version = %(v)s WHERE id = %(id)s",
            {**values, "ts": e.timestamp, "v": e.originator_version, "id": e.originator_id},
        )

    @handles(TimeEntry.Started, TimeEntry.Recorded)
    def entry_created(self, cur: Cursor, e: Any, position: int) -> None:
        stopped = e.segments[-1][1] is not None
        shape = _shape(e.segments, stopped)
        cur.execute(
            "INSERT INTO time_entries (id, workspace_id, user_id, project_id, task_id, task_type,"
            " description, start_time, end_time, duration, is_running, is_paused, is_billable,"
            " hourly_rate, tags, segments, auto_stop_after, note, version, created_at, updated_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, NULL,"
            " %s, %s, %s)",
            (
                e.originator_id,
                e.workspace_id,
                e.user_id,
                e.project_id,
                e.task_id,
                e.task_type,
                e.description,
                shape["start_time"],
                shape["end_time"],
                shape["duration"],
                shape["is_running"],
                shape["is_paused"],
                e.is_billable,
                e.hourly_rate,
                list(e.tags),
                shape["segments"],
                e.auto_stop_after,
                e.originator_version,
                e.timestamp,
                e.timestamp,
            ),
        )
        if not stopped:
            cur.execute(
                "INSERT INTO active_timers (id, user_id, time_entry_id, started_at, last_ping)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (user_id) DO UPDATE SET"
                " id = excluded.id, time_entry_id = excluded.time_entry_id,"
                " started_at = excluded.started_at, last_ping = excluded.last_ping",
                (e.originator_id, e.user_id, e.originator_id, shape["start_time"], e.timestamp),
            )

    @handles(TimeEntry.Paused, TimeEntry.Resumed)
    def entry_toggled(self, cur: Cursor, e: Any, position: int) -> None:
        self._set(cur, e, _shape(e.segments, stopped=False))
        cur.execute(
            "UPDATE active_timers SET last_ping = %s WHERE time_entry_id = %s",
            (e.timestamp, e.originator_id),
        )

    @handles(TimeEntry.Stopped)
    def entry_stopped(self, cur: Cursor, e: Any, position: int) -> None:
        self._set(cur, e, {**_shape(e.segments, stopped=True), "note": e.note})
        cur.execute("DELETE FROM active_timers WHERE time_entry_id = %s", (e.originator_id,))

    @handles(TimeEntry.Updated)
    def entry_updated(self, cur: Cursor, e: Any, position: int) -> None:
        values = {k: v for k, v in e.changes.items() if k in ENTRY_UPDATABLE}
        if "tags" in e.changes:
            values["tags"] = list(e.changes["tags"])
        if "segments" in e.changes:
            cur.execute(
                "SELECT end_time IS NOT NULL FROM time_entries WHERE id = %s", (e.originator_id,)
            )
            row = cur.fetchone()
            values.update(_shape(e.changes["segments"], stopped=bool(row and row[0])))
            cur.execute(
                "UPDATE active_timers SET started_at = %s WHERE time_entry_id = %s",
                (values["start_time"], e.originator_id),
            )
        self._set(cur, e, values)

    @handles(TimeEntry.Deleted)
    def entry_deleted(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute("DELETE FROM active_timers WHERE time_entry_id = %s", (e.originator_id,))
        cur.execute("DELETE FROM time_entries WHERE id = %s", (e.originator_id,))

    # What entries point at ---------------------------------------------------------------------
    # The spec: task_id ON DELETE SET NULL; project_id ON DELETE CASCADE.

    def _unlink(self, cur: Cursor, task_type: str, ids: list[Any]) -> None:
        cur.execute(
            "UPDATE time_entries SET task_id = NULL, task_type = NULL"
            " WHERE task_id = ANY(%s) AND task_type = %s",
            (list(ids), task_type),
        )

    @handles(Card.Deleted)
    def card_deleted(self, cur: Cursor, e: Any, position: int) -> None:
        self._unlink(cur, "card", [e.originator_id])

    @handles(Board.Deleted)
    def board_deleted(self, cur: Cursor, e: Any, position: int) -> None:
        if e.card_ids:
            self._unlink(cur, "card", [UUID(str(c)) for c in e.card_ids])

    @handles(Task.Deleted)
    def task_deleted(self, cur: Cursor, e: Any, position: int) -> None:
        self._unlink(cur, "task", [e.originator_id])

    @handles(Project.Deleted)
    def project_deleted(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "DELETE FROM active_timers WHERE time_entry_id IN"
            " (SELECT id FROM time_entries WHERE project_id = %s)",
            (e.originator_id,),
        )
        cur.execute("DELETE FROM time_entries WHERE project_id = %s", (e.originator_id,))


# actual_hours, for the projections that own cards and tasks -----------------------------------


def tracked_of(e: Any) -> dict[str, Any] | None:
    """What a time entry counts for after this event: its card or task and its seconds."""
    if isinstance(e, TimeEntry.Recorded):
        if e.task_id is None:
            return None
        return {
            "task_id": str(e.task_id),
            "task_type": e.task_type,
            "seconds": duration_of(e.segments),
        }
    return getattr(e, "tracked", None)


class TrackedTime:
    """Mixin for a projection that owns an ``actual_hours`` column: set the class attributes
    and list ``tracked_table`` in its ``tables``."""

    tracked_type: ClassVar[str]  # "card" or "task"
    tracked_table: ClassVar[str]  # side table (entry_id, target_id, seconds)
    tracked_rows: ClassVar[str]  # the table with actual_hours

    @handles(TimeEntry.Recorded, TimeEntry.Stopped, TimeEntry.Updated, TimeEntry.Deleted)
    def track_time(self, cur: Cursor, e: Any, position: int) -> None:
        tracked = tracked_of(e)
        target = None
        if tracked is not None and tracked["task_type"] == self.tracked_type:
            target = UUID(tracked["task_id"])
        values = {
            "entry": e.originator_id,
            "target": target,
            "seconds": tracked["seconds"] if target is not None else None,  # type: ignore[index]
        }
        # First the hours of the rows the entry counted for and now counts for, summed over
        # the side table as it is about to be (other entries' rows, plus this one's new row);
        # then the side table itself. No result is read: fit for pipeline mode.
        cur.execute(
            f"UPDATE {self.tracked_rows} r SET actual_hours = LEAST(99999999.99, (SELECT"
            " round(coalesce(sum(s.seconds), 0) / 3600.0, 2) FROM (SELECT seconds FROM"
            f" {self.tracked_table} WHERE target_id = r.id AND entry_id <> %(entry)s UNION ALL"
            " SELECT %(seconds)s::int WHERE r.id = %(target)s::uuid) s)) WHERE r.id IN (SELECT"
            f" target_id FROM {self.tracked_table} WHERE entry_id = %(entry)s UNION ALL"
            " SELECT %(target)s::uuid)",
            values,
            prepare=True,
        )
        if target is None:
            cur.execute(
                f"DELETE FROM {self.tracked_table} WHERE entry_id = %(entry)s", values, prepare=True
            )
        else:
            cur.execute(
                f"INSERT INTO {self.tracked_table} (entry_id, target_id, seconds)"
                " VALUES (%(entry)s, %(target)s, %(seconds)s) ON CONFLICT (entry_id)"
                " DO UPDATE SET target_id = excluded.target_id, seconds = excluded.seconds",
                values,
                prepare=True,
            )
