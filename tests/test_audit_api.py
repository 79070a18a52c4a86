"""Audit replay: history and past states straight from the log."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from tests.support.authz import add_member
from tests.support.kanban import create_board, create_card, create_project


def setup(api, client):
    owner = api.register()
    ws = api.create_workspace(owner)
    project_id = create_project(client, owner, ws["id"])
    board = create_board(client, owner, project_id, [{"name": "Todo"}, {"name": "Doing"}])
    cols = [c["id"] for c in board["columns"]]
    return owner, ws, project_id, board, cols


def test_a_cards_history_lists_who_changed_what_and_when(api, client):
    owner, _, _, _, cols = setup(api, client)
    card = create_card(client, owner, cols[0], "First title")
    client.put(
        f"/api/v1/cards/{card['id']}", json={"title": "Second title"}, headers=owner["headers"]
    )
    trail = client.get(f"/api/v1/audit/card/{card['id']}", headers=owner["headers"])
    assert trail.status_code == 200
    events = trail.json()["events"]
    assert [e["event"] for e in events] == ["Created", "Updated"]
    assert all(e["actor_id"] == owner["user"]["id"] for e in events)
    assert events[1]["data"]["changes"] == {"title": "Second title"}


def test_a_card_as_of_a_version_or_a_moment(api, client):
    owner, _, _, _, cols = setup(api, client)
    card = create_card(client, owner, cols[0], "Before")
    time.sleep(0.05)
    between = datetime.now(UTC).isoformat()
    time.sleep(0.05)
    client.put(f"/api/v1/cards/{card['id']}", json={"title": "After"}, headers=owner["headers"])
    url = f"/api/v1/audit/card/{card['id']}"
    assert (
        client.get(url, params={"version": 1}, headers=owner["headers"]).json()["state"]["title"]
        == "Before"
    )
    assert (
        client.get(url, params={"version": 2}, headers=owner["headers"]).json()["state"]["title"]
        == "After"
    )
    at = client.get(url, params={"as_of": between}, headers=owner["headers"]).json()
    assert (at["as_of_version"], at["state"]["title"]) == (1, "Before")


def test_a_board_as_it_was_shows_its_columns_and_cards_then(api, client):
    owner, _, _, board, cols = setup(api, client)
    card = create_card(client, owner, cols[0], "Old name")
    placed_version = client.get(f"/api/v1/boards/{board['id']}", headers=owner["headers"]).json()[
        "version"
    ]
    client.put(f"/api/v1/cards/{card['id']}", json={"title": "New name"}, headers=owner["headers"])
    client.put(
        f"/api/v1/cards/{card['id']}/move", json={"column_id": cols[1]}, headers=owner["headers"]
    )
    url = f"/api/v1/audit/board/{board['id']}"
    then = client.get(url, params={"version": placed_version}, headers=owner["headers"]).json()[
        "state"
    ]
    assert [c["name"] for c in then["columns"]] == ["Todo", "Doing"]
    assert [k["title"] for k in then["columns"][0]["cards"]] == ["Old name"]
    assert then["columns"][1]["cards"] == []
    history = client.get(url, headers=owner["headers"]).json()["events"]
    assert history[-1]["event"] == "CardMoved"
    assert history[-1]["data"]["from_column_id"] == cols[0]


def test_deleted_objects_keep_their_history(api, client):
    owner, _, _, _, cols = setup(api, client)
    card = create_card(client, owner, cols[0], "Short-lived")
    client.delete(f"/api/v1/cards/{card['id']}", headers=owner["headers"])
    events = client.get(f"/api/v1/audit/card/{card['id']}", headers=owner["headers"]).json()[
        "events"
    ]
    assert [e["event"] for e in events] == ["Created", "Deleted"]


def test_projects_have_a_replayable_past(api, client):
    owner, _, project_id, _, _ = setup(api, client)
    client.put(
        f"/api/v1/projects/{project_id}", json={"status": "active"}, headers=owner["headers"]
    )
    url = f"/api/v1/audit/project/{project_id}"
    assert (
        client.get(url, params={"version": 1}, headers=owner["headers"]).json()["state"]["status"]
        == "planning"
    )
    assert (
        client.get(url, params={"version": 2}, headers=owner["headers"]).json()["state"]["status"]
        == "active"
    )


def test_audit_access_and_bad_requests(api, client):
    owner, ws, _, _, cols = setup(api, client)
    viewer, outsider = api.register(), api.register()
    add_member(client, ws["id"], owner, viewer["user"]["id"], "viewer")
    card = create_card(client, owner, cols[0], "Secret")
    url = f"/api/v1/audit/card/{card['id']}"
    assert client.get(url, headers=viewer["headers"]).status_code == 200
    assert client.get(url, headers=outsider["headers"]).status_code == 404
    assert client.get(url).status_code == 401
    assert (
        client.get(f"/api/v1/audit/card/{uuid.uuid4()}", headers=owner["headers"]).status_code
        == 404
    )
    assert (
        client.get(f"/api/v1/audit/board/{card['id']}", headers=owner["headers"]).status_code == 404
    )
    assert (
        client.get(f"/api/v1/audit/spaceship/{card['id']}", headers=owner["headers"]).status_code
        == 422
    )
    assert client.get(url, params={"version": 99}, headers=owner["headers"]).status_code == 422
    assert (
        client.get(
            url, params={"version": 1, "as_of": "2026-01-01T00:00:00Z"}, headers=owner["headers"]
        ).status_code
        == 422
    )
    assert (
        client.get(
            url, params={"as_of": "2026-01-01T00:00:00"}, headers=owner["headers"]
        ).status_code
        == 422
    )
    assert (
        client.get(
            url, params={"as_of": "2000-01-01T00:00:00Z"}, headers=owner["headers"]
        ).status_code
        == 404
    )
