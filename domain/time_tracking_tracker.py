"""A user's TimeTracker (one per user, id = uuid5 of the user id): the user's settings,
which entry is their timer, and the segments of all their entries. "One timer per user" and
"no two entries of a user overlap" are decided here, in one place: two concurrent writers
clash on the tracker's version, and the loser re-runs against what the winner wrote.

Moved here from ``domain.time_tracking``: the events stored under the old topics
(``domain.time_tracking:TimeTracker...``) resolve to this class (``register_topic`` below).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic

from domain.shared import name_based_id
from domain.time_tracking_rules import (
    SETTINGS_DEFAULTS,
    EntriesOverlap,
    Segment,
    TimerRunning,
    check_settings,
    epochs,
    overlap,
)


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
        spans = epochs(segments)
        key = str(entry_id)
        return [
            other
            for other, booking in self.bookings.items()
            if other != key and overlap(spans, booking["segments"])
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
        booking = {"project_id": str(project_id), "segments": epochs(segments)}
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


OLD_MODULE = "domain.time_tracking"  # where TimeTracker was defined until issue 13


def register_old_topics() -> None:
    """Resolve the topics stored before the move (aggregate, snapshots and events) here."""
    register_topic(f"{OLD_MODULE}:TimeTracker", TimeTracker)
    for name in ("Created", "SettingsChanged", "Booked", "Released"):
        register_topic(f"{OLD_MODULE}:TimeTracker.{name}", getattr(TimeTracker, name))


register_old_topics()
