"""WorkSync's own export round trip: ``worksync export`` of a workspace, ``worksync import
worksync`` of that file into a fresh workspace, and ``worksync export`` again give the same
content. "The same" precisely: the collections projects, project_members, boards, columns,
cards, tasks and comments hold the same rows, each row equal column by column once its ids
are mapped (every id and reference is the uuid5 the import derives from the exported id,
``worksync_id``) and these columns are left out: ``workspace_id`` (another workspace), the
project members' row ``id``, ``created_at``, ``updated_at``, ``joined_at``, ``completed_at``,
``edited_at`` (the import's time), ``version`` (one event per change made, not the history)
and ``rank`` (fractional keys: the dense ``position`` is compared instead). Not part of the
round trip (not imported): time entries, milestones, deliverables, allocations, team members,
files, attachments and reactions."""

from __future__ import annotations

import json
import uuid

import pytest

from application.imports_worksync import worksync_id
from tests.support.authz import add_member
from tests.support.cli import invoke
from tests.support.imports import log_head, wait_import, wait_projected
from tests.support.kanban import create_board, create_project

PROJECTED = ("projects", "kanban", "tasks", "comments")
COMPARED = ("projects", "project_members", "boards", "columns", "cards", "tasks", "comments")
LEFT_OUT = {
    "workspace_id",
    "created_at",
    "updated_at",
    "joined_at",
    "completed_at",
    "edited_at",
    "version",
    "rank",
}
# collection -> {column: kind of the id it holds}
REFERENCES = {
    "projects": {"id": "project"},
    "project_members": {"project_id": "project"},
    "boards": {"id": "board", "project_id": "project"},
    "columns": {"id": "column", "board_id": "board"},
    "cards": {"id": "card", "board_id": "board", "column_id": "column", "project_id": "project"},
    "tasks": {"id": "task", "project_id": "project", "parent_task_id": "task"},
    "comments": {"id": "comment", "parent_comment_id": "comment"},
}


def _ok(client, user, method, path, status, **kwargs):
    response = client.request(method, f"/api/v1{path}", headers=user["headers"], **kwargs)
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture
def source(api, client):
    """A workspace with a project and a member, a board (WIP limit, done column), cards
    (labels, due date, assignee, one archived), tasks (parent, dependency, done) and
    comments with a reply, on a card and on a task."""
    owner = api.register(name="Owner")
    bob = api.register(name="Bob")
    ws = api.create_workspace(owner, name="Round trip")
    add_member(client, ws["id"], owner, bob["user"]["id"], "member")
    project = create_project(client, owner, ws["id"], name="Launch")
    _ok(
        client,
        owner,
        "POST",
        f"/projects/{project}/members",
        201,
        json={"user_id": bob["user"]["id"]},
    )
    board = create_board(client, owner, project)
    todo, doing, done = (c["id"] for c in board["columns"])
    first = _ok(
        client,
        owner,
        "POST",
        f"/columns/{todo}/cards",
        201,
        json={
            "title": "First",
            "description": "two\nlines",
            "labels": ["ui", "urgent"],
            "due_date": "2027-01-15T12:00:00Z",
            "assignee_id": bob["user"]["id"],
            "priority": "high",
            "estimated_hours": 2.5,
        },
    )
    _ok(client, owner, "POST", f"/columns/{todo}/cards", 201, json={"title": "Second"})
    old = _ok(client, owner, "POST", f"/columns/{doing}/cards", 201, json={"title": "Old"})
    _ok(client, owner, "PUT", f"/cards/{old['id']}", 200, json={"is_archived": True})
    _ok(client, owner, "POST", f"/columns/{done}/cards", 201, json={"title": "Shipped"})
    parent = _ok(client, owner, "POST", f"/projects/{project}/tasks", 201, json={"title": "Parent"})
    child = _ok(
        client,
        owner,
        "POST",
        f"/projects/{project}/tasks",
        201,
        json={"title": "Child", "parent_task_id": parent["id"], "status": "done", "tags": ["x"]},
    )
    _ok(
        client,
        bob,
        "POST",
        f"/projects/{project}/tasks",
        201,
        json={"title": "After", "dependencies": [child["id"]], "assignee_id": bob["user"]["id"]},
    )
    question = _ok(
        client, bob, "POST", f"/cards/{first['id']}/comments", 201, json={"content": "<b>Why?</b>"}
    )
    _ok(
        client,
        owner,
        "POST",
        f"/cards/{first['id']}/comments",
        201,
        json={"content": "Because.", "parent_comment_id": question["id"]},
    )
    _ok(client, owner, "POST", f"/tasks/{child['id']}/comments", 201, json={"content": "Done!"})
    target = api.create_workspace(owner, name="Fresh")
    add_member(client, target["id"], owner, bob["user"]["id"], "member")
    return {"owner": owner, "ws": ws["id"], "target": target["id"]}


