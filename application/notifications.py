"""Notifications: who hears of what (the trigger table), the notifications policy that
delivers them from the log, and the use cases of a user's inbox.

``TRIGGERS`` maps an event class to a rule ``(ctx, event) -> [Notice]``: the people the
event concerns, with a type, title, message and ``data`` (ids to link to). The policy runs
the event's rule, drops the actor (nobody is notified of what they did), keeps one notice per
recipient (the first: rules list the most specific first, a mention before a reply before a
comment), and delivers each to the recipient's Inbox in the transaction of its position; the
notification's id is derived from the event and the recipient, so nothing is ever delivered
twice. A context adds its rows here (``Milestone.Completed`` -> the assignees,
``Workload.ConflictDetected`` -> the person).

Titles and messages name no person (the log keeps no personal data outside identity's
encrypted fields): ``data.actor_id`` says who, for the client to render.

E-mail: a notification of a type the user wants by e-mail goes out at once (digest
``immediate``) as an outbox "mail" row, or in the hourly/daily digest
(``send_digest``, run by interfaces/jobs/notifications.py); each e-mail carries an
unsubscribe link. Due dates: setting one queues (outbox "notification_due") a reminder job
for 24 h before it, which calls ``remind_due``; a milestone's queues one for the moment it
becomes overdue (``application.notifications_overdue``).
"""

from __future__ import annotations

import hmac
import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from application.adapters.store import EventStore, Saved
from application.errors import NotFound
from application.mail import LinkTokens
from domain.comments import Comment
from domain.identity import EmailIndex, User, normalize_email
from domain.kanban import Board, Card
from domain.milestones import Milestone
from domain.milestones_schedule import overdue_at
from domain.notifications import Inbox, notification_id
from domain.projects import Project
from domain.resources import Workload
from domain.resources_capacity import zone_name
from domain.tasks import Task
from domain.webhooks import WebhookEndpoint
from domain.workspaces import Workspace
from projections.base import actor_of, handles
from projections.policy import Loader, Policy, PolicyContext

DUE_SOON = timedelta(hours=24)
EXCERPT = 200
TAGS = re.compile(r"<[^>]+>")
# @ann or @ann@example.com, not inside a word (an address's own @ is not a mention)
MENTION = re.compile(r"(?<![\w.@])@([A-Za-z0-9._%+-]+(?:@[A-Za-z0-9.-]+\.[A-Za-z]{2,})?)")
CLOSED_TASK = ("done", "cancelled")
MAIL_TEMPLATES = ("notification", "notification_digest")


@dataclass(frozen=True)
class Notice:
    """One notification a rule decides on, before it is given its id."""

    recipient: UUID
    type: str
    title: str
    message: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


Rule = Callable[[PolicyContext, Any], list[Notice]]


