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


POLICY: dict[Action, frozenset[str]] = {
    Action.WORKSPACE_READ: ALL_ROLES,
    Action.WORKSPACE_UPDATE: MANAGERS,
    Action.WORKSPACE_DELETE: frozenset({"owner"}),
    Action.MEMBERS_MANAGE: MANAGERS,
    Action.MEMBERS_INVITE: MANAGERS,
}


def allowed(role: str | None, action: Action) -> bool:
    return role is not None and role in POLICY[action]


def authorize(role: str | None, action: Action, *, what: str = "resource") -> None:
    """Raise NotFound for outsiders, Forbidden for members whose role lacks the action."""
    if role is None:
        raise NotFound(f"{what} not found")
    if role not in POLICY[action]:
        raise Forbidden(f"your role '{role}' may not {action.value.replace(':', ' ')}")
