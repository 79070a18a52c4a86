"""What every time-tracking command shares: the server's clock, the ports, loading a user's
tracker and entries with the access rules, and booking an entry's spans on the tracker.
``application.time_tracking.TimeTrackingService`` runs the commands on top of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from application.access import role_in
from application.adapters.store import EventStore
from application.authorization import Action, authorize
from application.errors import Invalid, NotFound
from domain.kanban import Board, Card
from domain.projects import Project
from domain.tasks import Task
from domain.time_tracking import MAX_ENTRY_SECONDS, TimeEntry, TimeTracker

MAX_ENTRY = timedelta(seconds=MAX_ENTRY_SECONDS)


def utc_now() -> datetime:
    return datetime.now(UTC)


def invalid(field: str, message: str) -> Invalid:
    """A 422 naming the body field at fault, shaped like the validation errors."""
    return Invalid(
        f"{field}: {message}",
        errors=[{"field": field, "location": "body", "message": message, "type": "value_error"}],
    )


def to_second(value: datetime) -> datetime:
    """UTC, whole seconds (a naive time is taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0)


class AutoStopScheduler(Protocol):
    def schedule(self, user_id: UUID, entry_id: UUID, at: datetime) -> None:
        """Arrange for ``auto_stop(user_id, entry_id, at)`` to run at ``at``."""


class NoScheduler:
    """No job queue: overdue timers are stopped by the user's next timer command."""

    def schedule(self, user_id: UUID, entry_id: UUID, at: datetime) -> None:
        return None


@dataclass(frozen=True)
class AutoStopped:
    """A pause found the timer past its auto-stop limit: it was stopped there instead."""

    entry_id: UUID
    at: datetime | None


@dataclass(frozen=True)
class AutoStopOutcome:
    status: str  # "stopped", "not-due" (run again at ``due``) or "obsolete"
    due: datetime | None = None
    position: int | None = None


class TimeTrackingBase:
    def __init__(
        self,
        store: EventStore,
        scheduler: AutoStopScheduler | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.scheduler = scheduler or NoScheduler()
        self.clock = clock

    def now(self) -> datetime:
        """The server's clock: UTC, to the second."""
        return to_second(self.clock())

    # Loading -----------------------------------------------------------------------------

    def _tracker(self, user_id: UUID) -> TimeTracker:
        try:
            return self.store.load(TimeTracker, TimeTracker.id_for(user_id))
        except NotFound:
            # Two first writers both create it: one clashes, retries and loads this one.
            return TimeTracker(user_id=user_id)

    def _live_entry(self, entry_id: UUID | str) -> TimeEntry:
        entry = self.store.load(TimeEntry, UUID(str(entry_id)), "time entry")
        if entry.deleted or self._project_gone(entry.project_id):
            raise NotFound("time entry not found")
        return entry

    def _project_gone(self, project_id: UUID | str) -> bool:
        try:
            return self.store.load(Project, UUID(str(project_id))).deleted
        except NotFound:
            return True

    def entry_for(self, entry_id: UUID, actor_id: UUID, *, write: bool) -> TimeEntry:
        """An entry the actor may read or change: their own (their role must allow tracking
        to change it), or anyone's in a workspace they manage."""
        entry = self._live_entry(entry_id)
        role = role_in(self.store, entry.workspace_id, actor_id)
        if entry.user_id == actor_id:
            authorize(
                role,
                Action.TIME_TRACKING_TRACK if write else Action.TIME_TRACKING_READ,
                what="time entry",
            )
        else:
            authorize(role, Action.TIME_TRACKING_MANAGE, what="time entry")
        return entry

    def _target(self, project: Project, task_id: UUID | None) -> tuple[UUID | None, str | None]:
        """Resolve ``task_id``: a live kanban card or task of the entry's project."""
        if task_id is None:
            return None, None
        try:
            found = self.store.repository.get(task_id)
        except AggregateNotFoundError:
            found = None
        if isinstance(found, Card) and not found.deleted and found.project_id == project.id:
            board = self.store.load(Board, found.board_id, "board")
            if not board.deleted:
                return task_id, "card"
        if isinstance(found, Task) and not found.deleted and found.project_id == project.id:
            return task_id, "task"
        raise invalid("task_id", "not a card or task of this project")

    @staticmethod
    def _description(settings: dict[str, Any], description: str | None) -> str:
        text = (description or "").strip()
        if not text and settings["require_description"]:
            raise invalid("description", "a description is required (see your settings)")
        return text

    # Bookkeeping on the tracker ------------------------------------------------------------

    def _book(self, tracker: TimeTracker, entry: TimeEntry, actor_id: UUID) -> None:
        """Record the entry's spans on the tracker; entries of deleted projects no longer
        count (they are released on the way)."""
        for other in tracker.conflicts(entry.id, entry.segments):
            if self._project_gone(tracker.project_of(other)):
                tracker.release(actor_id, other)
        tracker.book(actor_id, entry.id, entry.project_id, entry.segments, timer=entry.is_open)

    def _with_timer(
        self, user_id: UUID, now: datetime
    ) -> tuple[TimeTracker, TimeEntry | None, TimeEntry | None]:
        """The user's tracker and open timer, settled: a timer whose project is gone is
        released, and one past its auto-stop limit is stopped there (returned third).

        A tracker and its timer are saved together, so a timer found closed means the
        tracker was read just before another writer's change: it is read again.
        """
        for _ in range(3):
            tracker = self._tracker(user_id)
            if tracker.timer is None:
                return tracker, None, None
            entry = self.store.load(TimeEntry, UUID(tracker.timer), "time entry")
            if entry.is_open and not entry.deleted:
                break
        else:
            return tracker, None, None  # still changing: the save will clash and retry
        if self._project_gone(entry.project_id):
            tracker.release(user_id, entry.id)
            return tracker, None, None
        if entry.auto_stop(user_id, now):
            self._book(tracker, entry, user_id)
            return tracker, None, entry
        return tracker, entry, None

    def _schedule(self, user_id: UUID, entry: TimeEntry | None) -> None:
        at = entry.auto_stop_at() if entry is not None else None
        if at is not None:
            self.scheduler.schedule(user_id, entry.id, at)

    def _check_times(self, now: datetime, start: datetime | None, end: datetime | None) -> None:
        if start is not None and start > now:
            raise invalid("start_time", "must not be in the future")
        if end is not None and end > now:
            raise invalid("end_time", "must not be in the future")
        if start is not None and end is not None and end <= start:
            raise invalid("end_time", "must be after start_time")
        if start is not None and end is not None and end - start > MAX_ENTRY:
            raise invalid("end_time", f"must be at most {MAX_ENTRY_SECONDS // 3600} h after start")
