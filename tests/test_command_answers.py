"""A committed command answers 2xx: 202 + Location when its result cannot be read back; and
POST creates take an Idempotency-Key: a retry gets the first answer, nothing twice."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import anyio.from_thread
import psycopg
import pytest
from fastapi.testclient import TestClient

from interfaces.http.app import create_app
from tests.support.kanban import create_board, create_project
from tests.support.projections import wait_until

PROBLEM = "application/problem+json"


def events_of(url: str, originator_id: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT count(*) FROM worksync_events WHERE originator_id = %s", (originator_id,)
        ).fetchone()[0]


@pytest.fixture
def own_app(settings, client) -> Iterator[TestClient]:
    """An app of this test's own (its pool may be broken); ``client`` runs the projector."""
    with TestClient(create_app(settings, with_projector=False)) as own:
        yield own


def breaking_the_read_pool_after(own: TestClient, service: object, method: str) -> None:
    """Make ``service.method`` close the API's read pool once it has committed."""
    container = own.app.state.container
    original = getattr(service, method)

    def command(*args, **kwargs):
        saved = original(*args, **kwargs)
        anyio.from_thread.run(container.pool.close)
        return saved

    setattr(service, method, command)


def test_a_create_whose_read_back_fails_answers_202_with_location(own_app, api, settings):
    user = api.register()
    breaking_the_read_pool_after(own_app, own_app.app.state.container.workspaces, "create")
    response = own_app.post("/api/v1/workspaces", json={"name": "Kept"}, headers=user["headers"])
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "accepted"
    assert response.headers["location"] == f"/api/v1/workspaces/{body['id']}"
    assert events_of(settings.database_url, body["id"]) == 1  # the write happened
    assert "x-request-id" in response.headers


def test_a_card_whose_read_back_fails_answers_202_with_its_location(own_app, api, client, settings):
    user = api.register()
    ws = api.create_workspace(user)
    board = create_board(client, user, create_project(client, user, ws["id"]))
    column_id = board["columns"][0]["id"]
    breaking_the_read_pool_after(own_app, own_app.app.state.container.kanban, "create_card")
    response = own_app.post(
        f"/api/v1/columns/{column_id}/cards", json={"title": "kept"}, headers=user["headers"]
    )
    assert response.status_code == 202, response.text
    card_id = response.json()["id"]
    assert response.headers["location"] == f"/api/v1/cards/{card_id}"
    wait_until(lambda: client.get(f"/api/v1/cards/{card_id}", headers=user["headers"]).is_success)


def test_an_update_whose_row_is_missing_answers_202(own_app, api, settings):
    user = api.register()
    container = own_app.app.state.container
    original = container.identity.update_user

    def update_then_lose_the_row(*args, **kwargs):
        saved = original(*args, **kwargs)
        wait_until(lambda: container.waiter.reached(["users"], saved.position))
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            conn.execute("DELETE FROM users WHERE id = %s", (user["user"]["id"],))
        return saved

    container.identity.update_user = update_then_lose_the_row
    response = own_app.put("/api/v1/auth/me", json={"name": "Renamed"}, headers=user["headers"])
    assert response.status_code == 202, response.text
    assert response.headers["location"] == "/api/v1/auth/me"


# Idempotency-Key --------------------------------------------------------------------------


def test_a_retried_create_with_the_same_key_is_answered_once(api, client, settings):
    user = api.register()
    headers = {**user["headers"], "Idempotency-Key": f'"{uuid.uuid4()}"'}
    first = client.post("/api/v1/workspaces", json={"name": "Once"}, headers=headers)
    again = client.post("/api/v1/workspaces", json={"name": "Once"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["idempotent-replayed"] == "true"
    assert events_of(settings.database_url, first.json()["id"]) == 1
    listed = client.get("/api/v1/workspaces", headers=user["headers"]).json()["data"]
    assert [w["name"] for w in listed].count("Once") == 1


def test_a_retried_card_create_gives_the_same_card(api, client, settings):
    user = api.register()
    ws = api.create_workspace(user)
    board = create_board(client, user, create_project(client, user, ws["id"]))
    column_id = board["columns"][0]["id"]
    headers = {**user["headers"], "Idempotency-Key": "card-1"}
    path = f"/api/v1/columns/{column_id}/cards"
    first = client.post(path, json={"title": "T", "description": "d"}, headers=headers)
    # the same body, keys in another order and spacing
    again = client.post(
        path,
        content=b'{ "description": "d",  "title": "T" }',
        headers={**headers, "content-type": "application/json"},
    )
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    cards = client.get(f"/api/v1/boards/{board['id']}", headers=user["headers"]).json()
    assert [c["title"] for c in cards["columns"][0]["cards"]] == ["T"]


def test_the_same_key_with_another_body_is_422(api, client):
    user = api.register()
    headers = {**user["headers"], "Idempotency-Key": "reused"}
    assert client.post("/api/v1/workspaces", json={"name": "A"}, headers=headers).is_success
    other = client.post("/api/v1/workspaces", json={"name": "B"}, headers=headers)
    assert other.status_code == 422
    assert other.headers["content-type"] == PROBLEM
    assert other.json()["type"].endswith("/idempotency-key-reused")


def test_keys_are_per_user_and_a_failed_request_frees_its_key(api, client):
    ann, bob = api.register(), api.register()
    key = {"Idempotency-Key": "shared"}
    a = client.post("/api/v1/workspaces", json={"name": "A"}, headers={**ann["headers"], **key})
    b = client.post("/api/v1/workspaces", json={"name": "A"}, headers={**bob["headers"], **key})
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]
    # a refused request (404: no such project) keeps nothing: the key can be used again
    missing = f"/api/v1/projects/{uuid.uuid4()}/boards"
    refused = client.post(missing, json={"name": "B"}, headers={**ann["headers"], **key})
    assert refused.status_code == 404
    assert (
        client.post(missing, json={"name": "B"}, headers={**ann["headers"], **key}).status_code
        == 404
    )


def test_a_key_still_in_flight_is_409(own_app, api):
    user = api.register()
    container = own_app.app.state.container
    original, entered, release = container.workspaces.create, threading.Event(), threading.Event()

    def slow_create(*args, **kwargs):
        entered.set()
        release.wait(10)
        return original(*args, **kwargs)

    container.workspaces.create = slow_create
    headers = {**user["headers"], "Idempotency-Key": "slow"}
    answers = {}
    first = threading.Thread(
        target=lambda: answers.setdefault(
            "first", own_app.post("/api/v1/workspaces", json={"name": "S"}, headers=headers)
        )
    )
    first.start()
    try:
        assert entered.wait(10)
        during = own_app.post("/api/v1/workspaces", json={"name": "S"}, headers=headers)
    finally:
        release.set()
        first.join(20)
    assert during.status_code == 409
    assert during.json()["type"].endswith("/idempotency-key-in-flight")
    assert answers["first"].status_code == 201
    replay = own_app.post("/api/v1/workspaces", json={"name": "S"}, headers=headers)
    assert replay.json()["id"] == answers["first"].json()["id"]


def test_post_creates_declare_the_header(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/workspaces",
        "/api/v1/projects",
        "/api/v1/projects/{project_id}/boards",
        "/api/v1/columns/{column_id}/cards",
        "/api/v1/projects/{project_id}/tasks",
        "/api/v1/time-entries",
    ):
        header = [p for p in paths[path]["post"]["parameters"] if p["in"] == "header"]
        assert [(p["name"], p["required"]) for p in header] == [("Idempotency-Key", False)]
    assert "Idempotency-Key" not in str(paths["/api/v1/auth/login"])
