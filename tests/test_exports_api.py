"""Workspace exports: owners and admins export a whole workspace as JSON (one versioned
document) or CSV (a zip of one file per collection), made by a job, downloaded through a
link, announced by a notification; nothing of another workspace gets in; the unhappy paths
(bad format, not ready, unknown, expired, a failed run) answer problems."""

from __future__ import annotations

import csv
import io
import json
import time
import uuid
import zipfile
from datetime import UTC, datetime, timedelta

import pytest

from application.exports_format import COLLECTIONS, FORMAT, FORMAT_VERSION, plain
from tests.support.kanban import create_board, create_project
from tests.support.notifications import uid, wait_for_inbox
from tests.support.resources import Team


def wait_ready(client, user, location: str) -> dict:
    deadline = time.monotonic() + 20
    while True:
        export = client.get(location, headers=user["headers"]).json()
        if export["status"] in ("ready", "failed") or time.monotonic() > deadline:
            assert export["status"] == "ready", export
            return export
        time.sleep(0.05)


@pytest.fixture
def workspace(api, client) -> Team:
    """A workspace with a project, a board, cards, a task, a comment, a time entry, a
    milestone and an allocation; and another workspace of the same owner."""
    owner = api.register(name="Owner")
    ws = api.create_workspace(owner, name="Exported")
    project_id = create_project(client, owner, ws["id"])
    team = Team(client, api, owner, ws, project_id)
    team.person("Bob")
    board = create_board(client, owner, project_id)
    todo = board["columns"][0]["id"]
    for title in ('First, "quoted"', "Second, ünïcode"):
        team.ok("POST", f"/columns/{todo}/cards", 201, json={"title": title})
    task = team.ok("POST", f"/projects/{project_id}/tasks", 201, json={"title": "T"})
    team.ok("POST", f"/tasks/{task['id']}/comments", 201, json={"content": "Looks good"})
    team.ok(
        "POST",
        "/time-entries",
        201,
        json={
            "project_id": project_id,
            "description": "work",
            "start_time": "2026-01-05T09:00:00Z",
            "end_time": "2026-01-05T10:00:00Z",
        },
    )
    team.ok(
        "POST",
        f"/projects/{project_id}/milestones",
        201,
        json={"title": "M", "due_date": "2030-01-31"},
    )
    team.allocate("Bob", 10, "2026-01-05", "2026-02-27")
    other = api.create_workspace(owner, name="Elsewhere")
    create_project(client, owner, other["id"], name="Not exported")
    return team


def test_a_json_export_holds_the_whole_workspace_and_announces_itself(client, workspace):
    team = workspace
    base = f"/api/v1/workspaces/{team.workspace['id']}/exports"
    response = client.post(base, json={"format": "json"}, headers=team.owner["headers"])
    assert response.status_code == 202, response.text
    assert response.json()["status"] in ("pending", "running", "ready")
    location = response.headers["location"]
    export = wait_ready(client, team.owner, location)
    assert export["download_url"] == f"{location}/download"
    assert export["counts"]["cards"] == 2
    assert export["counts"]["allocations"] == 1

    page = wait_for_inbox(client, team.owner, lambda p: p["data"] != [], type="export_ready")
    note = page["data"][0]
    assert note["data"]["export_id"] == export["id"]

    download = client.get(export["download_url"], headers=team.owner["headers"])
    assert download.status_code == 200, download.text
    assert download.headers["content-type"].startswith("application/json")
    assert "attachment" in download.headers["content-disposition"]
    doc = download.json()
    assert doc["format"] == FORMAT
    assert doc["format_version"] == FORMAT_VERSION
    assert doc["workspace"]["id"] == team.workspace["id"]
    assert set(doc["collections"]) == set(COLLECTIONS)
    c = doc["collections"]
    assert [p["name"] for p in c["projects"]] == ["Project"]
    assert sorted(card["title"] for card in c["cards"]) == ['First, "quoted"', "Second, ünïcode"]
    for name in ("boards", "columns", "tasks", "comments", "time_entries", "milestones"):
        assert c[name], name
    assert c["allocations"][0]["user_id"] == team.uid("Bob")
    assert {m["user_id"] for m in c["members"]} == {uid(team.owner), team.uid("Bob")}
    for rows in c.values():  # nothing of the other workspace
        assert all(row["workspace_id"] == team.workspace["id"] for row in rows)

    listed = client.get(base, headers=team.owner["headers"]).json()
    assert [e["id"] for e in listed["data"]] == [export["id"]]


