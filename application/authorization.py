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
    MEMBERS_MANAGE = "members:manage"
    MEMBERS_INVITE = "members:invite"
    PROJECT_READ = "project:read"
    PROJECT_WRITE = "project:write"  # create, update, change status, manage project members
    PROJECT_DELETE = "project:delete"
    BOARD_READ = "board:read"
    BOARD_WRITE = "board:write"  # boards, columns, cards, moves
    TASK_READ = "task:read"
    TASK_WRITE = "task:write"
    COMMENT_READ = "comment:read"
    COMMENT_WRITE = "comment:write"  # post, react; editing is the author's alone
    COMMENT_MODERATE = "comment:moderate"  # delete someone else's comment
    ACTIVITY_READ = "activity:read"
    TIME_READ = "time:read"  # one's own time entries and reports
    TIME_TRACK = "time:track"  # timers and one's own entries
    TIME_MANAGE = "time:manage"  # everyone's entries in the workspace: read, edit, delete
    RESOURCE_READ = "resource:read"  # team members, allocations, conflicts, utilization
    RESOURCE_MANAGE = "resource:manage"  # change them, resolve conflicts, optimize


POLICY: dict[Action, frozenset[str]] = {
    Action.WORKSPACE_READ: ALL_ROLES,
    Action.WORKSPACE_UPDATE: MANAGERS,
    Action.WORKSPACE_DELETE: frozenset({"owner"}),
    Action.MEMBERS_MANAGE: MANAGERS,
    Action.MEMBERS_INVITE: MANAGERS,
    Action.PROJECT_READ: ALL_ROLES,
    Action.PROJECT_WRITE: WRITERS,
    Action.PROJECT_DELETE: MANAGERS,
    Action.BOARD_READ: ALL_ROLES,
    Action.BOARD_WRITE: WRITERS,
    Action.TASK_READ: ALL_ROLES,
    Action.TASK_WRITE: WRITERS,
    Action.COMMENT_READ: ALL_ROLES,
    Action.COMMENT_WRITE: WRITERS,
    Action.COMMENT_MODERATE: MANAGERS,
    Action.ACTIVITY_READ: ALL_ROLES,
    Action.TIME_READ: ALL_ROLES,
    Action.TIME_TRACK: WRITERS,
    Action.TIME_MANAGE: MANAGERS,
    Action.RESOURCE_READ: ALL_ROLES,
    Action.RESOURCE_MANAGE: MANAGERS,
}


def allowed(role: str | None, action: Action) -> bool:
    return role is not None and role in POLICY[action]


def authorize(role: str | None, action: Action, *, what: str = "resource") -> None:
    """Raise NotFound for outsiders, Forbidden for members whose role lacks the action."""
    if role is None:
        raise NotFound(f"{what} not found")
    if role not in POLICY[action]:
        raise Forbidden(f"your role '{role}' may not {action.value.replace(':', ' ')}")
