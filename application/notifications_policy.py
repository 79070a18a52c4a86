"""The notifications policy: delivers each triggering event's notices
(application/notifications_triggers.py) to the recipients' inboxes in the transaction of its
position; the notification's id is derived from the event and the recipient, so nothing is
ever delivered twice.

E-mail: a notification of a type the user wants by e-mail goes out at once (digest
``immediate``) as an outbox "mail" row, or in the hourly/daily digest
(``send_digest``, run by interfaces/jobs/notifications.py); each e-mail carries an
unsubscribe link. Due dates: setting one queues (outbox "notification_due") a reminder job
for 24 h before it, which calls ``remind_due``; a milestone's queues one for the moment it
becomes overdue (``application.notifications_overdue``).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from application.errors import NotFound
from application.mail import LinkTokens
from application.notifications_triggers import (
    DUE_DATES,
    TRIGGERS,
    due_date_of,
    item,
    load_live,
    notices_for,
)
from domain.identity import User
from domain.milestones import Milestone
from domain.milestones_schedule import overdue_at
from domain.notifications import Inbox
from domain.resources_capacity import zone_name
from domain.workspaces import Workspace
from projections.base import handles
from projections.policy import Loader, Policy, PolicyContext


class NotificationsPolicy(Policy):
    """Delivers each triggering event's notices to the recipients' inboxes, mails what is
    wanted at once, mails digests, and queues due-date reminders."""

    name = "notifications_policy"  # the projection is "notifications"

    def __init__(self, loader: Loader, links: LinkTokens, app_url: str) -> None:
        super().__init__(loader)
        self.links = links
        self.app_url = app_url

    def unsubscribe_url(self, user_id: UUID) -> str:
        token = self.links.token("unsubscribe", user_id)
        return f"{self.app_url}/api/v1/notifications/unsubscribe/{token}?user_id={user_id}"

    def _recipient(self, ctx: PolicyContext, user_id: UUID) -> User | None:
        user = load_live(ctx, User, user_id)
        return user if user is not None and user.is_active else None

    def _inbox(self, ctx: PolicyContext, user_id: UUID) -> Inbox:
        try:
            return ctx.load(Inbox, Inbox.id_for(user_id))
        except NotFound:
            return Inbox(user_id=user_id)

    @handles(*TRIGGERS)
    def notify(self, ctx: PolicyContext, e: Any) -> None:
        source = f"{e.originator_id}:{e.originator_version}"
        for notice in notices_for(ctx, e):
            user = self._recipient(ctx, notice.recipient)
            if user is None:
                continue
            inbox = self._inbox(ctx, notice.recipient)
            inbox.deliver([item(notice, source)])
            ctx.save(inbox)

    @handles(Inbox.Notified)
    def mail_at_once(self, ctx: PolicyContext, e: Any) -> None:
        """Whatever reached an inbox (from this policy or a job) marked ``immediate`` (the
        user's preferences when it arrived), mailed one by one."""
        wanted = [i for i in e.items if i.get("immediate")]
        user = self._recipient(ctx, e.user_id) if wanted else None
        if user is None:
            return
        for fresh in wanted:
            ctx.outbox(
                "mail",
                {
                    "to": user.email,
                    "template": "notification",
                    "context": {
                        "title": fresh["title"],
                        "message": fresh["message"] or "",
                        "app_url": self.app_url,
                        "unsubscribe_url": self.unsubscribe_url(user.id),
                    },
                },
            )

    @handles(Inbox.DigestSent)
    def digest(self, ctx: PolicyContext, e: Any) -> None:
        user = self._recipient(ctx, e.user_id)
        if user is None or not e.items:
            return
        lines = "\n".join(
            f"- {i['title']}" + (f"\n  {i['message']}" if i.get("message") else "") for i in e.items
        )
        ctx.outbox(
            "mail",
            {
                "to": user.email,
                "template": "notification_digest",
                "context": {
                    "count": str(len(e.items)),
                    "lines": lines,
                    "app_url": self.app_url,
                    "unsubscribe_url": self.unsubscribe_url(user.id),
                },
            },
        )

    @handles(*DUE_DATES)  # declared after notify: Card.Created and Task.Created come here
    def item_changed(self, ctx: PolicyContext, e: Any) -> None:
        if type(e) in TRIGGERS:  # a created card or task may also be assigned
            self.notify(ctx, e)
        due = due_date_of(e)
        if due is None:
            return
        kind = DUE_DATES[type(e)]
        at = due.isoformat()
        ctx.outbox(
            "notification_due",
            {"kind": kind, "id": str(e.originator_id), "due": at},
            key=f"notifications:due:{kind}:{e.originator_id}:{at}",
        )

    @handles(Milestone.Created, Milestone.Updated)
    def milestone_due(self, ctx: PolicyContext, e: Any) -> None:
        """A milestone's due date: check it once that day has ended in the workspace's time
        zone (kind "milestone": ``due`` is when it becomes overdue)."""
        changes = getattr(e, "changes", None)
        due_date = changes.get("due_date") if changes is not None else e.due_date
        if due_date is None:
            return
        workspace = load_live(ctx, Workspace, e.workspace_id)
        at = overdue_at(due_date, zone_name(workspace.settings if workspace else None)).isoformat()
        ctx.outbox(
            "notification_due",
            {"kind": "milestone", "id": str(e.originator_id), "due": at},
            key=f"notifications:due:milestone:{e.originator_id}:{at}",
        )
