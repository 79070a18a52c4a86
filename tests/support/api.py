"""``Api``: signed-in calls over the FastAPI test client (the ``api`` fixture)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient


class Api:
    """A thin helper over the test client for signed-in calls."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def register(
        self, email: str | None = None, password: str = "correct horse", name: str = "Ann"
    ) -> dict:
        email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
        response = self.client.post(
            "/api/v1/auth/register", json={"email": email, "password": password, "name": name}
        )
        assert response.status_code == 201, response.text
        body = response.json()
        body["headers"] = {"Authorization": f"Bearer {body['access_token']}"}
        body["password"] = password
        return body

    def create_workspace(self, user: dict, name: str = "Acme", **extra: Any) -> dict:
        response = self.client.post(
            "/api/v1/workspaces", json={"name": name, **extra}, headers=user["headers"]
        )
        assert response.status_code == 201, response.text
        return response.json()