def _export(monkeypatch, database_url, tmp_path, workspace_id: str, name: str) -> dict:
    wait_projected(database_url, PROJECTED)
    path = tmp_path / name
    result = invoke(
        monkeypatch, database_url, "export", "--workspace", workspace_id, "-o", str(path)
    )
    assert result.exit_code == 0, result.output
    return json.loads(path.read_text())


def _normalized(doc: dict, target: uuid.UUID | None) -> dict[str, list[str]]:
    """Each compared collection's rows as sorted JSON, ids mapped (``target``: the rows of
    the exported workspace, mapped to the ids their import into ``target`` has)."""

    def mapped(kind: str, value):
        if value is None or target is None:
            return value
        return str(worksync_id(target, kind, value))

    out = {}
    for name in COMPARED:
        rows = []
        for row in doc["collections"][name]:
            row = {k: v for k, v in row.items() if k not in LEFT_OUT}
            if name == "project_members":
                row.pop("id")
            for column, kind in REFERENCES[name].items():
                row[column] = mapped(kind, row[column])
            if name == "tasks":
                row["dependencies"] = [mapped("task", d) for d in row["dependencies"] or []]
            if name == "comments":
                row["commentable_id"] = mapped(row["commentable_type"], row["commentable_id"])
            rows.append(json.dumps(row, sort_keys=True))
        out[name] = sorted(rows)
    return out


def test_export_import_export_gives_the_same_content(
    monkeypatch, database_url, client, tmp_path, source
):
    before = _export(monkeypatch, database_url, tmp_path, source["ws"], "before.json")
    assert len(before["collections"]["cards"]) == 4
    assert len(before["collections"]["comments"]) == 3
    args = ("import", "worksync", str(tmp_path / "before.json"), "--workspace", source["target"])
    result = invoke(monkeypatch, database_url, *args, "--json")
    assert result.exit_code == 0, result.output
    made = json.loads(result.stdout.strip().splitlines()[-1])
    assert made["counts"] == {
        "projects": 1,
        "boards": 1,
        "columns": 3,
        "cards": 4,
        "tasks": 3,
        "comments": 3,
    }
    after = _export(monkeypatch, database_url, tmp_path, source["target"], "after.json")
    target = uuid.UUID(source["target"])
    assert _normalized(after, None) == _normalized(before, target)

    head = log_head(database_url)
    again = invoke(monkeypatch, database_url, *args, "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout.strip().splitlines()[-1])["already_imported"] is True
    assert log_head(database_url) == head


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"format": "something-else"}, "not a WorkSync workspace export"),
        ({"format": "worksync-workspace-export", "format_version": 2}, "format_version"),
        (
            {
                "format": "worksync-workspace-export",
                "format_version": 1,
                "collections": {"projects": [{"id": "p", "name": "P"}]},
            },
            "malformed",
        ),
    ],
)
def test_a_bad_worksync_export_is_refused_and_nothing_made(
    monkeypatch, database_url, tmp_path, source, content, message
):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(content))
    head = log_head(database_url)
    args = ("import", "worksync", str(path), "--workspace", source["target"])
    result = invoke(monkeypatch, database_url, *args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert log_head(database_url) == head


def test_a_worksync_export_is_imported_over_http_by_a_job(
    monkeypatch, api, client, database_url, tmp_path, source
):
    before = _export(monkeypatch, database_url, tmp_path, source["ws"], "before.json")
    owner = source["owner"]
    path = f"/api/v1/workspaces/{source['target']}/imports/worksync"
    data = json.dumps(before).encode()
    member = api.register(name="Member")
    add_member(client, source["target"], owner, member["user"]["id"], "member")
    files = {"file": ("export.json", data, "application/json")}
    assert client.post(path, files=files, headers=member["headers"]).status_code == 403
    bad = {"file": ("export.json", b'{"format": "other"}', "application/json")}
    refused = client.post(path, files=bad, headers=owner["headers"])
    assert refused.status_code == 422
    assert "not a WorkSync workspace export" in refused.json()["detail"]

    response = client.post(path, files=files, headers=owner["headers"])
    assert response.status_code == 202, response.text
    row = wait_import(client, owner, response.headers["location"])
    assert row["status"] == "done", row["error"]
    assert row["source"] == "worksync"
    assert row["counts"]["cards"] == 4
    assert row["project_id"] == str(
        worksync_id(
            uuid.UUID(source["target"]), "project", before["collections"]["projects"][0]["id"]
        )
    )
    again = client.post(path, files=files, headers=owner["headers"])
    assert wait_import(client, owner, again.headers["location"])["report"]["already_imported"]
