"""The workspace activity feed: members only, newest first, paginated on the log position,
filtered by project, user, object type and time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.authz import add_member

PROBLEM = "application/problem+json"


def feed_url(ws: dict) -> str:
    return f"/api/v1/workspaces/{ws['id']}/activities"


def feed(client, ws: dict, user: dict, **params) -> list[dict]:
    response = client.get(feed_url(ws), params=params, headers=user["headers"])
    assert response.status_code == 200, response.text
    return response.json()["data"]


def kinds(items: list[dict]) -> list[tuple[str, str]]:
    return [(a["object_type"], a["action"]) for a in items]


@pytest.fixture
def scene(api, client):
    """A workspace with an owner and a member; the owner renames it and makes a project that
    the member then updates."""
    owner, member = api.register(name="Owner"), api.register(name="Member")
    ws = api.create_workspace(owner, name="Feed")
    add_member(client, ws["id"], owner, member["user"]["id"], "member")
    client.put(f"/api/v1/workspaces/{ws['id']}", json={"name": "Feed 2"}, headers=owner["headers"])
    project = client.post(
        "/api/v1/projects", json={"workspace_id": ws["id"], "name": "P"}, headers=owner["headers"]
    ).json()
    client.put(
        f"/api/v1/projects/{project['id']}", json={"status": "active"}, headers=member["headers"]
    )
    return {"owner": owner, "member": member, "ws": ws, "project": project}


def test_the_feed_lists_who_did_what_newest_first(scene, client):
    owner, member, ws, project = scene["owner"], scene["member"], scene["ws"], scene["project"]
    items = feed(client, ws, member)
    assert kinds(items) == [
        ("project", "status_changed"),
        ("project", "created"),
        ("workspace", "updated"),
        ("workspace", "member_added"),
        ("workspace", "created"),
    ]
    positions = [a["position"] for a in items]
    assert positions == sorted(positions, reverse=True)
    assert [a["user_id"] for a in items] == [
        member["user"]["id"],
        *[owner["user"]["id"]] * 4,
    ]
    assert {a["workspace_id"] for a in items} == {ws["id"]}
    # A project's own events carry its id as project_id; workspace events carry none.
    assert [a["project_id"] for a in items] == [project["id"], project["id"], None, None, None]
    assert items[0]["object_id"] == project["id"]
    assert items[0]["details"] == {"old_status": "planning", "status": "active"}
    assert items[2]["details"] == {"changes": {"name": "Feed 2"}}
    created = datetime.fromisoformat(items[0]["created_at"])
    assert created.tzinfo is not None


def test_the_feed_is_for_members_only(scene, api, client):
    ws, owner = scene["ws"], scene["owner"]
    viewer, outsider = api.register(), api.register()
    add_member(client, ws["id"], owner, viewer["user"]["id"], "viewer")
    assert client.get(feed_url(ws), headers=viewer["headers"]).status_code == 200
    for response in (
        client.get(feed_url(ws), headers=outsider["headers"]),
        client.get(feed_url({"id": uuid.uuid4()}), headers=owner["headers"]),
    ):
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM
    assert client.get(feed_url(ws)).status_code == 401


def test_the_feed_shows_only_its_own_workspace(scene, api, client):
    other = api.create_workspace(scene["owner"], name="Other")
    ids = {a["object_id"] for a in feed(client, scene["ws"], scene["owner"])}
    assert other["id"] not in ids
    assert kinds(feed(client, other, scene["owner"])) == [("workspace", "created")]


def test_invitation_activities_do_not_expose_token_or_email_hashes(scene, client):
    owner, ws = scene["owner"], scene["ws"]
    response = client.post(
        f"/api/v1/workspaces/{ws['id']}/invite",
        json={"email": "guest@example.com", "role": "viewer"},
        headers=owner["headers"],
    )
    assert response.status_code == 201
    invite = feed(client, ws, owner, limit=1)[0]
    assert (invite["object_type"], invite["action"]) == ("workspace", "invite_created")
    assert "token_hash" not in invite["details"]
    assert "email_hash" not in invite["details"]
    assert invite["details"]["role"] == "viewer"


def test_filters_by_project_user_and_object_type(scene, client):
    owner, member, ws, project = scene["owner"], scene["member"], scene["ws"], scene["project"]
    by_project = feed(client, ws, owner, project_id=project["id"])
    assert kinds(by_project) == [("project", "status_changed"), ("project", "created")]
    by_member = feed(client, ws, owner, user_id=member["user"]["id"])
    assert kinds(by_member) == [("project", "status_changed")]
    by_type = feed(client, ws, owner, object_type="workspace")
    assert kinds(by_type) == [
        ("workspace", "updated"),
        ("workspace", "member_added"),
        ("workspace", "created"),
    ]
    combined = feed(
        client,
        ws,
        owner,
        object_type="project",
        user_id=owner["user"]["id"],
        project_id=project["id"],
    )
    assert kinds(combined) == [("project", "created")]
    assert feed(client, ws, owner, project_id=str(uuid.uuid4())) == []
    assert feed(client, ws, owner, object_type="card") == []


def test_since_is_inclusive_and_until_exclusive(scene, client):
    owner, ws = scene["owner"], scene["ws"]
    items = feed(client, ws, owner)
    pivot = items[1]["created_at"]  # the project's creation
    newer = feed(client, ws, owner, since=pivot)
    assert kinds(newer) == kinds(items[:2])
    older = feed(client, ws, owner, until=pivot)
    assert kinds(older) == kinds(items[2:])
    window = feed(client, ws, owner, since=items[3]["created_at"], until=pivot)
    assert kinds(window) == kinds(items[2:4])
    assert feed(client, ws, owner, since=pivot, until=pivot) == []
    later = (datetime.fromisoformat(items[0]["created_at"]) + timedelta(hours=1)).isoformat()
    assert feed(client, ws, owner, since=later) == []


def test_timestamps_without_a_zone_are_read_as_utc(scene, client):
    owner, ws = scene["owner"], scene["ws"]
    items = feed(client, ws, owner)
    newest = datetime.fromisoformat(items[0]["created_at"]).astimezone(UTC)
    naive = newest.replace(tzinfo=None).isoformat()
    assert kinds(feed(client, ws, owner, since=naive)) == kinds(items[:1])
    assert kinds(feed(client, ws, owner, until=naive)) == kinds(items[1:])


@pytest.mark.parametrize(
    "params",
    [
        {"since": "yesterday"},
        {"until": "2025-13-01T00:00:00Z"},
        {"project_id": "not-a-uuid"},
        {"user_id": "42"},
        {"object_type": ""},
        {"object_type": "x" * 51},
        {"since": "2025-02-01T00:00:00Z", "until": "2025-01-01T00:00:00Z"},
        {"limit": 0},
        {"limit": 201},
        {"cursor": "not-a-cursor"},
    ],
)
def test_bad_filter_values_are_422(scene, client, params):
    response = client.get(feed_url(scene["ws"]), params=params, headers=scene["owner"]["headers"])
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM


def test_cursor_pagination_on_position_walks_the_feed_once(scene, client):
    owner, ws = scene["owner"], scene["ws"]
    for i in range(3):
        client.put(
            f"/api/v1/workspaces/{ws['id']}", json={"name": f"N{i}"}, headers=owner["headers"]
        )
    whole = feed(client, ws, owner)
    assert len(whole) == 8
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        response = client.get(feed_url(ws), params=params, headers=owner["headers"]).json()
        assert len(response["data"]) <= 3
        seen.extend(a["id"] for a in response["data"])
        cursor = response["next_cursor"]
        if cursor is None:
            break
    assert seen == [a["id"] for a in whole]
    filtered = client.get(
        feed_url(ws), params={"limit": 1, "object_type": "project"}, headers=owner["headers"]
    ).json()
    rest = client.get(
        feed_url(ws),
        params={"limit": 5, "object_type": "project", "cursor": filtered["next_cursor"]},
        headers=owner["headers"],
    ).json()
    assert kinds(filtered["data"] + rest["data"]) == [
        ("project", "status_changed"),
        ("project", "created"),
    ]
    assert rest["next_cursor"] is None


def test_a_deleted_projects_history_stays_in_the_workspace_feed(scene, client):
    owner, ws, project = scene["owner"], scene["ws"], scene["project"]
    url = f"/api/v1/projects/{project['id']}"
    assert client.delete(url, headers=owner["headers"]).status_code == 204
    assert client.get(f"{url}/activity", headers=owner["headers"]).status_code == 404
    history = feed(client, ws, owner, project_id=project["id"])
    assert kinds(history) == [
        ("project", "deleted"),
        ("project", "status_changed"),
        ("project", "created"),
    ]
