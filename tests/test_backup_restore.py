"""Backup -> restore -> rebuild round trip: a workspace made through the API (workspace,
project, board, cards moved, tasks, comments, time entries, milestones, notifications) plus
a generated log of every context is backed up, restored into an empty database, and every
read table and every backed-up table holds the same rows; the policies start at the
restored head, so nothing is sent again. A damaged backup and a non-empty database are
refused."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from interfaces.backup import NOT_BACKED_UP, backed_up_tables, backup, projection_tables
from interfaces.backup_restore import BackupInvalid, DatabaseNotEmpty, read_manifest, restore
from interfaces.bootstrap import POLICY_NAMES, migrate, open_event_store
from interfaces.cli import event_mapper
from interfaces.http.app import create_app
from sample_log import generate
from tests.support.api import Api
from tests.support.cli import invoke
from tests.support.databases import drop_database, make_settings, recreate_database
from tests.support.notifications import make_team, uid, wait_for_inbox
from tests.support.projections import caught_up, wait_until

COPY = (
    "COPY worksync_events (originator_id, originator_version, topic, state)"
    " FROM STDIN (FORMAT BINARY)"
)


@pytest.fixture
def empty_database() -> Iterator[str]:
    """A database with nothing in it (not even the schema)."""
    name = f"worksync_restore_{uuid.uuid4().hex[:12]}"
    yield recreate_database(name)
    drop_database(name)


def rows_of(url: str, tables: list[str]) -> dict[str, list[str]]:
    """Each table's rows as a sorted list (a row set, compared whole)."""
    with psycopg.connect(url) as conn:
        return {
            t: sorted(r[0] for r in conn.execute(f"SELECT row_to_json(x)::text FROM {t} x"))
            for t in tables
        }


def build_workspace(client: TestClient) -> None:
    """Every context through the API, by several people."""
    api = Api(client)
    team = make_team(api, client)
    ann, bob = team.ann, team.bob
    h = ann["headers"]
    columns = [c["id"] for c in team.board["columns"]]
    cards = []
    for i in range(3):
        response = client.post(
            f"/api/v1/columns/{columns[0]}/cards",
            json={"title": f"Card {i}", "assignee_id": uid(bob)},
            headers=h,
        )
        assert response.status_code == 201, response.text
        cards.append(response.json())
    for card in cards[:2]:
        response = client.put(
            f"/api/v1/cards/{card['id']}/move", json={"column_id": columns[1]}, headers=h
        )
        assert response.status_code == 200, response.text
    task = client.post(
        f"/api/v1/projects/{team.project_id}/tasks",
        json={"title": "Write the plan", "assignee_id": uid(bob), "estimated_hours": 3},
        headers=h,
    )
    assert task.status_code == 201, task.text
    handle = bob["user"]["email"].split("@")[0]
    comment = client.post(
        f"/api/v1/cards/{cards[0]['id']}/comments",
        json={"content": f"@{handle} have a look"},
        headers=h,
    )
    assert comment.status_code == 201, comment.text
    entry = client.post(
        "/api/v1/time-entries",
        json={
            "project_id": team.project_id,
            "description": "planning",
            "start_time": "2026-01-05T09:00:00Z",
            "end_time": "2026-01-05T10:30:00Z",
        },
        headers=h,
    )
    assert entry.status_code == 201, entry.text
    milestone = client.post(
        f"/api/v1/projects/{team.project_id}/milestones",
        json={"title": "Beta", "due_date": "2030-01-31", "assignee_ids": [uid(bob)]},
        headers=h,
    )
    assert milestone.status_code == 201, milestone.text
    wait_for_inbox(client, bob, lambda p: len(p["data"]) >= 3)


def load_generated_log(url: str, events: int) -> None:
    store = open_event_store(url, pool_size=1)
    try:
        with psycopg.connect(url, autocommit=True) as conn:

            def sink(rows: list[tuple]) -> None:
                with conn.cursor() as cur, cur.copy(COPY) as copy:
                    copy.set_types(["uuid", "int8", "text", "bytea"])
                    for row in rows:
                        copy.write_row(row)

            generate(store.mapper, events, sink, store.keys.destroy)
    finally:
        store.close()


def settled(url: str) -> bool:
    with psycopg.connect(url) as conn:
        head = conn.execute(
            "SELECT coalesce(max(notification_id), 0) FROM worksync_events"
        ).fetchone()[0]
        behind = conn.execute(
            "SELECT count(*) FROM projection_tracking WHERE position < %s", (head,)
        ).fetchone()[0]
    return behind == 0 and caught_up(url)


@pytest.fixture(scope="module")
def populated(template_db) -> Iterator[str]:
    """A database holding the API-made workspace and a generated log, settled: built once
    for this module (30 s under load), as the tests only read it (a backup reads in a
    read-only transaction; a restore into it is refused before it is touched)."""
    name = f"worksync_populated_{uuid.uuid4().hex[:12]}"
    url = recreate_database(name, template_db)
    settings = make_settings(url)
    with TestClient(create_app(settings, with_projector=True)) as client:
        build_workspace(client)
        load_generated_log(url, 1500)
        wait_until(lambda: settled(url), timeout=120)
    yield url
    drop_database(name)


