"""Helpers for the project templates tests: a signed-in owner with a workspace making
templates through the API, and a template body with dependencies across phases."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.support.api import Api


def release_phases() -> list[dict[str, Any]]:
    """Three phases (5, 3 and 2 working days) and five tasks linked across them."""
    return [
        {
            "name": "Plan",
            "description": "scope it",
            "estimated_duration": 5,
            "tasks": [
                {"key": "scope", "title": "Write the scope", "estimated_hours": 6},
                {
                    "key": "estimate",
                    "title": "Estimate the work",
                    "estimated_hours": "2.5",
                    "dependencies": ["scope"],
                    "required_skills": ["planning"],
                },
            ],
        },
        {
            "name": "Build",
            "estimated_duration": 3,
            "tasks": [
                {
                    "key": "code",
                    "title": "Write the code",
                    "estimated_hours": 20,
                    "required_skills": ["python", "sql"],
                    "dependencies": ["estimate"],
                },
                {"title": "Write the docs", "estimated_hours": 4, "dependencies": ["scope"]},
            ],
        },
        {
            "name": "Ship",
            "estimated_duration": 2,
            "tasks": [
                {"key": "ship", "title": "Release it", "dependencies": ["code", "2.2"]},
            ],
        },
    ]


class Templates:
    """A signed-in owner with a workspace, making and using templates."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.client: TestClient = api.client
        self.owner = api.register(name="Owner")
        self.headers = self.owner["headers"]
        self.workspace = api.create_workspace(self.owner, name="Templates")

    def ok(self, response: Any, status: int | None = None) -> Any:
        assert response.status_code in ((status,) if status else (200, 201)), response.text
        return response.json() if response.content else None

    def template(self, as_user: dict | None = None, **fields: Any) -> dict:
        body = {
            "workspace_id": self.workspace["id"],
            "name": "Release",
            "phases": release_phases(),
            **fields,
        }
        headers = (as_user or self.owner)["headers"]
        return self.ok(self.client.post("/api/v1/templates", json=body, headers=headers), 201)

    def use(self, template_id: str, as_user: dict | None = None, **fields: Any) -> Any:
        body = {
            "workspace_id": self.workspace["id"],
            "project_name": "From template",
            "start_date": "2030-01-04",
            **fields,
        }
        headers = (as_user or self.owner)["headers"]
        return self.client.post(f"/api/v1/templates/{template_id}/use", json=body, headers=headers)

    def get(self, path: str, as_user: dict | None = None, **kw: Any) -> Any:
        headers = (as_user or self.owner)["headers"]
        return self.client.get(f"/api/v1{path}", headers=headers, **kw)

    def put(self, path: str, body: dict, as_user: dict | None = None, **headers: str) -> Any:
        base = (as_user or self.owner)["headers"]
        return self.client.put(f"/api/v1{path}", json=body, headers={**base, **headers})

    def delete(self, path: str, as_user: dict | None = None, **headers: str) -> Any:
        base = (as_user or self.owner)["headers"]
        return self.client.delete(f"/api/v1{path}", headers={**base, **headers})

    def post(self, path: str, body: dict, as_user: dict | None = None) -> Any:
        headers = (as_user or self.owner)["headers"]
        return self.client.post(f"/api/v1{path}", json=body, headers=headers)

    def member(self, role: str, name: str = "Mia") -> dict:
        user = self.api.register(name=name)
        self.ok(
            self.post(
                f"/workspaces/{self.workspace['id']}/members",
                {"user_id": user["user"]["id"], "role": role},
            ),
            201,
        )
        return user
