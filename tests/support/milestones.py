"""Helpers for the milestones tests: a workspace with a project, milestones and tasks made
through the API, and waiting for what the milestones policy decides."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.support.api import Api


class Planner:
    """A signed-in owner with a workspace and a project, making milestones and tasks."""

    def __init__(self, api: Api, **project: Any) -> None:
        self.api = api
        self.client: TestClient = api.client
        self.owner = api.register(name="Owner")
        self.headers = self.owner["headers"]
        self.workspace = api.create_workspace(self.owner, name="Plans")
        self.project = self.new_project(**project)

    def new_project(self, **fields: Any) -> dict:
        body = {"workspace_id": self.workspace["id"], "name": "Launch", **fields}
        return self.ok(self.client.post("/api/v1/projects", json=body, headers=self.headers))

    def ok(self, response: Any, status: int | None = None) -> Any:
        assert response.status_code in ((status,) if status else (200, 201)), response.text
        return response.json() if response.content else None

    def milestone(self, project: dict | None = None, **fields: Any) -> dict:
        project_id = (project or self.project)["id"]
        body = {"title": "M", "due_date": "2030-01-31", **fields}
        return self.ok(
            self.client.post(
                f"/api/v1/projects/{project_id}/milestones", json=body, headers=self.headers
            ),
            201,
        )

    def task(self, project: dict | None = None, **fields: Any) -> dict:
        project_id = (project or self.project)["id"]
        body = {"title": "T", **fields}
        return self.ok(
            self.client.post(
                f"/api/v1/projects/{project_id}/tasks", json=body, headers=self.headers
            ),
            201,
        )

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(f"/api/v1{path}", headers=self.headers, **kw)

    def put(self, path: str, body: dict, **headers: str) -> Any:
        return self.client.put(f"/api/v1{path}", json=body, headers={**self.headers, **headers})

    def delete(self, path: str, **headers: str) -> Any:
        return self.client.delete(f"/api/v1{path}", headers={**self.headers, **headers})

    def post(self, path: str, body: dict) -> Any:
        return self.client.post(f"/api/v1{path}", json=body, headers=self.headers)


def eventually(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Poll until ``check`` returns something truthy (a policy acts after the command)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.05)
