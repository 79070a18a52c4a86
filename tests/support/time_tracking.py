"""Helpers for the time tracking tests: a controllable server clock, a user with a project,
and the timer and entry calls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from application.adapters.store import EventStore
from domain.projects import Project
from domain.workspaces import Workspace
from tests.support.kanban import create_project

T0 = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)  # a Monday


class FakeClock:
    """The server's clock, moved by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 0, **delta: float) -> datetime:
        self.now += timedelta(seconds=seconds, **delta)
        return self.now

    def set(self, now: datetime) -> None:
        self.now = now


@dataclass
class Tracker:
    """A signed-in user with a workspace and a project, and the time tracking calls."""

    client: Any
    user: dict
    workspace: dict
    project_id: str

    @property
    def headers(self) -> dict[str, str]:
        return self.user["headers"]

    @property
    def id(self) -> str:
        return self.user["user"]["id"]

    def call(self, method: str, path: str, **kw: Any) -> Any:
        headers = {**self.headers, **kw.pop("headers", {})}
        return self.client.request(method, f"/api/v1{path}", headers=headers, **kw)

    def ok(self, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        response = self.call(method, path, **kw)
        assert response.status_code == status, response.text
        return response.json() if response.content else None

    def settings(self, **fields: Any) -> dict:
        return self.ok("PUT", "/time-tracking/settings", json=fields)

    def start(self, status: int = 201, **body: Any) -> Any:
        body = {"project_id": self.project_id, "description": "work", **body}
        return self.ok("POST", "/time-tracking/start", status, json=body)

    def timer(self, action: str, status: int = 200) -> Any:
        return self.ok("PUT", f"/time-tracking/{action}", status)

    def record(self, start: datetime, end: datetime, status: int = 201, **body: Any) -> Any:
        body = {
            "project_id": self.project_id,
            "description": "manual",
            "start_time": start.isoformat(),
            "end_time": end.isoformat(),
            **body,
        }
        return self.ok("POST", "/time-entries", status, json=body)

    def entry(self, entry_id: str) -> dict:
        return self.ok("GET", f"/time-entries/{entry_id}")


def new_tracker(api: Any, client: Any) -> Tracker:
    user = api.register()
    workspace = api.create_workspace(user)
    return Tracker(client, user, workspace, create_project(client, user, workspace["id"]))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def a_project(store: EventStore) -> tuple[UUID, UUID]:
    """A user owning a workspace with a project (saved as aggregates)."""
    user = uuid4()
    workspace = Workspace(name="W", description=None, settings={}, owner_id=user)
    project = Project(
        workspace_id=workspace.id,
        name="P",
        description=None,
        status="active",
        priority="medium",
        start_date=None,
        end_date=None,
        budget=None,
        owner_id=user,
        settings={},
        actor_id=user,
    )
    store.save(workspace, project)
    return user, project.id