def test_a_csv_export_is_a_zip_of_one_file_per_collection(client, workspace):
    team = workspace
    base = f"/api/v1/workspaces/{team.workspace['id']}/exports"
    response = client.post(base, json={"format": "csv"}, headers=team.owner["headers"])
    export = wait_ready(client, team.owner, response.headers["location"])
    download = client.get(export["download_url"], headers=team.owner["headers"])
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    assert set(archive.namelist()) == {f"{n}.csv" for n in COLLECTIONS} | {"workspace.json"}
    head = json.loads(archive.read("workspace.json"))
    assert head["format"] == FORMAT
    cards = list(csv.DictReader(io.StringIO(archive.read("cards.csv").decode())))
    assert sorted(card["title"] for card in cards) == ['First, "quoted"', "Second, ünïcode"]
    reader = csv.reader(io.StringIO(archive.read("attachments.csv").decode()))
    assert "attachable_type" in next(reader)  # an empty collection still has its header


def test_exports_list_in_pages_and_refuse_what_they_cannot_do(client, workspace):
    team = workspace
    base = f"/api/v1/workspaces/{team.workspace['id']}/exports"
    h = team.owner["headers"]
    assert client.post(base, json={"format": "xml"}, headers=h).status_code == 422
    assert client.post(base, json={"format": "json", "x": 1}, headers=h).status_code == 422
    ids = [client.post(base, json={}, headers=h).json()["id"] for _ in range(2)]
    first = client.get(base, params={"limit": 1}, headers=h).json()
    assert first["next_cursor"]
    second = client.get(base, params={"limit": 1, "cursor": first["next_cursor"]}, headers=h)
    assert {first["data"][0]["id"], second.json()["data"][0]["id"]} == set(ids)
    assert client.get(base, params={"cursor": "@@"}, headers=h).status_code == 422
    assert client.get(f"{base}/{uuid.uuid4()}", headers=h).status_code == 404
    other = team.api.create_workspace(team.owner, name="Third")
    elsewhere = f"/api/v1/workspaces/{other['id']}/exports/{ids[0]}"
    assert client.get(elsewhere, headers=h).status_code == 404  # not that workspace's

    container = client.app.state.container
    pending = uuid.uuid4()
    container.exports.records.create(
        pending, uuid.UUID(team.workspace["id"]), uuid.UUID(uid(team.owner)), "json"
    )
    response = client.get(f"{base}/{pending}/download", headers=h)
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")


def test_a_run_happens_once_a_lost_workspace_fails_and_expired_exports_go(client, workspace):
    team = workspace
    service = client.app.state.container.exports
    owner_id = uuid.UUID(uid(team.owner))
    lost = uuid.uuid4()
    service.records.create(lost, uuid.uuid4(), owner_id, "json")
    assert service.run(export_id=lost) == "failed"
    assert service.records.get(lost)["error"] == "the workspace is gone"
    assert service.run(export_id=lost) == "skipped"

    base = f"/api/v1/workspaces/{team.workspace['id']}/exports"
    response = client.post(base, json={}, headers=team.owner["headers"])
    export = wait_ready(client, team.owner, response.headers["location"])
    assert service.run(export_id=uuid.UUID(export["id"])) == "skipped"
    key = service.records.get(uuid.UUID(export["id"]))["storage_key"]
    assert service.storage.exists(key)
    later = datetime.fromisoformat(export["expires_at"]) + timedelta(seconds=1)
    assert service.purge_expired(later) >= 1
    assert not service.storage.exists(key)
    assert (
        client.get(response.headers["location"], headers=team.owner["headers"]).status_code == 404
    )


def test_the_personal_data_export_renders_values_as_the_workspace_export(api, client):
    user = api.register(name="Pat")
    api.create_workspace(user, name="Mine")
    mine = client.get("/api/v1/auth/me/export", headers=user["headers"])
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert body["memberships"][0]["workspace_name"] == "Mine"
    joined = body["memberships"][0]["joined_at"]
    assert datetime.fromisoformat(joined).tzinfo is not None
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert plain({"at": at, "id": uuid.UUID(int=1)}) == {
        "at": at.isoformat(),
        "id": str(uuid.UUID(int=1)),
    }
