"""A milestone becomes overdue: its assignees are notified once ("milestone_overdue").

A milestone is overdue once its due date has ended in its workspace's time zone
(``settings.timezone``, else UTC) and it is neither completed nor cancelled. Setting a due date
(``Milestone.Created``, a due date in ``Milestone.Updated``) makes the notifications policy
write a "notification_due" outbox row of kind "milestone" for that moment; the outbox
dispatcher queues the ``remind_due`` job for it, which calls ``MilestoneOverdue.remind``. The
notification's id derives from the milestone, its due date and the recipient: a retry, a
second queued job or a replay never notifies twice; a new due date is a new deadline.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from application.errors import NotFound
from application.notifications import NotificationsService, Reminder
from application.notifications_triggers import Notice
from domain.milestones import Milestone
from domain.milestones_schedule import overdue_at
from domain.resources_capacity import zone_name
from domain.workspaces import Workspace

KIND = "milestone"
CLOSED = ("completed", "cancelled")


class MilestoneOverdue:
    """The use case the ``remind_due`` job runs for kind "milestone"."""

    def __init__(self, notifications: NotificationsService) -> None:
        self.notifications = notifications
        self.store = notifications.store

    def _settings(self, workspace_id: UUID) -> dict[str, Any] | None:
        try:
            return self.store.load(Workspace, workspace_id).settings
        except NotFound:
            return None

    def remind(self, *, milestone_id: UUID, due: datetime, now: datetime | None = None) -> Reminder:
        """Notify the assignees of a milestone overdue since ``due`` (once per milestone and
        due date): "not-due" before then, "moot" when it is gone, completed, cancelled,
        unassigned or due on another day by now."""
        now = now or datetime.now(UTC)
        if now < due:
            return Reminder("not-due", due)
        try:
            milestone = self.store.load(Milestone, milestone_id)
        except NotFound:
            return Reminder("moot")
        if milestone.deleted or milestone.status in CLOSED or not milestone.assignee_ids:
            return Reminder("moot")
        zone = zone_name(self._settings(milestone.workspace_id))
        if overdue_at(milestone.due_date, zone) != due:
            return Reminder("moot")
        data = {
            "milestone_id": str(milestone_id),
            "project_id": str(milestone.project_id),
            "workspace_id": str(milestone.workspace_id),
            "due_date": milestone.due_date.isoformat(),
        }
        title = f"Milestone “{milestone.title}” is overdue"
        message = f"It was due on {milestone.due_date.isoformat()}"
        source = f"overdue:{KIND}:{milestone_id}:{milestone.due_date.isoformat()}"
        sent = False
        for user_id in milestone.assignee_ids:
            notice = Notice(user_id, "milestone_overdue", title, message, data)
            sent = bool(self.notifications.deliver(notice=notice, source=source).position) or sent
        return Reminder("sent" if sent else "moot")
