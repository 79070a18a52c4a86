"""Workspaces: the creator owns it, only members see it, versions guard updates."""

from __future__ import annotations

import uuid

PROBLEM = "application/problem+json"


def test_creator_is_the_owner_and_post_then_get_sees_the_write(api, client):
    ann = api.register()
    created = api.create_workspace(ann, name="Acme", description="Rockets", settings={"tz": "UTC"})
    assert created["role"] == "owner"
    assert created["owner_id"] == ann["user"]["id"]
    assert created["version"] == 1
    fetched = client.get(f"/api/v1/workspaces/{created['id']}", headers=ann["headers"])
    assert fetched.status_code == 200
    assert fetched.json() == created
    assert fetched.headers["etag"] == '"1"'


def test_list_shows_only_the_callers_workspaces(api, client):
    ann, bob = api.register(), api.register()
    mine = api.create_workspace(ann, name="Ann's")
    theirs = api.create_workspace(bob, name="Bob's")
    ids = {w["id"] for w in client.get("/api/v1/workspaces", headers=ann["headers"]).json()["data"]}
    assert mine["id"] in ids
    assert theirs["id"] not in ids


def test_a_non_member_gets_404_for_read_update_and_delete(api, client):
    ann, outsider = api.register(), api.register()
    ws = api.create_workspace(ann)
    url = f"/api/v1/workspaces/{ws['id']}"
    for response in (
        client.get(url, headers=outsider["headers"]),
        client.put(url, json={"name": "Mine now"}, headers=outsider["headers"]),
        client.delete(url, headers=outsider["headers"]),
    ):
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM
    assert client.get(url, headers=ann["headers"]).json()["name"] == ws["name"]


def test_anonymous_calls_are_401(client):
    assert client.get("/api/v1/workspaces").status_code == 401
    assert client.post("/api/v1/workspaces", json={"name": "x"}).status_code == 401


def test_owner_updates_name_description_and_settings(api, client):
    ann = api.register()
    ws = api.create_workspace(ann)
    response = client.put(
        f"/api/v1/workspaces/{ws['id']}",
        json={"name": "Renamed", "description": "New", "settings": {"week_starts": "monday"}},
        headers=ann["headers"],
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["description"], body["settings"]) == (
        "Renamed",
        "New",
        {"week_starts": "monday"},
    )
    assert body["version"] == 2


def test_if_match_with_a_stale_version_is_412_and_changes_nothing(api, client):
    ann = api.register()
    ws = api.create_workspace(ann)
    url = f"/api/v1/workspaces/{ws['id']}"
    ok = client.put(url, json={"name": "First"}, headers={**ann["headers"], "If-Match": '"1"'})
    assert ok.status_code == 200
    stale = client.put(url, json={"name": "Second"}, headers={**ann["headers"], "If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    assert client.get(url, headers=ann["headers"]).json()["name"] == "First"
    garbage = client.put(url, json={"name": "x"}, headers={**ann["headers"], "If-Match": "abc"})
    assert garbage.status_code == 422


def test_update_with_nothing_changed_records_no_new_version(api, client):
    ann = api.register()
    ws = api.create_workspace(ann, name="Same")
    response = client.put(
        f"/api/v1/workspaces/{ws['id']}", json={"name": "Same"}, headers=ann["headers"]
    )
    assert response.status_code == 200
    assert response.json()["version"] == 1


def test_delete_removes_the_workspace_for_everyone(api, client):
    ann = api.register()
    ws = api.create_workspace(ann)
    url = f"/api/v1/workspaces/{ws['id']}"
    assert client.delete(url, headers=ann["headers"]).status_code == 204
    assert client.get(url, headers=ann["headers"]).status_code == 404
    assert client.delete(url, headers=ann["headers"]).status_code == 404
    assert client.put(url, json={"name": "x"}, headers=ann["headers"]).status_code == 404
    ids = {w["id"] for w in client.get("/api/v1/workspaces", headers=ann["headers"]).json()["data"]}
    assert ws["id"] not in ids


def test_missing_and_malformed_ids(api, client):
    ann = api.register()
    assert (
        client.get(f"/api/v1/workspaces/{uuid.uuid4()}", headers=ann["headers"]).status_code == 404
    )
    assert client.get("/api/v1/workspaces/not-a-uuid", headers=ann["headers"]).status_code == 422


def test_invalid_workspace_payloads_are_422(api, client):
    ann = api.register()
    for body in (
        {},
        {"name": ""},
        {"name": "x" * 256},
        {"name": "ok", "owner_id": "x"},
        {"name": "ok", "settings": []},
    ):
        response = client.post("/api/v1/workspaces", json=body, headers=ann["headers"])
        assert response.status_code == 422, body
        assert response.json()["errors"]


def test_cursor_pagination_walks_every_workspace_once(api, client):
    ann = api.register()
    created = [api.create_workspace(ann, name=f"W{i}")["id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/workspaces", params=params, headers=ann["headers"]).json()
        assert len(page["data"]) <= 2
        seen.extend(w["id"] for w in page["data"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == created


def test_bad_pagination_parameters_are_rejected(api, client):
    ann = api.register()
    assert client.get("/api/v1/workspaces?limit=0", headers=ann["headers"]).status_code == 422
    assert client.get("/api/v1/workspaces?limit=1000", headers=ann["headers"]).status_code == 422
    assert client.get("/api/v1/workspaces?cursor=%%%", headers=ann["headers"]).status_code == 422
