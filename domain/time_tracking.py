"""Time tracking: a TimeEntry holds its segments, the spans during which it ran; a user's
TimeTracker (one per user, id = uuid5 of the user id) holds the user's settings, which entry
is their timer, and the segments of all their entries. "One timer per user" and "no two
entries of a user overlap" are decided there, in one place: two concurrent writers clash on
the tracker's version, and the loser re-runs against what the winner wrote.

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
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from eventsourcing.domain import Aggregate, event

from domain.shared import Gone, RuleBroken, name_based_id

TASK_TYPES = ("card", "task")  # what an entry's task_id names: a kanban card or a task
STOP_REASONS = ("stopped", "auto_stop", "replaced")
MIN_AUTO_STOP = 60  # seconds
MAX_AUTO_STOP = 7 * 86400
MAX_ENTRY_SECONDS = 999 * 3600  # an entry's span (as in Toggl): durations stay storable
SETTINGS_DEFAULTS: dict[str, Any] = {
    "default_hourly_rate": None,
    "auto_stop_timer": True,
    "auto_stop_duration": 3600,  # seconds of running time
    "require_description": True,
    "default_billable": True,
    "timezone": "UTC",
    # Starting a timer while one runs: False -> 409; True -> the running one is stopped.
    "stop_running_on_start": False,
}
ENTRY_FIELDS = ("description", "is_billable", "hourly_rate", "tags", "project_id", "task_id")

Segment = list[Any]  # [start: datetime, end: datetime | None] (None: still running)


class TimerRunning(RuleBroken):
    code = "timer-running"


class NoTimer(RuleBroken):
    code = "no-timer"


class EntriesOverlap(RuleBroken):
    code = "time-overlap"


# Segment arithmetic (pure) ------------------------------------------------------------------


def seconds(delta: timedelta) -> int:
    return int(delta.total_seconds())


def duration_of(segments: list[Segment], now: datetime | None = None) -> int:
    """Seconds of running time: closed segments, plus the open one up to ``now`` if given."""
    total = 0
    for start, end in segments:
        if end is not None:
            total += seconds(end - start)
        elif now is not None:
            total += max(0, seconds(now - start))
    return total


def reshape(segments: list[Segment], start: datetime, end: datetime | None) -> list[Segment]:
    """New segments for an entry whose bounds are set to ``start`` .. ``end``.

    The segments are clipped to the new bounds (pauses inside them are kept), then the first
    one is stretched back to ``start`` and the last one on to ``end``. ``end`` None keeps the
    last segment's own end (an open timer). When nothing is left, the entry becomes one
    segment ``start`` .. ``end``.
    """
    kept: list[Segment] = []
    for s, e in segments:
        lo = max(s, start)
        hi = e if end is None else (end if e is None else min(e, end))
        if hi is None or lo < hi:
            kept.append([lo, hi])
    if not kept:
        if end is None:
            raise RuleBroken("start_time is after all the time tracked so far")
        return [[start, end]]
    kept[0][0] = start
    if end is not None:
        kept[-1][1] = end
    return kept


def _epochs(segments: list[Segment]) -> list[list[int | None]]:
    return [[int(s.timestamp()), None if e is None else int(e.timestamp())] for s, e in segments]


def _overlap(a: list[list[int | None]], b: list[list[int | None]]) -> bool:
    """Whether two lists of [start, end] epoch spans intersect (an end None runs on)."""
    for s1, e1 in a:
        for s2, e2 in b:
            if (e2 is None or s1 < e2) and (e1 is None or s2 < e1):
                return True
    return False


def check_settings(fields: dict[str, Any]) -> None:
    unknown = set(fields) - set(SETTINGS_DEFAULTS)
    if unknown:
        raise RuleBroken(f"not a setting: {', '.join(sorted(unknown))}")
    if "timezone" in fields:
        check_timezone(fields["timezone"])
    duration = fields.get("auto_stop_duration")
    if duration is not None and not MIN_AUTO_STOP <= duration <= MAX_AUTO_STOP:
        raise RuleBroken(
            f"auto_stop_duration must be between {MIN_AUTO_STOP} and {MAX_AUTO_STOP} seconds"
        )
    rate = fields.get("default_hourly_rate")
    if rate is not None and rate < 0:
        raise RuleBroken("default_hourly_rate must not be negative")


def check_timezone(name: str) -> ZoneInfo:
    """The zone of an IANA name ('Europe/Paris'), or RuleBroken."""
    try:
        if not name or name != name.strip() or name.startswith(("/", ".")):
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RuleBroken(f"unknown time zone {name!r}") from None


# The user's tracker --------------------------------------------------------------------------


class TimeTracker(Aggregate):
    """A user's settings, their timer, and the spans of all their entries (epoch seconds).

    Its events concern one user across workspaces (like the user's own identity events), so
    they carry ``user_id`` rather than a workspace: feeds and real-time leave them out; the
    entries' own events say what happened in each workspace.
    """

    @staticmethod
    def create_id(user_id: UUID) -> UUID:
        return TimeTracker.id_for(user_id)

    @staticmethod
    def id_for(user_id: UUID) -> UUID:
        return name_based_id("time-tracker", str(user_id))

    @event("Created")
    def __init__(self, user_id: UUID) -> None:
        self.user_id = user_id
        self.preferences: dict[str, Any] = {}
        self.bookings: dict[str, dict[str, Any]] = {}  # entry id -> project id, spans
        self.timer: str | None = None  # the entry id of the open (running or paused) timer

    @property
    def settings(self) -> dict[str, Any]:
        return {**SETTINGS_DEFAULTS, **self.preferences}

    def change_settings(self, actor_id: UUID, **fields: Any) -> None:
        check_settings(fields)
        current = self.settings
        changes = {k: v for k, v in fields.items() if current[k] != v}
        if changes:
            self._settings_changed(actor_id=actor_id, user_id=self.user_id, changes=changes)

    @event("SettingsChanged")
    def _settings_changed(self, actor_id: UUID, user_id: UUID, changes: dict[str, Any]) -> None:
        self.preferences = {**self.preferences, **changes}

    def conflicts(self, entry_id: UUID, segments: list[Segment]) -> list[str]:
        """Ids of the user's other entries that overlap these segments."""
        spans = _epochs(segments)
        key = str(entry_id)
        return [
            other
            for other, booking in self.bookings.items()
            if other != key and _overlap(spans, booking["segments"])
        ]

    def project_of(self, entry_id: str) -> str:
        return self.bookings[entry_id]["project_id"]

    def book(
        self, actor_id: UUID, entry_id: UUID, project_id: UUID, segments: list[Segment], timer: bool
    ) -> None:
        """Record an entry's spans; ``timer``: it is the user's open timer."""
        key = str(entry_id)
        if timer and self.timer not in (None, key):
            raise TimerRunning(
                "a timer is already running; stop it first", running_entry_id=self.timer
            )
        clashing = self.conflicts(entry_id, segments)
        if clashing:
            raise EntriesOverlap(
                "this time overlaps another of your time entries", overlapping=clashing
            )
        booking = {"project_id": str(project_id), "segments": _epochs(segments)}
        was_timer = self.timer == key
        if self.bookings.get(key) != booking or timer != was_timer:
            self._booked(
                actor_id=actor_id,
                user_id=self.user_id,
                entry_id=entry_id,
                project_id=project_id,
                segments=booking["segments"],
                timer=timer,
            )

    @event("Booked")
    def _booked(
        self,
        actor_id: UUID,
        user_id: UUID,
        entry_id: UUID,
        project_id: UUID,
        segments: list[list[int | None]],
        timer: bool,
    ) -> None:
        key = str(entry_id)
        self.bookings = {
            **self.bookings,
            key: {"project_id": str(project_id), "segments": [list(s) for s in segments]},
        }
        if timer:
            self.timer = key
        elif self.timer == key:
            self.timer = None

    def release(self, actor_id: UUID, entry_id: UUID | str) -> None:
        """Forget an entry (deleted, or its project is gone)."""
        if str(entry_id) in self.bookings:
            self._released(actor_id=actor_id, user_id=self.user_id, entry_id=UUID(str(entry_id)))

    @event("Released")
    def _released(self, actor_id: UUID, user_id: UUID, entry_id: UUID) -> None:
        key = str(entry_id)
        self.bookings = {k: v for k, v in self.bookings.items() if k != key}
        if self.timer == key:
            self.timer = None


# Entries -------------------------------------------------------------------------------------


class TimeEntry(Aggregate):
    """Time a user spent on a project (and optionally a card or task of it).

    Started by a timer (one open segment) or recorded by hand (one closed segment). Pauses
    and resumes add segments; a stop closes the entry. ``task_id`` names a kanban card or a
    task (``task_type``), as the spec's time_entries.task_id references cards.
    """

    class Started(Aggregate.Created):
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

    class Recorded(Aggregate.Created):
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
        _check_fields(fields)
        return cls._create(
            cls.Started, segments=[[at, None]], auto_stop_after=auto_stop_after, **fields
        )

    @classmethod
    def record(cls, *, start: datetime, end: datetime, **fields: Any) -> TimeEntry:
        """An entry entered by hand, from ``start`` to ``end``."""
        _check_fields(fields)
        _check_span(start, end)
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
        _check_fields(fields)
        changes = {k: v for k, v in fields.items() if getattr(self, k) != v}
        if start_time is not None or end_time is not None:
            if end_time is not None and self.is_open:
                raise RuleBroken("a running timer's end is set by stopping it")
            start = start_time or self.start_time
            end = end_time or self.end_time
            if end is not None:
                _check_span(start, end)
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


def _check_span(start: datetime, end: datetime) -> None:
    """End after start, and at most MAX_ENTRY_SECONDS apart (for an open timer: from its
    start to when it last started running, a time of the server's clock)."""
    if end <= start:
        raise RuleBroken("end_time must be after start_time")
    if (end - start).total_seconds() > MAX_ENTRY_SECONDS:
        raise RuleBroken(f"an entry lasts at most {MAX_ENTRY_SECONDS // 3600} hours")


def _check_fields(fields: dict[str, Any]) -> None:
    if fields.get("task_type") is not None and fields["task_type"] not in TASK_TYPES:
        raise RuleBroken(f"unknown task type {fields['task_type']!r}")
    if ("task_id" in fields or "task_type" in fields) and (
        (fields.get("task_id") is None) != (fields.get("task_type") is None)
    ):
        raise RuleBroken("task_id and task_type go together")
    rate = fields.get("hourly_rate")
    if rate is not None and rate < 0:
        raise RuleBroken("hourly_rate must not be negative")
