"""One authorization policy (role x action) for every interface: HTTP, Socket.IO and jobs.

A caller with no role in the workspace gets NotFound, never Forbidden: resources outside the
caller's workspaces do not exist for them. Finer rules that depend on the target (only an
owner may touch the owner role, the last owner stays) live in the Workspace aggregate.
"""

from __future__ import annotations

from enum import StrEnum

from application.errors import Forbidden, NotFound

ALL_ROLES = frozenset({"owner", "admin", "member", "viewer"})
MANAGERS = frozenset({"owner", "admin"})
WRITERS = frozenset({"owner", "admin", "member"})


class Action(StrEnum):
    WORKSPACE_READ = "workspace:read"
    WORKSPACE_UPDATE = "workspace:update"
    WORKSPACE_DELETE = "workspace:delete"
    WORKSPACE_MEMBERS_MANAGE = "workspace:members:manage"
    WORKSPACE_MEMBERS_INVITE = "workspace:members:invite"
    WORKSPACE_EXPORT = "workspace:export"  # the workspace export (application/exports.py)
    WORKSPACE_IMPORT = "workspace:import"  # imports: Trello boards (application/imports.py)
    PROJECT_READ = "project:read"
    PROJECT_WRITE = "project:write"  # create, update, change status, manage project members
    PROJECT_DELETE = "project:delete"
    KANBAN_READ = "kanban:read"
    KANBAN_WRITE = "kanban:write"  # boards, columns, cards, moves
    TASK_READ = "task:read"
    TASK_WRITE = "task:write"
    COMMENT_READ = "comment:read"
    COMMENT_WRITE = "comment:write"  # post, react; editing is the author's alone
    COMMENT_MODERATE = "comment:moderate"  # delete someone else's comment
    ACTIVITY_READ = "activity:read"
    TIME_TRACKING_READ = "time_tracking:read"  # one's own time entries and reports
    TIME_TRACKING_TRACK = "time_tracking:track"  # timers and one's own entries
    TIME_TRACKING_MANAGE = (
        "time_tracking:manage"  # everyone's entries in the workspace: read, edit, delete
    )
    FILE_READ = "file:read"  # a file of the workspace: metadata and bytes
    FILE_WRITE = "file:write"  # upload, delete one's own uploads
    FILE_MANAGE = "file:manage"  # delete anyone's file
    RESOURCES_READ = "resources:read"  # team members, allocations, conflicts, utilization
    RESOURCES_MANAGE = "resources:manage"  # change them, resolve conflicts, optimize
    MILESTONE_READ = "milestone:read"  # milestones, deliverables, templates, reports
    MILESTONE_WRITE = "milestone:write"  # create, update; deliverables; templates; apply one
    MILESTONE_DELETE = "milestone:delete"  # a milestone or a template: as a project's content
    TEMPLATE_READ = "template:read"  # a private project template of the workspace; analytics
    TEMPLATE_WRITE = "template:write"  # make one; change one's own
    TEMPLATE_MANAGE = "template:manage"  # change or delete anyone's template of the workspace
    ANALYTICS_READ = "analytics:read"  # dashboards and reports over what the caller may see
    WEBHOOK_READ = "webhook:read"  # endpoints and their delivery logs
    WEBHOOK_MANAGE = "webhook:manage"  # register, change, delete, ping, redeliver


POLICY: dict[Action, frozenset[str]] = {
    Action.WORKSPACE_READ: ALL_ROLES,
    Action.WORKSPACE_UPDATE: MANAGERS,
    Action.WORKSPACE_DELETE: frozenset({"owner"}),
    Action.WORKSPACE_MEMBERS_MANAGE: MANAGERS,
    Action.WORKSPACE_MEMBERS_INVITE: MANAGERS,
    Action.WORKSPACE_EXPORT: MANAGERS,
    Action.WORKSPACE_IMPORT: MANAGERS,
    Action.PROJECT_READ: ALL_ROLES,
    Action.PROJECT_WRITE: WRITERS,
    Action.PROJECT_DELETE: MANAGERS,
    Action.KANBAN_READ: ALL_ROLES,
    Action.KANBAN_WRITE: WRITERS,
    Action.TASK_READ: ALL_ROLES,
    Action.TASK_WRITE: WRITERS,
    Action.COMMENT_READ: ALL_ROLES,
    Action.COMMENT_WRITE: WRITERS,
    Action.COMMENT_MODERATE: MANAGERS,
    Action.ACTIVITY_READ: ALL_ROLES,
    Action.TIME_TRACKING_READ: ALL_ROLES,
    Action.TIME_TRACKING_TRACK: WRITERS,
    Action.TIME_TRACKING_MANAGE: MANAGERS,
    Action.FILE_READ: ALL_ROLES,
    Action.FILE_WRITE: WRITERS,
    Action.FILE_MANAGE: MANAGERS,
    Action.RESOURCES_READ: ALL_ROLES,
    Action.RESOURCES_MANAGE: MANAGERS,
    Action.MILESTONE_READ: ALL_ROLES,
    Action.MILESTONE_WRITE: WRITERS,
    Action.MILESTONE_DELETE: MANAGERS,  # as Action.PROJECT_DELETE
    Action.TEMPLATE_READ: ALL_ROLES,
    Action.TEMPLATE_WRITE: WRITERS,
    Action.TEMPLATE_MANAGE: MANAGERS,
    Action.ANALYTICS_READ: ALL_ROLES,
    Action.WEBHOOK_READ: MANAGERS,  # endpoints hold URLs an admin chose: admins only
    Action.WEBHOOK_MANAGE: MANAGERS,
}


def allowed(role: str | None, action: Action) -> bool:
    return role is not None and role in POLICY[action]


def authorize(role: str | None, action: Action, *, what: str = "resource") -> None:
    """Raise NotFound for outsiders, Forbidden for members whose role lacks the action."""
    if role is None:
        raise NotFound(f"{what} not found")
    if role not in POLICY[action]:
        raise Forbidden(f"your role '{role}' may not {action.value.replace(':', ' ')}")
