"""Authorization matrix rows for the tasks endpoints (see tests/support/authz.py), and helpers that
make a project (through the projects API when it is there, else by saving the aggregate)."""

from __future__ import annotations

import uuid
from typing import Any

from domain.projects import Project
from tests.support.authz import Case, World, expect

PROJECT_TASKS = "/api/v1/projects/{project_id}/tasks"
TASK = "/api/v1/tasks/{task_id}"


def make_project(client: Any, owner: dict, workspace_id: str, name: str = "P") -> str:
    """A project in the workspace, owned by ``owner``; returns its id."""
    response = client.post(
        "/api/v1/projects",
        json={"workspace_id": workspace_id, "name": name},
        headers=owner["headers"],
    )
    if response.status_code in (200, 201, 202):
        return response.json()["id"]
    owner_id = uuid.UUID(owner["user"]["id"])
    project = Project(
        workspace_id=uuid.UUID(workspace_id),
        name=name,
        description=None,
        status="active",
        priority="medium",
        start_date=None,
        end_date=None,
        budget=None,
        owner_id=owner_id,
        settings={},
        actor_id=owner_id,
    )
    client.app.state.container.store.save(project)
    return str(project.id)


def project_of(world: World) -> str:
    return world.ensure(
        "project", lambda w: make_project(w.client, w.owner, w.workspace["id"], "Matrix")
    )


def task_of(world: World) -> str:
    return world.ensure(
        "task",
        lambda w: w.post(f"/api/v1/projects/{project_of(w)}/tasks", {"title": "Matrix task"})["id"],
    )


CASES: list[Case] = [
    Case(
        "GET",
        PROJECT_TASKS,
        expect(200, 200, 200, 200, 404),
        path=lambda w: f"/api/v1/projects/{project_of(w)}/tasks",
    ),
    Case(
        "POST",
        PROJECT_TASKS,
        expect(201, 201, 201, 403, 404),
        path=lambda w: f"/api/v1/projects/{project_of(w)}/tasks",
        body=lambda w, r: {"title": "New task"},
    ),
    Case(
        "GET",
        TASK,
        expect(200, 200, 200, 200, 404),
        path=lambda w: f"/api/v1/tasks/{task_of(w)}",
    ),
    Case(
        "PUT",
        TASK,
        expect(200, 200, 200, 403, 404),
        path=lambda w: f"/api/v1/tasks/{task_of(w)}",
        body=lambda w, r: {"title": "Renamed", "status": "in_progress"},
    ),
    Case(
        "DELETE",
        TASK,
        expect(204, 204, 204, 403, 404),
        path=lambda w: f"/api/v1/tasks/{task_of(w)}",
    ),
]
