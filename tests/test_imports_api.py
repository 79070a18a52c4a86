"""Importing a Trello board over HTTP: a job with a status endpoint, the board, cards,
tasks and comments it makes as the API reads them back, idempotent re-import, who may import,
and bad input answered with problem+json, nothing recorded and no event appended."""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from tests.support.authz import add_member
from tests.support.imports import (
    import_count,
    log_head,
    trello_board,
    upload,
    wait_import,
    wait_projected,
    with_board_id,
)

PROJECTED = ("projects", "kanban", "tasks", "comments")


@pytest.fixture
def team(api, client):
    """An owner, and Alice and Dave, members whose e-mails the export names."""
    owner = api.register(name="Owner")
    ws = api.create_workspace(owner, name="Imports")
    people = {}
    for name in ("alice", "dave"):
        person = api.register(email=f"{name}-{uuid.uuid4().hex[:8]}@example.com", name=name)
        add_member(client, ws["id"], owner, person["user"]["id"], "member")
        people[name] = person
    export = trello_board(
        alice=people["alice"]["user"]["email"], dave=people["dave"]["user"]["email"]
    )
    return {"owner": owner, "ws": ws, "people": people, "export": export}


def _import(client, team, doc=None, **form) -> dict:
    data = json.dumps(doc or team["export"]).encode()
    response = upload(client, team["owner"], team["ws"]["id"], data, **form)
    assert response.status_code == 202, response.text
    assert response.json()["status"] in ("pending", "running", "done")
    row = wait_import(client, team["owner"], response.headers["location"])
    assert row["status"] == "done", row["error"]
    return row


def test_an_import_makes_the_board_with_its_cards_tasks_and_comments(client, database_url, team):
    owner, people = team["owner"], team["people"]
    row = _import(client, team)
    assert row["counts"]["cards"] == 5
    assert row["counts"]["comments"] == 2
    report = row["report"]
    assert not report["already_imported"]
    assert report["skipped_lists"] == ["Old ideas"]
    assert {m["name"] for m in report["unmatched_members"]} == {"Bob Baker", "Carol Cook"}
    wait_projected(database_url, PROJECTED)

    project = client.get(f"/api/v1/projects/{row['project_id']}", headers=owner["headers"])
    assert project.status_code == 200
    assert project.json()["name"] == "Launch plan"
    board = client.get(f"/api/v1/boards/{row['board_id']}", headers=owner["headers"]).json()
    assert [c["name"] for c in board["columns"]] == ["To Do", "Doing", "Done"]
    todo = board["columns"][0]["cards"]
    assert [c["title"] for c in todo] == ["Book venue", "Write press release", "Old banner"]
    assert [c["is_archived"] for c in todo] == [False, False, True]
    press = todo[1]
    assert press["labels"] == ["Urgent", "Backend"]
    assert press["due_date"].startswith("2026-12-20T17:00:00")
    assert press["assignee_id"] == people["alice"]["user"]["id"]
    assert board["columns"][1]["cards"][0]["assignee_id"] == people["dave"]["user"]["id"]

    tasks = client.get(
        f"/api/v1/projects/{row['project_id']}/tasks?limit=100", headers=owner["headers"]
    ).json()["data"]
    review = next(t for t in tasks if t["title"] == "Write press release: Review steps")
    items = [t for t in tasks if t["parent_task_id"] == review["id"]]
    assert {(t["title"], t["status"]) for t in items} == {
        ("Proofread", "todo"),
        ("Legal review", "done"),
        ("Send", "todo"),
    }

    comments = client.get(f"/api/v1/cards/{press['id']}/comments", headers=owner["headers"]).json()[
        "data"
    ]
    by_text = {c["content"]: c for c in comments}
    assert by_text["<p>Looks good to me</p>"]["user_id"] == people["alice"]["user"]["id"]
    bob = next(c for c in comments if "Bob Baker" in c["content"])
    assert bob["user_id"] == owner["user"]["id"]
    assert "2026-11-03 11:30 UTC" in bob["content"]


def test_archived_lists_are_kept_when_asked(client, database_url, team):
    row = _import(client, team, include_archived_lists=True)
    assert row["counts"]["columns"] == 4
    assert row["report"]["skipped_lists"] == []
    wait_projected(database_url, PROJECTED)
    board = client.get(f"/api/v1/boards/{row['board_id']}", headers=team["owner"]["headers"]).json()
    assert board["columns"][0]["name"] == "Old ideas"
    assert [c["title"] for c in board["columns"][0]["cards"]] == ["Brainstorm"]


def test_importing_the_same_export_again_makes_nothing(client, database_url, team):
    first = _import(client, team)
    head = log_head(database_url)
    again = _import(client, team)
    assert again["report"]["already_imported"] is True
    assert (again["project_id"], again["board_id"]) == (first["project_id"], first["board_id"])
    assert again["counts"] == {}
    assert log_head(database_url) == head  # not one event appended
    other = _import(client, team, with_board_id(team["export"], "5f1a00000000000000000b99"))
    assert other["project_id"] != first["project_id"]
    assert other["counts"]["cards"] == 5


@pytest.mark.parametrize(("role", "status"), [("admin", 202), ("member", 403), ("viewer", 403)])
def test_owners_and_admins_import_others_are_refused(api, client, team, role, status):
    person = api.register(name=role)
    add_member(client, team["ws"]["id"], team["owner"], person["user"]["id"], role)
    data = json.dumps(with_board_id(team["export"], f"5f1a0000000000000000{role[:4]}")).encode()
    response = upload(client, person, team["ws"]["id"], data)
    assert response.status_code == status, response.text
    if status == 202:
        assert wait_import(client, person, response.headers["location"])["status"] == "done"
        status_of = client.get(response.headers["location"], headers=team["owner"]["headers"])
        assert status_of.status_code == 200
    else:
        assert response.headers["content-type"] == "application/problem+json"


