"""Webhooks endpoints: CRUD under a workspace (owners and admins), validation, the SSRF
refusals at registration, If-Match, the delivery log of a ping, and missing resources."""

from __future__ import annotations

import time

import pytest

from tests.support.authz import add_member
from tests.support.webhooks import deliveries, wait_for_deliveries

PUBLIC = "https://93.184.215.14/hooks"


@pytest.fixture
def team(api, client):
    owner = api.register(name="Ann")
    member = api.register(name="Mel")
    workspace = api.create_workspace(owner, name="Hooks")
    add_member(client, workspace["id"], owner, member["user"]["id"], "member")
    return owner, member, workspace["id"]


def base(workspace_id: str) -> str:
    return f"/api/v1/workspaces/{workspace_id}/webhooks"


def create(client, owner, workspace_id, **body):
    return client.post(
        base(workspace_id), json={"url": PUBLIC, "events": ["*"], **body}, headers=owner["headers"]
    )


def test_register_read_list_update_delete(client, team):
    owner, _, workspace_id = team
    response = create(
        client, owner, workspace_id, events=["kanban:card:moved", "task:created"], description="CI"
    )
    assert response.status_code == 201, response.text
    made = response.json()
    assert made["secret"].startswith("whsec_")
    assert len(made["secret"]) > 40
    assert made["events"] == ["kanban:card:moved", "task:created"]
    assert made["active"] is True
    assert response.headers["Location"] == f"{base(workspace_id)}/{made['id']}"
    assert response.headers["ETag"] == '"1"'

    path = f"{base(workspace_id)}/{made['id']}"
    got = client.get(path, headers=owner["headers"])
    assert got.status_code == 200
    assert "secret" not in got.json()
    assert got.json()["description"] == "CI"

    second = create(client, owner, workspace_id, secret="my-own-secret-0123456789").json()
    assert second["secret"] == "my-own-secret-0123456789"
    page = client.get(base(workspace_id), params={"limit": 1}, headers=owner["headers"]).json()
    assert [w["id"] for w in page["data"]] == [made["id"]]
    page2 = client.get(
        base(workspace_id),
        params={"limit": 1, "cursor": page["next_cursor"]},
        headers=owner["headers"],
    ).json()
    assert [w["id"] for w in page2["data"]] == [second["id"]]
    assert page2["next_cursor"] is None

    changed = client.put(
        path,
        json={"events": ["*"], "active": False},
        headers={**owner["headers"], "If-Match": '"1"'},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["events"] == ["*"]
    assert changed.json()["active"] is False
    assert changed.json()["version"] == 2
    stale = client.put(
        path, json={"description": "x"}, headers={**owner["headers"], "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"

    rotated = client.post(f"{path}/secret", json={}, headers=owner["headers"])
    assert rotated.status_code == 200
    assert rotated.json()["secret"] != made["secret"]

    assert client.delete(path, headers=owner["headers"]).status_code == 204
    assert client.get(path, headers=owner["headers"]).status_code == 404
    assert client.delete(path, headers=owner["headers"]).status_code == 404


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://127.0.0.1/hook", "loopback"),
        ("https://localhost:8443/hook", "loopback"),
        ("https://[::1]/hook", "loopback"),
        ("https://[::ffff:127.0.0.1]/hook", "loopback"),
        ("https://10.1.2.3/hook", "private"),
        ("https://192.168.0.10/hook", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://224.0.0.1/hook", "multicast"),
        ("https://0.0.0.0/hook", "unspecified"),
        ("http://93.184.215.14/hook", "only https"),
        ("https://user:pw@93.184.215.14/hook", "credentials"),
        ("https://no-such-host.invalid/hook", "does not resolve"),
    ],
)
def test_urls_the_server_may_not_call_are_refused(client, team, url, says):
    owner, _, workspace_id = team
    response = create(client, owner, workspace_id, url=url)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert says in problem["detail"]
    assert problem["errors"][0]["field"] == "url"
    assert client.get(base(workspace_id), headers=owner["headers"]).json()["data"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"url": PUBLIC, "events": []},
        {"url": PUBLIC, "events": ["kanban:card:teleported"]},
        {"url": PUBLIC, "events": ["*", "*"]},
        {"url": "ftp://93.184.215.14/x", "events": ["*"]},
        {"url": PUBLIC + "\x00", "events": ["*"]},
        {"url": PUBLIC, "events": ["*"], "secret": "short"},
        {"url": PUBLIC, "events": ["*"], "description": "a\x00b"},
        {"url": PUBLIC, "events": ["*"], "unknown": 1},
        {"events": ["*"]},
    ],
)
def test_bad_payloads_are_422(client, team, body):
    owner, _, workspace_id = team
    response = client.post(base(workspace_id), json=body, headers=owner["headers"])
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_update_refuses_nulls_and_refused_urls(client, team):
    owner, _, workspace_id = team
    made = create(client, owner, workspace_id).json()
    path = f"{base(workspace_id)}/{made['id']}"
    for body in ({"url": None}, {"events": None}, {"url": "https://10.0.0.1/x"}):
        response = client.put(path, json=body, headers=owner["headers"])
        assert response.status_code == 422, (body, response.text)
    assert client.get(path, headers=owner["headers"]).json()["version"] == 1


