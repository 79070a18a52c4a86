"""Which Socket.IO event a domain event becomes, who receives it, and its payload.

One table, keyed by the event's topic (its permanent name in the log). An event whose topic
is not in the table still goes out, under a name derived from its class
(``Milestone.Completed`` -> ``milestone:completed``), so a new context is live at once; add a
row to give it the spec's name. Identity events and the task graph's link bookkeeping are
never sent (personal data; the tasks' own events already say it).

Rooms: every workspace-scoped event goes to ``workspace:<id>``; ``notify`` fields name users
who also get it in ``user:<id>`` (the assignee, the member added or removed). ``revoke``
and ``grant`` change who may follow the workspace from that position on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eventsourcing.utils import get_topic

from application.audit import plain
from projections.activities import (
    NOT_DETAILS,
    SKIPPED_TOPICS,
    describe,
    project_of,
    workspace_of,
)
from projections.base import actor_of

EVERYONE = "*"


@dataclass(frozen=True)
class Name:
    name: str
    resource: str | None = None  # default: the aggregate, e.g. "card"
    id_field: str | None = None  # default: the originator id
    notify: tuple[str, ...] = ()  # user id fields whose users also get it in user:<id>
    revoke: str | None = None  # user id field (or EVERYONE) who may no longer follow it
    grant: str | None = None  # user id field who may follow it again


W, P, B, C, T, M, TE, F, MS = (
    "domain.workspaces:Workspace.",
    "domain.projects:Project.",
    "domain.kanban:Board.",
    "domain.kanban:Card.",
    "domain.tasks:Task.",
    "domain.comments:Comment.",
    "domain.time_tracking:TimeEntry.",
    "domain.files:File.",
    "domain.milestones:Milestone.",
)
TP, TU = "domain.templates:ProjectTemplate.", "domain.templates:TemplateUse."
RA, RM, RW = (
    "domain.resources:Allocation.",
    "domain.resources:TeamMember.",
    "domain.resources:Workload.",
)
CONFLICT = ("conflict", "conflict_id")
DELIVERABLE = ("deliverable", "deliverable_id")
MEMBER = ("user_id",)

EVENT_NAMES: dict[str, Name] = {
    W + "Created": Name("workspace:created", notify=("owner_id",)),
    W + "Updated": Name("workspace:updated"),
    W + "Deleted": Name("workspace:deleted", revoke=EVERYONE),
    W + "MemberAdded": Name("workspace:member:added", notify=MEMBER, grant="user_id"),
    W + "MemberRoleChanged": Name("workspace:member:role_changed", notify=MEMBER),
    W + "MemberRemoved": Name("workspace:member:removed", notify=MEMBER, revoke="user_id"),
    W + "InviteCreated": Name("workspace:invite:created", "invite", "invite_id"),
    W + "InviteAccepted": Name("workspace:invite:accepted", notify=MEMBER, grant="user_id"),
    P + "Created": Name("project:created"),
    P + "Updated": Name("project:updated"),
    P + "StatusChanged": Name("project:status:changed"),
    P + "MemberAdded": Name("project:member:added", notify=MEMBER),
    P + "MemberRemoved": Name("project:member:removed", notify=MEMBER),
    P + "Deleted": Name("project:deleted"),
    B + "Created": Name("kanban:board:created"),
    B + "Updated": Name("kanban:board:updated"),
    B + "Deleted": Name("kanban:board:deleted"),
    B + "ColumnAdded": Name("kanban:column:created", "column", "column_id"),
    B + "ColumnUpdated": Name("kanban:column:updated", "column", "column_id"),
    B + "ColumnMoved": Name("kanban:column:moved", "column", "column_id"),
    B + "ColumnDeleted": Name("kanban:column:deleted", "column", "column_id"),
    B + "CardPlaced": Name("kanban:card:placed", "card", "card_id"),
    B + "CardMoved": Name("kanban:card:moved", "card", "card_id"),
    B + "CardRemoved": Name("kanban:card:removed", "card", "card_id"),
    C + "Created": Name("kanban:card:created", notify=("assignee_id",)),
    C + "Updated": Name("kanban:card:updated"),
    C + "Assigned": Name("kanban:card:assigned", notify=("assignee_id",)),
    C + "Deleted": Name("kanban:card:deleted"),
    T + "Created": Name("task:created", notify=("assignee_id",)),
    T + "Updated": Name("task:updated"),
    T + "StatusChanged": Name("task:status:changed"),
    T + "Assigned": Name("task:assigned", notify=("assignee_id",)),
    T + "ParentChanged": Name("task:parent:changed"),
    T + "DependenciesChanged": Name("task:dependencies:changed"),
    T + "Deleted": Name("task:deleted"),
    # Comments on a card are the spec's kanban:comment:*; on a task or project, comment:*.
    M + "Created": Name("comment:created"),
    M + "Edited": Name("comment:updated"),
    M + "Deleted": Name("comment:deleted"),
    M + "ReactionAdded": Name("comment:reaction:added"),
    M + "ReactionRemoved": Name("comment:reaction:removed"),
    # time_tracking: the spec names its events time:*. Entries also reach their user's own
    # room (the user's TimeTracker is not sent).
    TE + "Started": Name("time:timer:started", notify=MEMBER),
    TE + "Paused": Name("time:timer:paused", notify=MEMBER),
    TE + "Resumed": Name("time:timer:resumed", notify=MEMBER),
    TE + "Stopped": Name("time:timer:stopped", notify=MEMBER),
    TE + "Recorded": Name("time:entry:created", notify=MEMBER),
    TE + "Updated": Name("time:entry:updated", notify=MEMBER),
    TE + "Deleted": Name("time:entry:deleted", notify=MEMBER),
    # Files; attaching to a card is kanban:file:attached (and detached), elsewhere file:*.
    F + "Uploaded": Name("file:uploaded"),
    F + "Deleted": Name("file:deleted"),
    F + "Attached": Name("file:attached", "attachment", "attachment_id"),
    F + "Detached": Name("file:detached", "attachment", "attachment_id"),
    # Resource allocation: the allocated member also hears it in their own room.
    RA + "Created": Name("resource:allocation:created", notify=MEMBER),
    RA + "Updated": Name("resource:allocation:updated", notify=MEMBER),
    RA + "Deleted": Name("resource:allocation:deleted", notify=MEMBER),
    RM + "Created": Name("resource:member:created", "team_member"),
    RM + "Updated": Name("resource:member:updated", "team_member"),
    RW + "ConflictDetected": Name("resource:conflict:detected", *CONFLICT, notify=MEMBER),
    RW + "ConflictChanged": Name("resource:conflict:updated", *CONFLICT, notify=MEMBER),
    RW + "ConflictCleared": Name("resource:conflict:resolved", *CONFLICT, notify=MEMBER),
    RW + "ConflictClosed": Name("resource:conflict:resolved", *CONFLICT, notify=MEMBER),
    RW + "UtilizationUpdated": Name("resource:utilization:updated", "utilization", "user_id"),
    # Milestones: the spec's five, and names of the same shape for the others. A status
    # change other than completion, assignees and dependencies are milestone:updated.
    MS + "Created": Name("milestone:created"),
    MS + "Updated": Name("milestone:updated"),
    MS + "StatusChanged": Name("milestone:updated"),
    MS + "AssigneesChanged": Name("milestone:updated"),
    MS + "DependenciesChanged": Name("milestone:updated"),
    MS + "Completed": Name("milestone:completed"),
    MS + "ProgressUpdated": Name("milestone:progress:updated"),
    MS + "DeliverableAdded": Name("milestone:deliverable:added", *DELIVERABLE),
    MS + "DeliverableUpdated": Name("milestone:deliverable:updated", *DELIVERABLE),
    MS + "DeliverableRemoved": Name("milestone:deliverable:deleted", *DELIVERABLE),
    MS + "Deleted": Name("milestone:deleted"),
    # Project templates (to the template's workspace; a use to the project's workspace).
    TP + "Created": Name("template:created"),
    TP + "Updated": Name("template:updated"),
    TP + "Deleted": Name("template:deleted"),
    TP + "UseCounted": Name("template:usage:updated"),
    TU + "Recorded": Name("template:used", "template", "template_id"),
}


def name_for(event: Any) -> Name:
    entry = EVENT_NAMES.get(get_topic(type(event)))
    if entry is None:
        aggregate, action = describe(event)
        entry = Name(f"{aggregate}:{action.replace('_', ':')}")
    on = getattr(event, "commentable_type", None) or getattr(event, "attachable_type", None)
    if on == "card":
        entry = Name("kanban:" + entry.name, entry.resource, entry.id_field)
    return entry


@dataclass(frozen=True)
class Route:
    """Where one event goes and what it says."""

    name: str
    rooms: frozenset[str]
    payload: dict[str, Any]
    revoke: tuple[str, str] | None = None  # (workspace id, user id or EVERYONE)
    grant: tuple[str, str] | None = None  # (workspace id, user id)


# A person's Workload is opened by their first allocation: bookkeeping, nothing to show.
INTERNAL = ("domain.resources:Workload.Created",)


def skipped(topic: str) -> bool:
    return topic.startswith(SKIPPED_TOPICS) or topic in INTERNAL


def route(event: Any, position: int) -> Route | None:
    """The Socket.IO event for a domain event, or None for events nobody follows."""
    if skipped(get_topic(type(event))):
        return None
    workspace_id = workspace_of(event)
    if workspace_id is None:
        return personal_route(event, position)
    entry = name_for(event)
    workspace = str(workspace_id)
    rooms = {f"workspace:{workspace}"}
    for field in entry.notify:
        user = getattr(event, field, None)
        if user is not None:
            rooms.add(f"user:{user}")
    resource_id = getattr(event, entry.id_field) if entry.id_field else event.originator_id
    payload = {
        "event": entry.name,
        "position": position,
        "resource": {"type": entry.resource or describe(event)[0], "id": str(resource_id)},
        "workspace_id": workspace,
        "project_id": plain(project_of(event)),
        "actor_id": plain(actor_of(event)),
        "at": event.timestamp.isoformat(),
        "version": event.originator_version,
        "data": {k: plain(v) for k, v in vars(event).items() if k not in NOT_DETAILS},
    }

    def who(field: str | None) -> tuple[str, str] | None:
        if field is None:
            return None
        return workspace, EVERYONE if field == EVERYONE else str(getattr(event, field))

    return Route(entry.name, frozenset(rooms), payload, who(entry.revoke), who(entry.grant))


# Personal events: no workspace, only the user's own room (all their open sessions).
# notifications: a user's Inbox. One notification delivered is notification:created,
# several at once notification:batch; one read is notification:read, all of them a batch.
N = "domain.notifications:Inbox."


def _shown(event: Any) -> list[dict[str, Any]]:
    """The delivered notifications shown in the app, as GET /notifications has them."""
    return [
        {
            "id": i["id"],
            "user_id": str(event.user_id),
            "workspace_id": i["data"].get("workspace_id"),
            "type": i["type"],
            "title": i["title"],
            "message": i["message"],
            "data": i["data"],
            "is_read": False,
            "read_at": None,
            "created_at": event.timestamp.isoformat(),
        }
        for i in event.items
        if i.get("in_app", True)
    ]


def _notified(event: Any) -> tuple[str, str | None, dict[str, Any]] | None:
    shown = _shown(event)
    if not shown:
        return None
    if len(shown) == 1:
        return "notification:created", shown[0]["id"], shown[0]
    return "notification:batch", None, {"action": "created", "notifications": shown}


def _read(event: Any) -> tuple[str, str | None, dict[str, Any]]:
    at = event.timestamp.isoformat()
    return "notification:read", event.notification_id, {"id": event.notification_id, "read_at": at}


def _all_read(event: Any) -> tuple[str, str | None, dict[str, Any]]:
    at = event.timestamp.isoformat()
    return (
        "notification:batch",
        None,
        {"action": "read", "ids": event.notification_ids, "read_at": at},
    )


def _deleted(event: Any) -> tuple[str, str | None, dict[str, Any]]:
    return "notification:deleted", event.notification_id, {"id": event.notification_id}


def _preferences(event: Any) -> tuple[str, str | None, dict[str, Any]]:
    return "notification:preferences:updated", None, dict(event.preferences)


PERSONAL_EVENTS: dict[str, Any] = {
    N + "Notified": _notified,
    N + "Read": _read,
    N + "AllRead": _all_read,
    N + "Deleted": _deleted,
    N + "PreferencesChanged": _preferences,
}


def personal_route(event: Any, position: int) -> Route | None:
    """A personal event's route to ``user:<user_id>``, or None (not every event without a
    workspace is personal: only those in PERSONAL_EVENTS are sent)."""
    shape = PERSONAL_EVENTS.get(get_topic(type(event)))
    routed = shape(event) if shape else None
    if routed is None:
        return None
    name, resource_id, data = routed
    payload = {
        "event": name,
        "position": position,
        "resource": {"type": "notification", "id": resource_id},
        "workspace_id": None,
        "project_id": None,
        "actor_id": str(event.user_id),
        "at": event.timestamp.isoformat(),
        "version": event.originator_version,
        "data": data,
    }
    return Route(name, frozenset({f"user:{event.user_id}"}), payload)
