"""Parking a poison event (``worksync projections skip``): the projections it stopped run to
lag 0, the decision is recorded and shown, and every rebuild path passes over it too."""

from __future__ import annotations

import json
import uuid
from uuid import UUID

import psycopg
from fastapi.testclient import TestClient

from interfaces.http.app import create_app
from projections import control
from projections.registry import all_projections
from tests.support.api import Api
from tests.support.cli import invoke
from tests.support.databases import make_settings
from tests.support.kanban import create_board, create_card, create_project
from tests.support.projections import caught_up, wait_until

NAMES = [p.name for p in all_projections()]
CARD = {
    "description": None,
    "priority": "medium",
    "due_date": None,
    "estimated_hours": None,
    "assignee_id": None,
    "labels": [],
}


def read_model(url: str) -> dict[str, list[str]]:
    tables = [t for p in all_projections() for t in p.tables]
    with psycopg.connect(url) as conn:
        return {t: sorted(map(repr, conn.execute(f"SELECT * FROM {t}"))) for t in tables}


def failed(url: str) -> dict[str, int]:
    return {s.name: s.error_position for s in control.status(url, NAMES) if s.state == "failed"}


def test_a_parked_poison_event_unsticks_its_projections_and_rebuilds_agree(
    monkeypatch, fresh_database_url
):
    url = fresh_database_url
    settings = make_settings(url, projection_wait_timeout=2.0)
    with TestClient(create_app(settings, with_projector=True)) as client:
        api = Api(client)
        user = api.register()
        workspace = api.create_workspace(user)
        project = create_project(client, user, workspace["id"])
        board = create_board(client, user, project)
        column = board["columns"][0]["id"]
        for title in ("one", "two"):
            create_card(client, user, column, title)
        # What issue 12 found: text with NUL appended through the services, which no
        # projection can store. Written below the HTTP layer (input validation is apart).
        container = client.app.state.container
        actor = UUID(user["user"]["id"])
        kanban, workspaces = container.kanban, container.workspaces
        poisons = [
            kanban.create_card(
                board_id=UUID(board["id"]),
                column_id=UUID(column),
                actor_id=actor,
                fields={**CARD, "title": "a\0b"},
                position=None,
                override_reason=None,
            ),
            workspaces.create(actor_id=actor, name="w\0", description=None, settings={}),
        ]
        kanban.create_card(
            board_id=UUID(board["id"]),
            column_id=UUID(column),
            actor_id=actor,
            fields={**CARD, "title": "after"},
            position=None,
            override_reason=None,
        )
        wait_until(lambda: {"kanban", "workspaces", "activities"} <= set(failed(url)))

        skipped: list[tuple[str, int]] = []
        while stuck := failed(url):
            for name, position in stuck.items():
                result = invoke(
                    monkeypatch, url, "projections", "skip", name, str(position),
                    "--reason", "NUL in a text field (issue 12)", "--by", "ops@example.com",
                )  # fmt: skip
                assert result.exit_code == 0, result.output
                assert "it runs again" in result.output
                skipped.append((name, position))
            wait_until(lambda: caught_up(url) or bool(failed(url)), timeout=20)
        wait_until(lambda: caught_up(url))
        poisoned = {p.position for p in poisons}
        assert {position for _, position in skipped} <= poisoned | {p - 1 for p in poisoned}
        assert {"kanban", "card_activities", "workspaces", "activities"} <= {
            name for name, _ in skipped
        }
        titles = [c["title"] for c in client.get(f"/api/v1/boards/{board['id']}",
                  headers=user["headers"]).json()["columns"][0]["cards"]]  # fmt: skip
        # The board moves on past the poison (its placement still shows a card: only the
        # creation, with the title, was parked).
        assert titles[:2] == ["one", "two"]
        assert titles[-1] == "after"

    status = invoke(monkeypatch, url, "projections", "status", "--json")
    rows = {r["name"]: r for r in json.loads(status.stdout)}
    assert all(r["lag"] == 0 and r["state"] == "running" for r in rows.values())
    for name, position in skipped:
        [parked] = [p for p in rows[name]["parked"] if p["position"] == position]
        assert parked["reason"] == "NUL in a text field (issue 12)"
        assert parked["parked_by"] == "ops@example.com"
        assert parked["topic"].startswith("domain.")
        assert parked["parked_at"]
    table = invoke(monkeypatch, url, "projections", "status")
    assert "parked" in table.stdout  # a second table lists the parked events
    assert all(str(position) in table.stdout for _, position in skipped)

    live = read_model(url)
    result = invoke(monkeypatch, url, "projections", "rebuild", "--all", "--jobs", "2")
    assert result.exit_code == 0, result.output
    assert read_model(url) == live  # parallel groups, kanban's batch path, catch-up
    result = invoke(monkeypatch, url, "projections", "rebuild", "--all", "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert read_model(url) == live  # one pass
    for name in ("kanban", "workspaces"):
        assert invoke(monkeypatch, url, "projections", "rebuild", name).exit_code == 0
    assert read_model(url) == live
    assert all(s.lag == 0 and s.state == "running" for s in control.status(url, NAMES))


def test_skip_refuses_what_cannot_be_parked(monkeypatch, fresh_database_url):
    url = fresh_database_url
    with TestClient(create_app(make_settings(url), with_projector=True)) as client:
        Api(client).register()
        wait_until(lambda: caught_up(url))
    head = control.status(url, ["users"])[0].head

    def skip(*args: str):
        return invoke(monkeypatch, url, "projections", "skip", *args)

    applied = skip("users", str(head), "--reason", "late")
    assert applied.exit_code == 1
    assert "already applied" in applied.output
    missing = skip("users", str(head + 100), "--reason", "no such event")
    assert missing.exit_code == 1
    assert "no event at position" in missing.output
    assert skip("nope", "1", "--reason", "x").exit_code == 2
    assert skip("users", "1").exit_code == 2  # --reason is required
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM projection_parked").fetchone()[0] == 0


def test_a_parked_event_is_passed_over_by_the_live_runner(monkeypatch, fresh_database_url):
    """Parked ahead of the runner (paused): on resume it applies everything but that event."""
    url = fresh_database_url
    with TestClient(create_app(make_settings(url), with_projector=True)) as client:
        api = Api(client)
        user = api.register()
        wait_until(lambda: caught_up(url))
        control.set_state(url, "workspaces", "paused")
        names = [f"w-{uuid.uuid4().hex[:6]}" for _ in range(3)]
        for name in names:
            client.app.state.container.workspaces.create(
                actor_id=UUID(user["user"]["id"]), name=name, description=None, settings={}
            )
        with psycopg.connect(url) as conn:
            [middle] = conn.execute(
                "SELECT notification_id FROM worksync_events WHERE topic LIKE"
                " 'domain.workspaces:Workspace.Created' ORDER BY 1 OFFSET 1 LIMIT 1"
            ).fetchone()
        result = invoke(monkeypatch, url, "projections", "skip", "workspaces", str(middle),
                        "--reason", "test")  # fmt: skip
        assert result.exit_code == 0, result.output
        assert "runs again" not in result.output  # paused stays paused
        assert control.status(url, ["workspaces"])[0].state == "paused"
        control.set_state(url, "workspaces", "running")
        wait_until(lambda: caught_up(url))
        with psycopg.connect(url) as conn:
            shown = {r[0] for r in conn.execute("SELECT name FROM workspaces")}
    assert shown == {names[0], names[2]}