def test_members_cannot_and_other_workspaces_do_not_see(client, api, team):
    owner, member, workspace_id = team
    made = create(client, owner, workspace_id).json()
    path = f"{base(workspace_id)}/{made['id']}"
    assert create(client, member, workspace_id).status_code == 403
    assert client.get(path, headers=member["headers"]).status_code == 403
    # The same endpoint under another workspace of the owner's: not found.
    other = api.create_workspace(owner, name="Other")
    elsewhere = f"{base(other['id'])}/{made['id']}"
    assert client.get(elsewhere, headers=owner["headers"]).status_code == 404
    assert (
        client.put(elsewhere, json={"active": False}, headers=owner["headers"]).status_code == 404
    )
    assert client.delete(elsewhere, headers=owner["headers"]).status_code == 404
    assert client.post(f"{elsewhere}/ping", headers=owner["headers"]).status_code == 404


def test_a_ping_is_queued_in_the_delivery_log(client, team):
    owner, _, workspace_id = team
    made = create(client, owner, workspace_id).json()
    path = f"{base(workspace_id)}/{made['id']}"
    response = client.post(f"{path}/ping", headers=owner["headers"])
    assert response.status_code == 202
    assert response.json()["webhook_id"] == made["id"]
    [ping] = wait_for_deliveries(client, owner, workspace_id, made["id"], lambda d: len(d) == 1)
    assert ping["event"] == "ping"
    assert ping["status"] == "pending"  # no job queue in this app: it waits for a worker
    detail = client.get(f"{path}/deliveries/{ping['id']}", headers=owner["headers"]).json()
    assert detail["body"]["event"] == "ping"
    assert detail["body"]["resource"] == {"type": "webhook", "id": made["id"]}
    assert detail["body"]["data"] == {"url": PUBLIC, "events": ["*"]}
    assert deliveries(client, owner, workspace_id, made["id"], status="succeeded") == []

    missing = "00000000-0000-0000-0000-000000000001"
    assert client.get(f"{path}/deliveries/{missing}", headers=owner["headers"]).status_code == 404
    response = client.post(f"{path}/deliveries/{missing}/redeliver", headers=owner["headers"])
    assert response.status_code == 404

    # Pausing cancels what is pending.
    client.put(path, json={"active": False}, headers=owner["headers"])
    deadline = time.monotonic() + 10
    while deliveries(client, owner, workspace_id, made["id"])[0]["status"] != "cancelled":
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_workspace_events_queue_deliveries_only_for_the_names_wanted(client, team):
    from tests.support.kanban import create_project

    owner, _, workspace_id = team
    projects = create(client, owner, workspace_id, events=["project:created"]).json()
    tasks = create(client, owner, workspace_id, events=["task:created"]).json()
    create_project(client, owner, workspace_id, name="P")
    [queued] = wait_for_deliveries(
        client, owner, workspace_id, projects["id"], lambda d: len(d) == 1
    )
    assert queued["event"] == "project:created"
    assert deliveries(client, owner, workspace_id, tasks["id"]) == []


def test_missing_workspace_and_webhook(client, team):
    owner, _, workspace_id = team
    missing = "00000000-0000-0000-0000-000000000002"
    assert client.get(base(missing), headers=owner["headers"]).status_code == 404
    assert (
        client.get(f"{base(workspace_id)}/{missing}", headers=owner["headers"]).status_code == 404
    )
    assert client.get(base(workspace_id)).status_code == 401


def test_endpoints_stay_out_of_the_activity_feed(client, team):
    """Every member reads the feed; an endpoint's URL is the admins' alone."""
    from tests.support.kanban import create_project

    owner, member, workspace_id = team
    create(client, owner, workspace_id, url=PUBLIC + "/feed-check")
    create_project(client, owner, workspace_id, name="After")  # the feed has caught up past it
    response = client.get(
        f"/api/v1/workspaces/{workspace_id}/activities", headers=member["headers"]
    )
    assert response.status_code == 200
    assert "After" in response.text
    assert "feed-check" not in response.text
