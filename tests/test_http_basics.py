"""Cross-cutting HTTP behaviour: problem+json everywhere, request ids, gzip, health, OpenAPI."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.routing import Match

from interfaces.http.routers import ContextRouter

PROBLEM = "application/problem+json"


def test_unknown_routes_and_methods_are_problem_json(client):
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM
    body = missing.json()
    assert {"type", "title", "status", "detail"} <= set(body)
    wrong_method = client.patch("/api/v1/workspaces")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"] == PROBLEM


def test_malformed_json_is_a_422_problem(client, api):
    user = api.register()
    response = client.post(
        "/api/v1/workspaces",
        content=b"{not json",
        headers={**user["headers"], "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


def test_request_id_is_echoed_or_generated(client):
    assert (
        client.get("/health", headers={"X-Request-Id": "abc-123"}).headers["x-request-id"]
        == "abc-123"
    )
    generated = client.get("/health", headers={"X-Request-Id": "bad id with spaces"})
    assert generated.headers["x-request-id"] != "bad id with spaces"
    assert len(generated.headers["x-request-id"]) == 32


def test_large_responses_are_gzipped(client):
    response = client.get("/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert response.headers.get("content-encoding") == "gzip"
    assert response.headers["vary"] == "Accept-Encoding"


def test_answers_to_clients_without_gzip_are_sent_as_they_are_and_say_they_vary(client):
    """httpx asks for gzip unless told otherwise: ask for identity only."""
    plain = client.get("/openapi.json", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.headers["vary"] == "Accept-Encoding"
    assert plain.json()["info"]["title"] == "WorkSync API"
    small = client.get("/health", headers={"Accept-Encoding": "identity"})
    assert small.headers["vary"] == "Accept-Encoding"


def test_health_and_ready(client):
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["database"] == "ok"
    assert {"users", "workspaces", "activities"} <= set(body["projections"])
    assert all(p["state"] == "running" for p in body["projections"].values())


def test_openapi_lists_the_first_slice(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/me",
        "/api/v1/workspaces",
        "/api/v1/workspaces/{workspace_id}",
    ):
        assert path in paths


def test_no_route_dependency_runs_in_the_thread_pool(client):
    """FastAPI runs a plain-function or class dependency in a worker thread: a hop (and a
    thread wake-up) on every request. Every dependency of every route is a coroutine."""
    import inspect

    from fastapi.routing import APIRoute

    def calls(dependant):
        for sub in dependant.dependencies:
            yield sub.call
            yield from calls(sub)

    def api_routes(routes):
        for route in routes:
            if isinstance(route, APIRoute):
                yield route
            elif hasattr(route, "original_router"):  # an included router (FastAPI >= 0.120)
                yield from api_routes(route.original_router.routes)

    sync = set()
    checked = 0
    for route in api_routes(client.app.routes):
        checked += 1
        assert inspect.iscoroutinefunction(route.endpoint), route.path
        for call in calls(route.dependant):
            target = call if inspect.isfunction(call) else type(call).__call__
            if not (inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)):
                sync.add(f"{route.path}: {getattr(call, '__name__', type(call).__name__)}")
    assert checked > 50
    assert not sync


def test_a_commands_answer_times_the_command_and_the_projection_lag(client, api):
    import re

    user = api.register()
    created = client.post("/api/v1/workspaces", json={"name": "Timed"}, headers=user["headers"])
    assert created.status_code == 201, created.text
    timing = created.headers["server-timing"]
    entries = dict(re.findall(r"(\w+);dur=([0-9.]+)", timing))
    assert set(entries) == {"command", "projection"}, timing
    assert all(float(v) >= 0 for v in entries.values())
    read = client.get(f"/api/v1/workspaces/{created.json()['id']}", headers=user["headers"])
    assert "server-timing" not in read.headers


def test_context_routers_refuse_paths_without_their_first_segments_and_match_the_rest():
    router = ContextRouter()

    @router.get("/boards/{board_id}")
    def board(board_id: str) -> None: ...

    @router.put("/cards/{card_id}/move")
    def move(card_id: str) -> None: ...

    def scope(method: str, path: str) -> dict:
        return {"type": "http", "method": method, "path": path, "root_path": ""}

    assert router._first_segments() == {"boards", "cards"}
    app = FastAPI()
    app.include_router(router, prefix="/api/v1")
    included = app.router.routes[-1]
    assert included.matches(scope("GET", "/api/v1/workspaces/x"))[0] == Match.NONE
    assert included.matches(scope("GET", "/api/v1/boards/b1"))[0] == Match.FULL
    assert included.matches(scope("PUT", "/api/v1/cards/c1/move"))[0] == Match.FULL
    assert included.matches(scope("GET", "/api/v1/cards/c1/move"))[0] == Match.PARTIAL  # 405
    assert included.matches(scope("GET", "/api/v1/boards"))[0] == Match.NONE  # no such route

    @router.get("/{anything}")
    def anything(anything: str) -> None: ...

    # A route starting with a parameter may match any path: the router tries its routes.
    assert router._first_segments() is None
    assert included.matches(scope("GET", "/api/v1/workspaces"))[0] == Match.FULL


def test_every_context_router_is_a_context_router(client):
    """A plain APIRouter would work, only without the shortcut: every context uses one kind."""
    included = [r for r in client.app.router.routes if hasattr(r, "original_router")]
    assert included
    assert all(type(r.original_router) is ContextRouter for r in included)
    assert all(r.original_router._first_segments() is not None for r in included)
