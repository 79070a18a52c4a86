"""Unexpected errors: a 500 is problem+json with the headers of any other response (request
id, security headers), and the keep-alive connection serves the next request."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from interfaces.http.app import create_app
from tests.support.http_server import served

PROBLEM = "application/problem+json"


def failing_app(settings) -> FastAPI:
    app = create_app(settings, with_projector=False)

    async def boom() -> dict:
        raise RuntimeError("boom")

    async def broken_dependency() -> None:
        raise RuntimeError("broken dependency")

    async def uses_broken(_: None = Depends(broken_dependency)) -> dict:
        return {"never": "reached"}

    app.add_api_route("/api/v1/test-only/boom", boom)
    app.add_api_route("/api/v1/test-only/dependency", uses_broken)
    return app


@pytest.fixture(scope="module")
def failing(settings, client) -> Iterator[TestClient]:
    # ``client`` runs the projector on this database (this app runs none)
    with TestClient(failing_app(settings), raise_server_exceptions=False) as client:
        yield client


def assert_internal_problem(response: httpx.Response) -> None:
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == 500
    assert body["type"].endswith("/internal")
    assert "boom" not in body["detail"]  # the exception's text stays in the log
    assert len(response.headers["x-request-id"]) == 32
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "content-security-policy" in response.headers


@pytest.mark.parametrize("path", ["/api/v1/test-only/boom", "/api/v1/test-only/dependency"])
def test_an_unexpected_error_is_a_problem_with_every_header(failing, path):
    response = failing.get(path, headers={"X-Request-Id": "trace-7"})
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "trace-7"
    assert_internal_problem(failing.get(path))


def test_a_service_raising_is_a_500_problem(failing, monkeypatch):
    user = failing.post(
        "/api/v1/auth/register",
        json={"email": "boom-service@example.com", "password": "correct horse", "name": "B"},
    ).json()
    container = failing.app.state.container

    def broken(*args, **kwargs):
        raise RuntimeError("boom in the service")

    monkeypatch.setattr(container.workspaces, "create", broken)
    response = failing.post(
        "/api/v1/workspaces",
        json={"name": "never"},
        headers={"Authorization": f"Bearer {user['access_token']}"},
    )
    assert_internal_problem(response)


def test_the_connection_survives_a_500(settings):
    with served(failing_app(settings)) as base, httpx.Client(base_url=base, timeout=30) as http:
        failed = http.get("/api/v1/test-only/boom")
        assert_internal_problem(failed)
        first = failed.extensions["network_stream"].get_extra_info("client_addr")
        after = http.get("/health")
        assert after.status_code == 200
        assert after.extensions["network_stream"].get_extra_info("client_addr") == first
