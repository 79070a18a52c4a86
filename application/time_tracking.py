"""Time tracking use cases: timers, entries and settings, with the server's clock as the
authority.

Every command on a user's time loads the user's TimeTracker and saves it with the entries it
changes, in one atomic write: two concurrent starts clash on the tracker's version, and the
retry sees the timer the other one started (409, or it stops that one when the user's
settings say ``stop_running_on_start``). Commands of one user are also serialized in this
process. Times are the server's, in UTC, to the second.

A running timer whose running time reaches the user's limit is stopped at that moment: by the
auto-stop job (scheduled through the ``AutoStopScheduler`` port when the timer starts or
resumes), or by the user's next timer command if the job has not run yet.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from application.access import live_project, role_in
from application.adapters.store import Saved, check_version
from application.authorization import Action, authorize
from application.errors import Conflict, NotFound
from application.time_tracking_base import (
    AutoStopOutcome,
    AutoStopped,
    AutoStopScheduler,
    NoScheduler,
    TimeTrackingBase,
    invalid,
    to_second,
    utc_now,
)
from domain.projects import Project
from domain.time_tracking import NoTimer, TimeEntry, TimeTracker

__all__ = ["AutoStopOutcome", "AutoStopScheduler", "NoScheduler", "TimeTrackingService", "utc_now"]


class TimeTrackingService(TimeTrackingBase):
    # Settings ------------------------------------------------------------------------------

    def update_settings(self, *, user_id: UUID, **fields: Any) -> Saved:
        def command() -> tuple[None, list[TimeTracker]]:
            tracker = self._tracker(user_id)
            tracker.change_settings(user_id, **fields)
            return None, [tracker]

        return self.store.run(command, serialize_on=TimeTracker.id_for(user_id))

    # Timers --------------------------------------------------------------------------------

    def start(
        self,
        *,
        user_id: UUID,
        project_id: UUID,
        task_id: UUID | None = None,
        description: str | None = None,
        is_billable: bool | None = None,
        hourly_rate: Decimal | None = None,
        tags: list[str] | None = None,
    ) -> Saved:
        """Start the user's timer now. With a timer running: 409, or, when the user's
        settings say ``stop_running_on_start``, that timer is stopped now first."""
        started: list[TimeEntry] = []

        def command() -> tuple[UUID, list[Any]]:
            now = self.now()
            started.clear()
            project = live_project(self.store, project_id, user_id, Action.TIME_TRACKING_TRACK)
            tracker, running, settled = self._with_timer(user_id, now)
            settings = tracker.settings
            text = self._description(settings, description)
            task, task_type = self._target(project, task_id)
            changed: list[Any] = [settled] if settled is not None else []
            if running is not None and settings["stop_running_on_start"]:
                running.stop(user_id, now, reason="replaced")
                self._book(tracker, running, user_id)
                changed.append(running)
            entry = TimeEntry.start(
                at=now,
                auto_stop_after=settings["auto_stop_duration"]
                if settings["auto_stop_timer"]
                else None,
                workspace_id=project.workspace_id,
                project_id=project.id,
                user_id=user_id,
                actor_id=user_id,
                task_id=task,
                task_type=task_type,
                description=text,
                is_billable=settings["default_billable"] if is_billable is None else is_billable,
                hourly_rate=hourly_rate,
                tags=list(tags or []),
            )
            self._book(tracker, entry, user_id)
            started.append(entry)
            return entry.id, [*changed, entry, tracker]

        saved = self.store.run(command, serialize_on=TimeTracker.id_for(user_id))
        self._schedule(user_id, started[0] if started else None)
        return saved

    def stop(self, *, user_id: UUID) -> Saved:
        """Stop the user's timer now (a timer past its auto-stop limit stops at the limit)."""

        def command() -> tuple[UUID, list[Any]]:
            now = self.now()
            tracker, entry, settled = self._with_timer(user_id, now)
            if settled is not None:
                return settled.id, [settled, tracker]
            if entry is None:
                raise NoTimer("you have no running timer")
            entry.stop(user_id, now)
            self._book(tracker, entry, user_id)
            return entry.id, [entry, tracker]

        return self.store.run(command, serialize_on=TimeTracker.id_for(user_id))

    def _toggle(self, user_id: UUID, resume: bool) -> Saved:
        auto_stopped: list[TimeEntry] = []

        def command() -> tuple[UUID, list[Any]]:
            now = self.now()
            auto_stopped.clear()
            tracker, entry, settled = self._with_timer(user_id, now)
            if settled is not None:
                auto_stopped.append(settled)
                return settled.id, [settled, tracker]
            if entry is None:
                raise NoTimer("you have no running timer")
            if resume:
                role = role_in(self.store, entry.workspace_id, user_id)
                authorize(role, Action.TIME_TRACKING_TRACK, what="time entry")
                entry.resume(user_id, now)
            else:
                entry.pause(user_id, now)
            self._book(tracker, entry, user_id)
            return entry.id, [entry, tracker]

        saved = self.store.run(command, serialize_on=TimeTracker.id_for(user_id))
        if auto_stopped:
            entry = auto_stopped[0]
            return Saved(saved.position, saved.topics, AutoStopped(entry.id, entry.end_time))
        if resume:
            self._schedule(user_id, self.store.load(TimeEntry, saved.value))
        return saved

    @staticmethod
    def check_toggled(saved: Saved) -> UUID:
        """The entry a pause or resume changed; Conflict when the timer had reached its
        auto-stop limit instead (it was stopped there)."""
        if isinstance(saved.value, AutoStopped):
            conflict = Conflict(
                "the timer reached its auto-stop limit and was stopped at"
                f" {saved.value.at:%Y-%m-%dT%H:%M:%SZ}",
                time_entry_id=str(saved.value.entry_id),
            )
            conflict.code = "timer-auto-stopped"
            raise conflict
        return saved.value

    def pause(self, *, user_id: UUID) -> Saved:
        """Pause the user's timer now; ``check_toggled`` tells whether it had been stopped
        by its auto-stop limit instead (saved, so the caller can wait for it)."""
        return self._toggle(user_id, resume=False)

    def resume(self, *, user_id: UUID) -> Saved:
        return self._toggle(user_id, resume=True)

    def auto_stop(self, *, user_id: UUID, entry_id: UUID, expected_at: datetime) -> AutoStopOutcome:
        """The auto-stop job: stop the timer at its limit if it is still this running entry
        with this limit moment (idempotent; a pause or resume makes the message obsolete, the
        resume having scheduled its own)."""

        def command() -> tuple[AutoStopOutcome, list[Any]]:
            now = self.now()
            try:
                tracker = self.store.load(TimeTracker, TimeTracker.id_for(user_id))
            except NotFound:
                return AutoStopOutcome("obsolete"), []
            if tracker.timer != str(entry_id):
                return AutoStopOutcome("obsolete"), []
            entry = self.store.load(TimeEntry, entry_id, "time entry")
            at = entry.auto_stop_at()
            if at is None or at != to_second(expected_at):
                return AutoStopOutcome("obsolete"), []
            if now < at:
                return AutoStopOutcome("not-due", due=at), []
            entry.auto_stop(user_id, now)
            self._book(tracker, entry, user_id)
            return AutoStopOutcome("stopped"), [entry, tracker]

        saved = self.store.run(command, serialize_on=TimeTracker.id_for(user_id))
        outcome: AutoStopOutcome = saved.value
        return AutoStopOutcome(outcome.status, outcome.due, saved.position)

    # Entries -------------------------------------------------------------------------------

    def record(
        self,
        *,
        user_id: UUID,
        project_id: UUID,
        start_time: datetime,
        end_time: datetime,
        task_id: UUID | None = None,
        description: str | None = None,
        is_billable: bool | None = None,
        hourly_rate: Decimal | None = None,
        tags: list[str] | None = None,
    ) -> Saved:
        """A manual entry: end after start, not in the future, overlapping none of the user's
        other entries (409)."""
        start, end = to_second(start_time), to_second(end_time)

        def command() -> tuple[UUID, list[Any]]:
            self._check_times(self.now(), start, end)
            project = live_project(self.store, project_id, user_id, Action.TIME_TRACKING_TRACK)
            tracker = self._tracker(user_id)
            settings = tracker.settings
            task, task_type = self._target(project, task_id)
            entry = TimeEntry.record(
                start=start,
                end=end,
                workspace_id=project.workspace_id,
                project_id=project.id,
                user_id=user_id,
                actor_id=user_id,
                task_id=task,
                task_type=task_type,
                description=self._description(settings, description),
                is_billable=settings["default_billable"] if is_billable is None else is_billable,
                hourly_rate=hourly_rate,
                tags=list(tags or []),
            )
            self._book(tracker, entry, user_id)
            return entry.id, [entry, tracker]

        return self.store.run(command, serialize_on=TimeTracker.id_for(user_id))

    def update(
        self, *, entry_id: UUID, actor_id: UUID, expected: int | None, **fields: Any
    ) -> Saved:
        """Change an entry's content, project (same workspace), card or task, or bounds."""
        owner = self.entry_for(entry_id, actor_id, write=True).user_id
        start = to_second(fields.pop("start_time")) if fields.get("start_time") else None
        end = to_second(fields.pop("end_time")) if fields.get("end_time") else None

        def command() -> tuple[None, list[Any]]:
            entry = self.entry_for(entry_id, actor_id, write=True)
            check_version(entry, expected)
            self._check_times(self.now(), start, end)
            first, last = start or entry.start_time, end or entry.end_time
            if last is not None and last <= first:
                field = "end_time" if end is not None else "start_time"
                raise invalid(field, "the entry must end after it starts")
            tracker = self._tracker(entry.user_id)
            changes = dict(fields)
            project_id = changes.get("project_id", entry.project_id)
            project = self.store.load(Project, project_id, "project")
            if project_id != entry.project_id:
                project = live_project(self.store, project_id, actor_id, Action.TIME_TRACKING_TRACK)
                if project.workspace_id != entry.workspace_id:
                    raise invalid("project_id", "must be a project of the entry's workspace")
            if "task_id" in changes or project_id != entry.project_id:
                task, task_type = self._target(project, changes.get("task_id", entry.task_id))
                changes["task_id"], changes["task_type"] = task, task_type
            if "description" in changes:
                changes["description"] = self._description(tracker.settings, changes["description"])
            if changes.get("tags") is not None:
                changes["tags"] = list(changes["tags"])
            if entry.edit(actor_id, start_time=start, end_time=end, **changes):
                self._book(tracker, entry, actor_id)
            return None, [entry, tracker]

        return self.store.run(command, serialize_on=TimeTracker.id_for(owner))

    def delete(self, *, entry_id: UUID, actor_id: UUID, expected: int | None) -> Saved:
        """Delete an entry (an open timer is discarded)."""
        owner = self.entry_for(entry_id, actor_id, write=True).user_id

        def command() -> tuple[None, list[Any]]:
            entry = self.entry_for(entry_id, actor_id, write=True)
            check_version(entry, expected)
            tracker = self._tracker(entry.user_id)
            entry.delete(actor_id)
            tracker.release(actor_id, entry.id)
            return None, [entry, tracker]

        return self.store.run(command, serialize_on=TimeTracker.id_for(owner))