def test_an_outsider_does_not_see_the_workspace_or_its_imports(api, client, team):
    row = _import(client, team)
    stranger = api.register(name="Stranger")
    ws = team["ws"]["id"]
    data = json.dumps(team["export"]).encode()
    assert upload(client, stranger, ws, data).status_code == 404
    location = f"/api/v1/workspaces/{ws}/imports/{row['id']}"
    assert client.get(location, headers=stranger["headers"]).status_code == 404
    elsewhere = api.create_workspace(team["owner"], name="Elsewhere")
    wrong = f"/api/v1/workspaces/{elsewhere['id']}/imports/{row['id']}"
    assert client.get(wrong, headers=team["owner"]["headers"]).status_code == 404
    unknown = f"/api/v1/workspaces/{ws}/imports/{uuid.uuid4()}"
    assert client.get(unknown, headers=team["owner"]["headers"]).status_code == 404


BAD = [
    (b'{"id": "5f1a", "name": "Launch", "lists": [{"id": "l1", "na', 422, "not valid JSON"),
    (b'{"id": "x", "name": "x"\x00}', 422, "NUL"),
    (b'{"columns": [], "rows": []}', 422, "not a Trello board export"),
    (b"\x89PNG\r\n\x1a\n", 422, "UTF-8"),
    (b"", 422, "empty"),
]


@pytest.mark.parametrize(("data", "status", "message"), BAD)
def test_bad_files_are_refused_with_a_problem_and_nothing_made(
    client, database_url, team, data, status, message
):
    ws = team["ws"]["id"]
    head, records = log_head(database_url), import_count(database_url, ws)
    response = upload(client, team["owner"], ws, data)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert message in response.json()["detail"]
    assert log_head(database_url) == head
    assert import_count(database_url, ws) == records


def test_a_malformed_export_is_refused_naming_the_field(client, database_url, team):
    doc = trello_board()
    doc["cards"][2]["pos"] = "last"
    head = log_head(database_url)
    response = upload(client, team["owner"], team["ws"]["id"], json.dumps(doc).encode())
    assert response.status_code == 422
    assert "cards[2].pos" in response.json()["detail"]
    assert log_head(database_url) == head


def test_a_file_over_the_limit_is_refused_before_it_is_read(client, database_url, team):
    ws = team["ws"]["id"]
    head = log_head(database_url)
    sent = []

    def body():  # a 100 MB upload: refused on its Content-Length, the rest never sent
        sent.append(1)
        yield b'--x\r\nContent-Disposition: form-data; name="file"; filename="b.json"\r\n\r\n'

    response = client.post(
        f"/api/v1/workspaces/{ws}/imports/trello",
        content=body(),
        headers={
            **team["owner"]["headers"],
            "Content-Type": "multipart/form-data; boundary=x",
            "Content-Length": str(100 * 1024 * 1024),
        },
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert log_head(database_url) == head


def test_a_file_just_over_the_import_limit_is_refused(client, database_url, team, monkeypatch):
    service = client.app.state.container.imports
    monkeypatch.setattr(service, "max_bytes", 2048)
    head = log_head(database_url)
    response = upload(client, team["owner"], team["ws"]["id"], json.dumps(team["export"]).encode())
    assert response.status_code == 413
    assert "limit of 2048" in response.json()["detail"]
    assert log_head(database_url) == head


def test_an_import_that_breaks_while_saving_fails_whole(client, database_url, team, monkeypatch):
    """A failure inside the import's command leaves nothing and says so in the status; a
    redelivered job finds the import claimed and does nothing."""
    service = client.app.state.container.imports
    monkeypatch.setattr(service, "scheduler", None)  # the job is run by hand below
    data = json.dumps(team["export"]).encode()
    response = upload(client, team["owner"], team["ws"]["id"], data)
    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    head = log_head(database_url)
    monkeypatch.setattr("application.imports.build_trello", _broken)
    assert service.run(import_id=uuid.UUID(response.json()["id"])) == "failed"
    assert log_head(database_url) == head
    row = client.get(response.headers["location"], headers=team["owner"]["headers"]).json()
    assert row["status"] == "failed"
    assert "nothing was created" in row["error"]
    assert service.run(import_id=uuid.UUID(row["id"])) == "skipped"


def _broken(*args, **kwargs):
    raise RuntimeError("disk on fire")


def test_other_methods_on_the_upload_path_are_405_not_an_import_id(client, team):
    path = f"/api/v1/workspaces/{team['ws']['id']}/imports/trello"
    response = client.get(path, headers=team["owner"]["headers"])
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"


def test_two_imports_of_one_export_at_once_make_it_once(client, database_url, team):
    """Both commands derive the same ids: the second append clashes, is retried, and finds
    the project there."""
    service = client.app.state.container.imports
    plan = service.read_trello(json.dumps(team["export"]).encode())
    workspace_id, owner_id = uuid.UUID(team["ws"]["id"]), uuid.UUID(team["owner"]["user"]["id"])
    start = threading.Barrier(2)

    def run():
        start.wait()
        return service.import_trello(workspace_id=workspace_id, actor_id=owner_id, plan=plan)

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: run(), range(2)))
    assert sorted(r["report"]["already_imported"] for r in results) == [False, True]
    assert results[0]["project_id"] == results[1]["project_id"]
    with psycopg.connect(database_url) as conn:
        created = conn.execute(
            "SELECT count(*) FROM worksync_events WHERE originator_id = %s",
            (results[0]["project_id"],),
        ).fetchone()[0]
    assert created == 1  # Project.Created, once