def test_backup_restore_rebuild_gives_every_table_back(populated, empty_database, tmp_path):
    source, target = populated, empty_database
    read_tables = sorted(projection_tables())
    with psycopg.connect(source) as conn:
        kept = backed_up_tables(conn)
        head = conn.execute("SELECT max(notification_id) FROM worksync_events").fetchone()[0]
    assert {"worksync_events", "user_keys", "user_sessions", "password_reset_tokens"} <= set(kept)
    assert {"security_events", "idempotency_keys", "resource_workloads"} <= set(kept)
    assert not set(kept) & (set(read_tables) | NOT_BACKED_UP)
    before = rows_of(source, read_tables + kept)
    assert before["activities"]
    assert before["card_activities"]
    assert before["notifications"]
    assert before["time_entries"]
    assert before["milestones"]
    assert before["comments"]

    report = backup(source, tmp_path / "b")
    assert report.head == head
    manifest = read_manifest(tmp_path / "b")
    assert manifest["log_head"] == head
    assert manifest["created_at"]
    assert manifest["tables"]["worksync_events"]["rows"] == len(before["worksync_events"])

    restored = restore(
        target,
        tmp_path / "b",
        migrate=migrate,
        mapper_factory=event_mapper,
        policy_names=POLICY_NAMES,
    )
    assert restored.head == head
    after = rows_of(target, read_tables + kept)
    for table in read_tables + kept:
        assert after[table] == before[table], table
    with psycopg.connect(target) as conn:
        positions = dict(conn.execute("SELECT name, position FROM projection_tracking"))
        assert all(positions[name] == head for name in POLICY_NAMES)
        assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
        # still partitioned, the restored months with partitions of their own
        kinds = dict(
            conn.execute(
                "SELECT relname, relkind::text FROM pg_class WHERE relname = ANY(%s)",
                (["activities", "card_activities", "notifications"],),
            )
        )
        assert set(kinds.values()) == {"p"}
        assert conn.execute("SELECT count(*) FROM activities_default").fetchone()[0] == 0
        # the log goes on from the restored head
        next_id = conn.execute("SELECT nextval('worksync_events_notification_id_seq')").fetchone()
        assert next_id[0] == head + 1

    # Running the service on the restored database sends nothing again.
    with TestClient(create_app(make_settings(target), with_projector=True)) as client:
        wait_until(lambda: settled(target), timeout=60)
        assert client.get("/ready").status_code == 200
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
        assert (
            conn.execute("SELECT max(notification_id) FROM worksync_events").fetchone()[0] == head
        )


def test_a_damaged_or_foreign_backup_is_refused_before_the_database_is_touched(
    fresh_database_url, empty_database, tmp_path
):
    backup(fresh_database_url, tmp_path / "b")
    target = tmp_path / "b" / "user_keys.copy.gz"
    with gzip.open(target, "wb") as f:
        f.write(b"")
    with pytest.raises(BackupInvalid, match="user_keys"):
        read_manifest(tmp_path / "b")

    backup(fresh_database_url, tmp_path / "c")
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text())
    manifest["log_head"] += 1
    (tmp_path / "c" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BackupInvalid, match="manifest"):
        restore(
            empty_database,
            tmp_path / "c",
            migrate=migrate,
            mapper_factory=event_mapper,
            policy_names=POLICY_NAMES,
        )
    with pytest.raises(BackupInvalid, match="not a backup"):
        read_manifest(tmp_path / "nothing")
    with psycopg.connect(empty_database) as conn:  # untouched: not even migrated
        assert conn.execute("SELECT to_regclass('worksync_events')").fetchone()[0] is None


def test_restore_refuses_a_database_that_holds_anything(populated, tmp_path, monkeypatch):
    result = invoke(monkeypatch, populated, "backup", str(tmp_path / "b"))
    assert result.exit_code == 0, result.output
    assert "log head" in result.output
    with pytest.raises(DatabaseNotEmpty, match="worksync_events"):
        restore(
            populated,
            tmp_path / "b",
            migrate=migrate,
            mapper_factory=event_mapper,
            policy_names=POLICY_NAMES,
        )
    result = invoke(monkeypatch, populated, "restore", str(tmp_path / "b"))
    assert result.exit_code == 1
    assert "not empty" in result.output
    result = invoke(monkeypatch, populated, "backup", str(tmp_path / "b"))  # not over a backup
    assert result.exit_code == 1
    assert "not an empty directory" in result.output


def test_the_restore_command_restores_into_an_empty_database(
    fresh_database_url, empty_database, tmp_path, monkeypatch
):
    Path(tmp_path / "b").mkdir()  # an empty directory is fine
    assert invoke(monkeypatch, fresh_database_url, "backup", str(tmp_path / "b")).exit_code == 0
    result = invoke(monkeypatch, empty_database, "restore", str(tmp_path / "b"))
    assert result.exit_code == 0, result.output
    assert "restored log head 0" in result.output