def plain_text(content: str, limit: int = EXCERPT) -> str:
    text = " ".join(html.unescape(TAGS.sub(" ", content)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ids(**values: Any) -> dict[str, Any]:
    return {k: str(v) for k, v in values.items() if v is not None}


def _load(ctx: PolicyContext, cls: type, aggregate_id: UUID | None) -> Any:
    if aggregate_id is None:
        return None
    try:
        found = ctx.load(cls, aggregate_id)
    except NotFound:
        return None
    return None if getattr(found, "deleted", False) else found


# The rules -------------------------------------------------------------------------------


def card_assigned(ctx: PolicyContext, e: Any) -> list[Notice]:
    if e.assignee_id is None:
        return []
    card = _load(ctx, Card, e.originator_id)
    title = card.title if card else getattr(e, "title", "a card")
    data = _ids(
        card_id=e.originator_id,
        board_id=e.board_id,
        project_id=e.project_id,
        workspace_id=e.workspace_id,
        actor_id=actor_of(e),
    )
    return [Notice(e.assignee_id, "assigned", f"You were assigned the card “{title}”", None, data)]


def task_assigned(ctx: PolicyContext, e: Any) -> list[Notice]:
    if e.assignee_id is None:
        return []
    task = _load(ctx, Task, e.originator_id)
    title = task.title if task else getattr(e, "title", "a task")
    data = _ids(
        task_id=e.originator_id,
        project_id=e.project_id,
        workspace_id=e.workspace_id,
        actor_id=actor_of(e),
    )
    return [Notice(e.assignee_id, "assigned", f"You were assigned the task “{title}”", None, data)]


def workspace_member_added(ctx: PolicyContext, e: Any) -> list[Notice]:
    workspace = _load(ctx, Workspace, e.originator_id)
    name = workspace.name if workspace else "a workspace"
    data = _ids(workspace_id=e.originator_id, actor_id=e.actor_id, role=e.role)
    return [
        Notice(
            e.user_id, "workspace_added", f"You were added to the workspace “{name}”", None, data
        )
    ]


def project_member_added(ctx: PolicyContext, e: Any) -> list[Notice]:
    project = _load(ctx, Project, e.originator_id)
    name = project.name if project else "a project"
    data = _ids(project_id=e.originator_id, workspace_id=e.workspace_id, actor_id=e.actor_id)
    return [
        Notice(e.user_id, "project_added", f"You were added to the project “{name}”", None, data)
    ]


def mentioned(ctx: PolicyContext, workspace: Workspace, content: str) -> list[UUID]:
    """Members named in ``content`` by e-mail (@ann@example.com) or handle (@ann: the local
    part of a member's e-mail, when exactly one member has it), in order of mention."""
    words = [w.rstrip(".") for w in MENTION.findall(plain_text(content, 10**6))]
    if not words:
        return []
    found: list[UUID] = []
    handles_wanted = {w.lower() for w in words if "@" not in w}
    by_handle: dict[str, list[UUID]] = {}
    if handles_wanted:
        members = [str(u) for u in workspace.members]
        ctx.cur.execute(
            "SELECT id, lower(split_part(email, '@', 1)) FROM users"
            " WHERE id = ANY(%s::uuid[]) AND deleted_at IS NULL",
            (members,),
        )
        for user_id, handle in ctx.cur.fetchall():
            by_handle.setdefault(handle, []).append(user_id)
    for word in words:
        if "@" in word:
            index = _load(ctx, EmailIndex, EmailIndex.id_for(normalize_email(word)))
            user_id = getattr(index, "user_id", None) if index else None
            candidates = [user_id] if user_id is not None else []
        else:
            candidates = by_handle.get(word.lower(), [])
        if len(candidates) == 1 and candidates[0] in workspace.members:
            found.append(candidates[0])
    return found


def comment_created(ctx: PolicyContext, e: Any) -> list[Notice]:
    """Mentions, then the parent comment's author, then the card's or task's creator and
    assignee."""
    kind = e.commentable_type
    target = _load(ctx, Card if kind == "card" else Task, e.commentable_id)
    if kind == "project":
        target = _load(ctx, Project, e.commentable_id)
    name = getattr(target, "title", None) or getattr(target, "name", None) or f"a {kind}"
    data = _ids(
        comment_id=e.originator_id,
        commentable_type=kind,
        commentable_id=e.commentable_id,
        project_id=e.project_id,
        workspace_id=e.workspace_id,
        parent_comment_id=e.parent_comment_id,
        actor_id=e.actor_id,
    )
    message = plain_text(e.content)
    notices: list[Notice] = []
    workspace = _load(ctx, Workspace, e.workspace_id)
    if workspace is not None:
        for user_id in mentioned(ctx, workspace, e.content):
            notices.append(
                Notice(user_id, "mention", f"You were mentioned on “{name}”", message, data)
            )
    parent = _load(ctx, Comment, e.parent_comment_id)
    if parent is not None:
        notices.append(
            Notice(parent.author_id, "reply", f"A reply to your comment on “{name}”", message, data)
        )
    if kind in ("card", "task") and target is not None:
        for user_id in (getattr(target, "created_by", None), target.assignee_id):
            if user_id is not None:
                notices.append(
                    Notice(user_id, "comment", f"A new comment on “{name}”", message, data)
                )
    return notices


def resource_conflict(ctx: PolicyContext, e: Any) -> list[Notice]:
    """The resources policy found the person over-allocated (a policy's event: no actor)."""
    data = _ids(
        conflict_id=e.conflict_id,
        workspace_id=e.workspace_id,
        start_date=e.start_date.isoformat(),
        end_date=e.end_date.isoformat(),
    )
    title = f"You are over-allocated from {e.start_date} to {e.end_date}"
    message = f"{e.over_hours} hours a week over your capacity (+{e.percentage} %)"
    return [Notice(e.user_id, "resource_conflict", title, message, data)]


def milestone_completed(ctx: PolicyContext, e: Any) -> list[Notice]:
    """A milestone you are assigned to was completed (by someone else)."""
    milestone = _load(ctx, Milestone, e.originator_id)
    if milestone is None:
        return []
    data = _ids(
        milestone_id=e.originator_id,
        project_id=e.project_id,
        workspace_id=e.workspace_id,
        actor_id=e.actor_id,
    )
    title = f"Milestone “{milestone.title}” was completed"
    message = "completed with dependencies still open" if e.forced else "completed"
    return [
        Notice(user_id, "milestone_completed", title, message, data)
        for user_id in milestone.assignee_ids
    ]


def webhook_disabled(ctx: PolicyContext, e: Any) -> list[Notice]:
    """An endpoint failed for a day and was disabled: the workspace's owners and admins."""
    workspace = _load(ctx, Workspace, e.workspace_id)
    if workspace is None:
        return []
    data = _ids(webhook_id=e.originator_id, workspace_id=e.workspace_id)
    title = "A webhook endpoint was disabled after failing for a day"
    return [
        Notice(user_id, "webhook_disabled", title, e.reason, data)
        for user_id, role in workspace.members.items()
        if role in ("owner", "admin")
    ]


TRIGGERS: dict[type, Rule] = {
    Card.Created: card_assigned,
    Card.Assigned: card_assigned,
    Task.Created: task_assigned,
    Task.Assigned: task_assigned,
    Comment.Created: comment_created,
    Workspace.MemberAdded: workspace_member_added,
    Project.MemberAdded: project_member_added,
    Workload.ConflictDetected: resource_conflict,
    Milestone.Completed: milestone_completed,
    WebhookEndpoint.Disabled: webhook_disabled,
    # "milestone_overdue": a due date schedules a check (application/notifications_overdue.py)
}

# Events that set a due date: a reminder is queued for 24 h before it.
DUE_DATES: dict[type, str] = {
    Card.Created: "card",
    Card.Updated: "card",
    Task.Created: "task",
    Task.Updated: "task",
}


def notices_for(ctx: PolicyContext, event: Any) -> list[Notice]:
    """The event's notices, without the actor's, one per recipient (the first)."""
    rule = TRIGGERS.get(type(event))
    if rule is None:
        return []
    actor = actor_of(event)
    chosen: dict[UUID, Notice] = {}
    for notice in rule(ctx, event):
        if notice.recipient != actor and notice.recipient not in chosen:
            chosen[notice.recipient] = notice
    return list(chosen.values())


def item(notice: Notice, source: str) -> dict[str, Any]:
    return {
        "id": str(notification_id(source, notice.recipient)),
        "type": notice.type,
        "title": notice.title[:255],
        "message": notice.message,
        "data": notice.data,
    }


def _due_date_of(event: Any) -> datetime | None:
    changes = getattr(event, "changes", None)
    if changes is not None:
        return changes.get("due_date")
    return getattr(event, "due_date", None)


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
        user = _load(ctx, User, user_id)
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
        due = _due_date_of(e)
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
        workspace = _load(ctx, Workspace, e.workspace_id)
        at = overdue_at(due_date, zone_name(workspace.settings if workspace else None)).isoformat()
        ctx.outbox(
            "notification_due",
            {"kind": "milestone", "id": str(e.originator_id), "due": at},
            key=f"notifications:due:milestone:{e.originator_id}:{at}",
        )


# Use cases ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reminder:
    status: str  # "sent", "not-due" (come back at ``due``), "moot" (nothing to remind of)
    due: datetime | None = None


class NotificationsService:
    def __init__(self, store: EventStore, links: LinkTokens | None = None) -> None:
        self.store = store
        self.links = links

    def _inbox(self, user_id: UUID, *, create: bool = False) -> Inbox:
        try:
            return self.store.load(Inbox, Inbox.id_for(user_id), "notification")
        except NotFound:
            if not create:
                raise
            return Inbox(user_id=user_id)

    def _change(self, user_id: UUID, change: Callable[[Inbox], Any], create: bool = False) -> Saved:
        def command() -> tuple[Any, list[Inbox]]:
            inbox = self._inbox(user_id, create=create)
            return change(inbox), [inbox]

        return self.store.run(command)

    def deliver(self, *, notice: Notice, source: str) -> Saved:
        """Deliver one notice (its id derived from ``source`` and the recipient: at most once);
        ``position`` is None when it was delivered before."""
        return self._change(
            notice.recipient, lambda inbox: inbox.deliver([item(notice, source)]), create=True
        )

    def mark_read(self, *, user_id: UUID, notification_id: UUID) -> Saved:
        return self._change(user_id, lambda inbox: inbox.mark_read(notification_id))

    def mark_all_read(self, *, user_id: UUID) -> Saved:
        """Marks every unread notification read; ``value`` is how many."""
        try:
            return self._change(user_id, lambda inbox: inbox.mark_all_read())
        except NotFound:
            return Saved(position=None, value=0)

    def delete(self, *, user_id: UUID, notification_id: UUID) -> Saved:
        return self._change(user_id, lambda inbox: inbox.delete(notification_id))

    def set_preferences(
        self,
        *,
        user_id: UUID,
        in_app: dict[str, bool] | None = None,
        email: dict[str, bool] | None = None,
        digest: str | None = None,
    ) -> Saved:
        return self._change(
            user_id,
            lambda inbox: inbox.set_preferences(in_app=in_app, email=email, digest=digest),
            create=True,
        )

    def check_unsubscribe(self, *, user_id: UUID, token: str) -> None:
        """The e-mailed link's token, checked (a wrong one is a 404); nothing changes."""
        if self.links is None or not hmac.compare_digest(
            token, self.links.token("unsubscribe", user_id)
        ):
            raise NotFound("unsubscribe link not found")

    def unsubscribe(self, *, user_id: UUID, token: str) -> Saved:
        """The e-mailed link, confirmed (POST): no more e-mail (digest off)."""
        self.check_unsubscribe(user_id=user_id, token=token)
        return self._change(user_id, lambda inbox: inbox.set_preferences(digest="off"), create=True)

    def send_digest(self, *, user_id: UUID, until: datetime, items: list[dict[str, Any]]) -> Saved:
        """Record the digest of ``items`` (the notifications wanted by e-mail since the last
        one, as the read table has them); the policy mails it. ``value``: how many."""
        return self._change(user_id, lambda inbox: len(inbox.digest(until, items)))

    def export_ready(
        self, *, user_id: UUID, export_id: UUID, workspace_id: UUID, fmt: str
    ) -> Saved:
        """Tell who asked for a workspace export that it is ready (once per export)."""
        data = _ids(export_id=export_id, workspace_id=workspace_id, format=fmt)
        notice = Notice(
            user_id, "export_ready", f"Your {fmt.upper()} workspace export is ready", None, data
        )
        return self._change(
            user_id,
            lambda inbox: inbox.deliver([item(notice, f"export:{export_id}")]),
            create=True,
        )

    def remind_due(
        self, *, kind: str, item_id: UUID, due: datetime, now: datetime | None = None
    ) -> Reminder:
        """Notify the assignee of a card or task due within 24 h, once per item and due date:
        nothing if the item is gone, done, unassigned or has another due date by now."""
        now = now or datetime.now(UTC)
        if now < due - DUE_SOON:
            return Reminder("not-due", due - DUE_SOON)
        try:
            target: Card | Task = self.store.load(Card if kind == "card" else Task, item_id)
        except NotFound:
            return Reminder("moot")
        if target.deleted or target.due_date != due or target.assignee_id is None:
            return Reminder("moot")
        if isinstance(target, Task) and target.status in CLOSED_TASK:
            return Reminder("moot")
        if isinstance(target, Card):
            board = self.store.load(Board, target.board_id)
            column_id, _ = board.position_of(item_id) if str(item_id) in board.cards else ("", 0)
            if board.columns.get(column_id, {}).get("is_done_column"):
                return Reminder("moot")
        if now > due:
            return Reminder("moot")  # it is overdue already: too late for "due soon"
        data = _ids(
            **{f"{kind}_id": item_id},
            project_id=target.project_id,
            workspace_id=target.workspace_id,
            due_date=due.isoformat(),
        )
        notice = Notice(
            target.assignee_id, "due_soon", f"“{target.title}” is due within 24 hours", None, data
        )
        saved = self.deliver(notice=notice, source=f"due:{kind}:{item_id}:{due.isoformat()}")
        return Reminder("sent" if saved.position else "moot")
