"""Time tracking: a TimeEntry holds its segments, the spans during which it ran; a user's
TimeTracker (``domain.time_tracking_tracker``) holds the user's settings, which entry is
their timer, and the segments of all their entries: "one timer per user" and "no two entries
of a user overlap" are decided there. The rules without state (settings, errors, segment
arithmetic, checks) are in ``domain.time_tracking_rules``; this module is the context's
domain API and names them all.

Every time comes from the caller (the server's clock, passed in); the domain never reads a
clock. Durations are derived from segments, in whole seconds, never taken from a client.
A pause closes the running segment and a resume opens a new one, so a duration is the sum
of the running segments and excludes the pauses.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.shared import Gone, RuleBroken
from domain.time_tracking_rules import (
    ENTRY_FIELDS,
    MAX_AUTO_STOP,
    MAX_ENTRY_SECONDS,
    MIN_AUTO_STOP,
    SETTINGS_DEFAULTS,
    STOP_REASONS,
    TASK_TYPES,
    EntriesOverlap,
    NoTimer,
    Segment,
    TimerRunning,
    check_fields,
    check_settings,
    check_span,
    check_timezone,
    duration_of,
    reshape,
    seconds,
)
from domain.time_tracking_tracker import TimeTracker

__all__ = [
    "ENTRY_FIELDS",
    "MAX_AUTO_STOP",
    "MAX_ENTRY_SECONDS",
    "MIN_AUTO_STOP",
    "SETTINGS_DEFAULTS",
    "STOP_REASONS",
    "TASK_TYPES",
    "EntriesOverlap",
    "EntryCreated",
    "NoTimer",
    "Segment",
    "TimeEntry",
    "TimeTracker",
    "TimerRunning",
    "check_settings",
    "check_timezone",
    "duration_of",
    "reshape",
    "seconds",
]


class EntryCreated(Aggregate.Created):
    """The fields a TimeEntry starts with, however it starts (its ``__init__`` arguments)."""

    workspace_id: UUID
    project_id: UUID
    user_id: UUID
    actor_id: UUID
    task_id: UUID | None
    task_type: str | None
    description: str
    is_billable: bool
    hourly_rate: Decimal | None
    tags: list[str]
    segments: list[Segment]
    auto_stop_after: int | None


class TimeEntry(Aggregate):
    """Time a user spent on a project (and optionally a card or task of it).

    Started by a timer (one open segment) or recorded by hand (one closed segment). Pauses
    and resumes add segments; a stop closes the entry. ``task_id`` names a kanban card or a
    task (``task_type``), as the spec's time_entries.task_id references cards.
    """

    class Started(EntryCreated):
        """A timer started (one open segment)."""

    class Recorded(EntryCreated):
        """An entry recorded by hand (one closed segment)."""

    def __init__(
        self,
        workspace_id: UUID,
        project_id: UUID,
        user_id: UUID,
        actor_id: UUID,
        task_id: UUID | None,
        task_type: str | None,
        description: str,
        is_billable: bool,
        hourly_rate: Decimal | None,
        tags: list[str],
        segments: list[Segment],
        auto_stop_after: int | None,
    ) -> None:
        self.workspace_id = workspace_id
        self.project_id = project_id
        self.user_id = user_id
        self.task_id = task_id
        self.task_type = task_type
        self.description = description
        self.is_billable = is_billable
        self.hourly_rate = hourly_rate
        self.tags = list(tags)
        self.segments = [list(s) for s in segments]  # never share lists with the event
        self.auto_stop_after = auto_stop_after
        self.stopped = segments[-1][1] is not None
        self.note: str | None = None
        self.deleted = False

    @classmethod
    def start(cls, *, at: datetime, auto_stop_after: int | None, **fields: Any) -> TimeEntry:
        """A running timer from ``at``; ``auto_stop_after``: seconds of running time, or None."""
        check_fields(fields)
        return cls._create(
            cls.Started, segments=[[at, None]], auto_stop_after=auto_stop_after, **fields
        )

    @classmethod
    def record(cls, *, start: datetime, end: datetime, **fields: Any) -> TimeEntry:
        """An entry entered by hand, from ``start`` to ``end``."""
        check_fields(fields)
        check_span(start, end)
        return cls._create(cls.Recorded, segments=[[start, end]], auto_stop_after=None, **fields)

    # State -----------------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return not self.stopped

    @property
    def is_running(self) -> bool:
        return self.is_open and self.segments[-1][1] is None

    @property
    def is_paused(self) -> bool:
        return self.is_open and self.segments[-1][1] is not None

    @property
    def start_time(self) -> datetime:
        return self.segments[0][0]

    @property
    def end_time(self) -> datetime | None:
        return self.segments[-1][1] if self.stopped else None

    def duration(self, now: datetime | None = None) -> int:
        return duration_of(self.segments, now)

    def auto_stop_at(self) -> datetime | None:
        """When the running time reaches the auto-stop limit (running timers only)."""
        if not self.is_running or self.auto_stop_after is None:
            return None
        last_start = self.segments[-1][0]
        left = self.auto_stop_after - duration_of(self.segments[:-1])
        return last_start + timedelta(seconds=max(0, left))

    def overdue(self, now: datetime) -> datetime | None:
        at = self.auto_stop_at()
        return at if at is not None and now >= at else None

    def tracked(self) -> dict[str, Any] | None:
        """What this entry adds to its card's or task's actual hours (stopped entries only)."""
        if self.deleted or not self.stopped or self.task_id is None:
            return None
        return {
            "task_id": str(self.task_id),
            "task_type": self.task_type,
            "seconds": self.duration(),
        }

    def _check_live(self) -> None:
        if self.deleted:
            raise Gone("time entry not found")

    def _scope(self, actor_id: UUID) -> dict[str, Any]:
        return {
            "actor_id": actor_id,
            "workspace_id": self.workspace_id,
            "project_id": self.project_id,
            "user_id": self.user_id,
        }

    # Timer -----------------------------------------------------------------------------------

    def pause(self, actor_id: UUID, at: datetime) -> None:
        self._check_live()
        if not self.is_running:
            raise NoTimer("the timer is not running")
        at = max(at, self.segments[-1][0])
        segments = [*self.segments[:-1], [self.segments[-1][0], at]]
        self._paused(**self._scope(actor_id), at=at, segments=segments)

    @event("Paused")
    def _paused(
        self,
        actor_id: UUID,
        workspace_id: UUID,
        project_id: UUID,
        user_id: UUID,
        at: datetime,
        segments: list[Segment],
    ) -> None:
        self.segments = [list(s) for s in segments]

    def resume(self, actor_id: UUID, at: datetime) -> None:
        self._check_live()
        if not self.is_paused:
            raise NoTimer("the timer is not paused")
        at = max(at, self.segments[-1][1])
        self._resumed(**self._scope(actor_id), at=at, segments=[*self.segments, [at, None]])

    @event("Resumed")
    def _resumed(
        self,
        actor_id: UUID,
        workspace_id: UUID,
        project_id: UUID,
        user_id: UUID,
        at: datetime,
        segments: list[Segment],
    ) -> None:
        self.segments = [list(s) for s in segments]

    def stop(
        self, actor_id: UUID, at: datetime, reason: str = "stopped", note: str | None = None
    ) -> None:
        """Close the entry at ``at`` (a paused timer ends where its last segment ended)."""
        self._check_live()
        if not self.is_open:
            raise NoTimer("the timer is not running")
        if reason not in STOP_REASONS:
            raise RuleBroken(f"unknown stop reason {reason!r}")
        segments = [list(s) for s in self.segments]
        if self.is_running:
            segments[-1][1] = max(at, segments[-1][0])
        end = segments[-1][1]
        tracked = None
        if self.task_id is not None:
            tracked = {
                "task_id": str(self.task_id),
                "task_type": self.task_type,
                "seconds": duration_of(segments),
            }
        self._stopped(
            **self._scope(actor_id),
            at=end,
            segments=segments,
            reason=reason,
            note=note,
            tracked=tracked,
        )

    @event("Stopped")
    def _stopped(
        self,
        actor_id: UUID,
        workspace_id: UUID,
        project_id: UUID,
        user_id: UUID,
        at: datetime,
        segments: list[Segment],
        reason: str,
        note: str | None,
        tracked: dict[str, Any] | None,
    ) -> None:
        self.segments = [list(s) for s in segments]
        self.stopped = True
        self.note = note

    def auto_stop(self, actor_id: UUID, now: datetime) -> bool:
        """Stop a timer that has run past its limit, at the moment it reached it."""
        at = self.overdue(now)
        if at is None:
            return False
        limit = self.auto_stop_after or 0
        hours, minutes = divmod(limit // 60, 60)
        self.stop(
            actor_id,
            at,
            reason="auto_stop",
            note=f"Stopped automatically after {hours}h {minutes:02d}m of running time"
            " (the auto-stop limit in your time tracking settings).",
        )
        return True

    # Content ---------------------------------------------------------------------------------

    def edit(
        self,
        actor_id: UUID,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        **fields: Any,
    ) -> bool:
        """Change content fields and/or the bounds; returns whether the segments changed.

        An open timer's end is set by stopping it, so only its start can move.
        """
        self._check_live()
        unknown = set(fields) - {*ENTRY_FIELDS, "task_type"}
        if unknown:
            raise RuleBroken(f"not an entry field: {', '.join(sorted(unknown))}")
        check_fields(fields)
        changes = {k: v for k, v in fields.items() if getattr(self, k) != v}
        if start_time is not None or end_time is not None:
            if end_time is not None and self.is_open:
                raise RuleBroken("a running timer's end is set by stopping it")
            start = start_time or self.start_time
            end = end_time or self.end_time
            if end is not None:
                check_span(start, end)
            elif max(s[0] for s in self.segments) - start > timedelta(seconds=MAX_ENTRY_SECONDS):
                raise RuleBroken(f"an entry lasts at most {MAX_ENTRY_SECONDS // 3600} hours")
            segments = reshape(self.segments, start, end)
            if segments != self.segments:
                changes["segments"] = segments
        if not changes:
            return False
        after = {**self.__dict__, **changes}
        tracked = None
        if self.stopped and after["task_id"] is not None:
            tracked = {
                "task_id": str(after["task_id"]),
                "task_type": after["task_type"],
                "seconds": duration_of(after["segments"]),
            }
        self._updated(
            **{**self._scope(actor_id), "project_id": after["project_id"]},
            changes=changes,
            tracked=tracked,
        )
        return "segments" in changes or "project_id" in changes

    @event("Updated")
    def _updated(
        self,
        actor_id: UUID,
        workspace_id: UUID,
        project_id: UUID,
        user_id: UUID,
        changes: dict[str, Any],
        tracked: dict[str, Any] | None,
    ) -> None:
        for key, value in changes.items():
            if key == "segments":
                value = [list(s) for s in value]
            elif key == "tags":
                value = list(value)
            setattr(self, key, value)

    def delete(self, actor_id: UUID) -> None:
        self._check_live()
        self._deleted(**self._scope(actor_id))

    @event("Deleted")
    def _deleted(self, actor_id: UUID, workspace_id: UUID, project_id: UUID, user_id: UUID) -> None:
        self.deleted = True
