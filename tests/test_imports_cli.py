"""``worksync import trello FILE --workspace ID``: imports in the command's own process, says
what it made (or that the export was imported already), refuses a file over the limit before
reading it, a bad file, and someone who is not an owner or admin, making nothing."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.support.authz import add_member
from tests.support.cli import invoke
from tests.support.imports import log_head, trello_board, wait_projected


@pytest.fixture
def workspace(api, client):
    owner = api.register(name="Owner")
    return owner, api.create_workspace(owner, name="CLI imports")


def _file(tmp_path, doc, name="board.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return str(path)


def test_the_cli_imports_a_board_then_finds_it_imported(
    monkeypatch, database_url, client, tmp_path, workspace
):
    owner, ws = workspace
    path = _file(tmp_path, trello_board())
    result = invoke(
        monkeypatch, database_url, "import", "trello", path, "--workspace", ws["id"], "--json"
    )
    assert result.exit_code == 0, result.output
    made = json.loads(result.stdout.strip().splitlines()[-1])
    assert made["counts"]["cards"] == 5
    assert made["counts"]["subtasks"] == 5
    assert made["report"]["already_imported"] is False
    assert len(made["report"]["unmatched_members"]) == 4  # no account has these e-mails
    wait_projected(database_url, ("kanban",))
    board = client.get(f"/api/v1/boards/{made['board_id']}", headers=owner["headers"])
    assert board.status_code == 200
    assert [c["name"] for c in board.json()["columns"]] == ["To Do", "Doing", "Done"]
    assert board.json()["columns"][0]["cards"][0]["created_by"] == owner["user"]["id"]

    head = log_head(database_url)
    again = invoke(monkeypatch, database_url, "import", "trello", path, "--workspace", ws["id"])
    assert again.exit_code == 0, again.output
    assert "already imported" in again.stderr
    assert log_head(database_url) == head


def test_the_cli_keeps_archived_lists_when_asked(monkeypatch, database_url, tmp_path, workspace):
    _, ws = workspace
    path = _file(tmp_path, trello_board())
    args = ("import", "trello", path, "--workspace", ws["id"], "--include-archived-lists")
    result = invoke(monkeypatch, database_url, *args)
    assert result.exit_code == 0, result.output
    assert "columns: 4" in result.stderr
    assert "cards: 6" in result.stderr


def test_the_cli_refuses_a_member_a_bad_file_and_a_file_over_the_limit(
    monkeypatch, api, client, database_url, tmp_path, workspace
):
    owner, ws = workspace
    member = api.register(name="Member")
    add_member(client, ws["id"], owner, member["user"]["id"], "member")
    good = _file(tmp_path, trello_board())
    head = log_head(database_url)

    as_member = ("import", "trello", good, "--workspace", ws["id"], "--as", member["user"]["email"])
    refused = invoke(monkeypatch, database_url, *as_member)
    assert refused.exit_code == 1
    assert "role" in refused.stderr

    truncated = tmp_path / "truncated.json"
    truncated.write_text(json.dumps(trello_board())[:500])
    bad = invoke(
        monkeypatch, database_url, "import", "trello", str(truncated), "--workspace", ws["id"]
    )
    assert bad.exit_code == 1
    assert "not valid JSON" in bad.stderr

    unknown = invoke(
        monkeypatch, database_url, "import", "trello", good, "--workspace", str(uuid.uuid4())
    )
    assert unknown.exit_code == 1
    assert "workspace not found" in unknown.stderr
    monkeypatch.setenv("IMPORTS_MAX_BYTES", "1024")
    big = invoke(monkeypatch, database_url, "import", "trello", good, "--workspace", ws["id"])
    assert big.exit_code == 1
    assert "more than the limit of 1024" in big.stderr

    assert log_head(database_url) == head
