"""Who may act where: the caller's role in a workspace, from the write model (consistent),
checked against the one policy in application.authorization."""

from __future__ import annotations

from uuid import UUID

from application.adapters.store import EventStore
from application.authorization import Action, authorize
from application.errors import Forbidden, NotFound
from domain.projects import Project
from domain.workspaces import Workspace


def role_in(store: EventStore, workspace_id: UUID, user_id: UUID) -> str | None:
    try:
        workspace = store.load(Workspace, workspace_id, copy=False)
    except NotFound:
        return None
    return workspace.role_of(user_id)


def require(store: EventStore, workspace_id: UUID, user_id: UUID, action: Action, what: str) -> str:
    """The caller's role, or NotFound (outsider) / Forbidden (role lacks the action)."""
    role = role_in(store, workspace_id, user_id)
    try:
        authorize(role, action, what=what)
    except Forbidden as denied:
        denied.workspace_id = workspace_id  # for the security log, not the answer
        raise
    assert role is not None
    return role


def live_project(store: EventStore, project_id: UUID, user_id: UUID, action: Action) -> Project:
    """A project the caller may act on, or NotFound/Forbidden."""
    project = store.load(Project, project_id, "project")
    if project.deleted:
        raise NotFound("project not found")
    require(store, project.workspace_id, user_id, action, "project")
    return project
