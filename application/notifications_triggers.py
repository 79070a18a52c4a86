"""Notifications: who hears of what. ``TRIGGERS`` maps an event class to a rule
``(ctx, event) -> [Notice]``: the people the event concerns, with a type, title, message and
``data`` (ids to link to); ``notices_for`` drops the actor (nobody is notified of what they
did) and keeps one notice per recipient (the first: rules list the most specific first, a
mention before a reply before a comment). A context adds its rows here
(``Milestone.Completed`` -> the assignees, ``Workload.ConflictDetected`` -> the person).

Titles and messages name no person (the log keeps no personal data outside identity's
encrypted fields): ``data.actor_id`` says who, for the client to render. The policy that
delivers them is application/notifications_policy.py; the inbox's use cases are
application/notifications.py.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from application.errors import NotFound
from domain.comments import Comment
from domain.identity import EmailIndex, normalize_email
from domain.kanban import Card
from domain.milestones import Milestone
from domain.notifications import notification_id
from domain.projects import Project
from domain.resources import Workload
from domain.tasks import Task
from domain.webhooks import WebhookEndpoint
from domain.workspaces import Workspace
from projections.base import actor_of
from projections.policy import PolicyContext

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


def ids_of(**values: Any) -> dict[str, Any]:
    return {k: str(v) for k, v in values.items() if v is not None}


def load_live(ctx: PolicyContext, cls: type, aggregate_id: UUID | None) -> Any:
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
    card = load_live(ctx, Card, e.originator_id)
    title = card.title if card else getattr(e, "title", "a card")
    data = ids_of(
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
    task = load_live(ctx, Task, e.originator_id)
    title = task.title if task else getattr(e, "title", "a task")
    data = ids_of(
        task_id=e.originator_id,
        project_id=e.project_id,
        workspace_id=e.workspace_id,
        actor_id=actor_of(e),
    )
    return [Notice(e.assignee_id, "assigned", f"You were assigned the task “{title}”", None, data)]


def workspace_member_added(ctx: PolicyContext, e: Any) -> list[Notice]:
    workspace = load_live(ctx, Workspace, e.originator_id)
    name = workspace.name if workspace else "a workspace"
    data = ids_of(workspace_id=e.originator_id, actor_id=e.actor_id, role=e.role)
    return [
        Notice(
            e.user_id, "workspace_added", f"You were added to the workspace “{name}”", None, data
        )
    ]


def project_member_added(ctx: PolicyContext, e: Any) -> list[Notice]:
    project = load_live(ctx, Project, e.originator_id)
    name = project.name if project else "a project"
    data = ids_of(project_id=e.originator_id, workspace_id=e.workspace_id, actor_id=e.actor_id)
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
            index = load_live(ctx, EmailIndex, EmailIndex.id_for(normalize_email(word)))
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
    target = load_live(ctx, Card if kind == "card" else Task, e.commentable_id)
    if kind == "project":
        target = load_live(ctx, Project, e.commentable_id)
    name = getattr(target, "title", None) or getattr(target, "name", None) or f"a {kind}"
    data = ids_of(
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
    workspace = load_live(ctx, Workspace, e.workspace_id)
    if workspace is not None:
        for user_id in mentioned(ctx, workspace, e.content):
            notices.append(
                Notice(user_id, "mention", f"You were mentioned on “{name}”", message, data)
            )
    parent = load_live(ctx, Comment, e.parent_comment_id)
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
    data = ids_of(
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
    milestone = load_live(ctx, Milestone, e.originator_id)
    if milestone is None:
        return []
    data = ids_of(
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
    workspace = load_live(ctx, Workspace, e.workspace_id)
    if workspace is None:
        return []
    data = ids_of(webhook_id=e.originator_id, workspace_id=e.workspace_id)
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


def due_date_of(event: Any) -> datetime | None:
    changes = getattr(event, "changes", None)
    if changes is not None:
        return changes.get("due_date")
    return getattr(event, "due_date", None)
