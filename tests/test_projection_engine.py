"""The projection engine: exactly once across crashes, poison events, rebuilds, elections."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from typing import Any

import psycopg
import pytest

import migrations
from domain.workspaces import Workspace
from interfaces.bootstrap import open_event_store
from projections import control
from projections.base import Projection, handles
from projections.engine import Projector
from projections.rebuild import rebuild
from projections.registry import all_projections, by_name
from projections.workspaces import WorkspacesProjection
from tests.support.projections import (
    caught_up,
    create_workspaces,
    snapshot,
    wait_until,
    workspace_event_positions,
)

LIVE_TABLES = ("users", "workspaces", "workspace_members", "activities")


def start_projector_process(url: str, batch_size: int = 40) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PROJECTION_BATCH_SIZE": str(batch_size),
        "LOG_LEVEL": "warning",
    }
    return subprocess.Popen(
        [sys.executable, "-c", "from interfaces.cli import main; main()", "projector"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def assert_each_workspace_event_applied_once(url: str) -> None:
    expected = workspace_event_positions(url)
    with psycopg.connect(url) as conn:
        positions = [
            r[0] for r in conn.execute("SELECT position FROM activities ORDER BY position")
        ]
    assert positions == expected  # none skipped, none twice


@pytest.mark.slow
def test_killing_the_projector_mid_stream_neither_skips_nor_repeats_an_event(fresh_database_url):
    url = fresh_database_url
    store = open_event_store(url, pool_size=2)
    process = start_projector_process(url)
    kills = 0
    writer = threading.Thread(target=create_workspaces, args=(store, 400))
    writer.start()
    try:
        # Kills while the log grows, and at least three: a fast writer may be done before
        # the projector (a new process each time) has caught up.
        while writer.is_alive() or (kills < 3 and not caught_up(url)):
            writer.join(0.4)
            process.send_signal(signal.SIGKILL)  # no chance to finish its batch cleanly
            process.wait()
            kills += 1
            process = start_projector_process(url)
        wait_until(lambda: caught_up(url), timeout=60)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        store.close()
    assert kills >= 2
    assert_each_workspace_event_applied_once(url)
    with psycopg.connect(url) as conn:
        count, versions = conn.execute(
            "SELECT count(*), array_agg(DISTINCT version) FROM workspaces"
        ).fetchone()
    assert count == 400
    assert versions == [2]
    live = {t: snapshot(url, t) for t in LIVE_TABLES}
    mapper = open_event_store(url, pool_size=1).mapper
    for projection in all_projections():
        rebuild(url, projection, mapper)
    assert {t: snapshot(url, t) for t in LIVE_TABLES} == live


class Fragile(Projection):
    """A projection that cannot digest the workspace called 'poison' until fixed."""

    name = "fragile"
    tables = ("fragile_rows",)
    fixed = False

    @handles(Workspace.Created)
    def created(self, cur: Any, e: Any, position: int) -> None:
        if e.name == "poison" and not type(self).fixed:
            raise ValueError("cannot digest this event")
        cur.execute(
            "INSERT INTO fragile_rows (id, name) VALUES (%s, %s)", (e.originator_id, e.name)
        )


def test_a_poison_event_stops_only_its_projection_and_resume_continues(fresh_database_url):
    url = fresh_database_url
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE fragile_rows (id uuid PRIMARY KEY, name text NOT NULL)")
    store = open_event_store(url, pool_size=2)
    names = ["a", "b", "poison", "c", "d"]
    for name in names:  # all in the log before the projector starts: one batch
        store.save(
            Workspace(name=name, description=None, settings={}, owner_id=Workspace.create_id())
        )
    poison_position = workspace_event_positions(url)[2]
    Fragile.fixed = False
    projector = Projector([Fragile(), WorkspacesProjection()], url, store.mapper, batch_size=100)
    projector.start()
    try:
        wait_until(lambda: caught_up(url, ["workspaces"]))
        wait_until(lambda: control.status(url, ["fragile"])[0].state == "failed")
        fragile = control.status(url, ["fragile"])[0]
        assert fragile.error_position == poison_position
        assert "cannot digest" in fragile.error
        assert fragile.position == poison_position - 1
        with psycopg.connect(url) as conn:
            applied = [r[0] for r in conn.execute("SELECT name FROM fragile_rows ORDER BY name")]
        assert applied == ["a", "b"]  # the events before the poison in its batch were kept
        # The healthy projection went on past the poison event.
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM workspaces").fetchone()[0] == 5

        Fragile.fixed = True
        control.set_state(url, "fragile", "running")
        wait_until(lambda: caught_up(url, ["fragile"]))
        with psycopg.connect(url) as conn:
            applied = [r[0] for r in conn.execute("SELECT name FROM fragile_rows ORDER BY name")]
        assert applied == sorted(names)
    finally:
        projector.stop()
        store.close()


def test_rebuild_during_writes_swaps_in_tables_equal_to_a_quiet_rebuild(fresh_database_url):
    url = fresh_database_url
    store = open_event_store(url, pool_size=2)
    projector = Projector(all_projections(), url, store.mapper, batch_size=50)
    projector.start()
    try:
        create_workspaces(store, 50, prefix="before")
        writer = threading.Thread(
            target=create_workspaces, args=(store, 150), kwargs={"prefix": "during"}
        )
        writer.start()
        for name in ("workspaces", "activities"):
            rebuild(url, by_name(name), store.mapper, batch_size=20)
        writer.join()
        wait_until(lambda: caught_up(url))
        live = {t: snapshot(url, t) for t in LIVE_TABLES}
        assert len(live["workspaces"]) == 200
        assert_each_workspace_event_applied_once(url)
        for projection in all_projections():
            rebuild(url, projection, store.mapper)
        assert {t: snapshot(url, t) for t in LIVE_TABLES} == live
    finally:
        projector.stop()
        store.close()


def test_rebuild_keeps_the_tables_constraints_and_index_names(fresh_database_url):
    url = fresh_database_url
    store = open_event_store(url, pool_size=1)
    create_workspaces(store, 3)

    def indexes() -> list[tuple]:
        with psycopg.connect(url) as conn:
            return conn.execute(
                "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
                " AND tablename IN ('workspaces', 'workspace_members') ORDER BY 1, 2"
            ).fetchall()

    before = indexes()
    report = rebuild(url, by_name("workspaces"), store.mapper)
    assert report.events == 6
    assert indexes() == before
    with psycopg.connect(url) as conn:
        schemas = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'rebuild_%'"
        ).fetchall()
    assert schemas == []
    store.close()


def test_two_projectors_elect_one_runner_per_projection_and_fail_over(fresh_database_url):
    url = fresh_database_url
    store = open_event_store(url, pool_size=2)
    first = Projector(all_projections(), url, store.mapper)
    second = Projector(all_projections(), url, store.mapper)
    first.start()
    second.start()
    try:
        create_workspaces(store, 20)
        wait_until(lambda: caught_up(url))
        for a, b in zip(first.workers, second.workers, strict=True):
            assert a.is_leader != b.is_leader, a.projection.name
        assert_each_workspace_event_applied_once(url)
        first.stop()
        create_workspaces(store, 20, prefix="after")
        wait_until(lambda: caught_up(url), timeout=30)
        assert all(w.is_leader for w in second.workers)
        assert_each_workspace_event_applied_once(url)
    finally:
        first.stop()
        second.stop()
        store.close()


def test_pause_holds_a_projection_back_until_resumed(fresh_database_url):
    url = fresh_database_url
    store = open_event_store(url, pool_size=2)
    projector = Projector(all_projections(), url, store.mapper)
    projector.start()
    try:
        control.set_state(url, "workspaces", "paused")
        create_workspaces(store, 5)
        wait_until(lambda: caught_up(url, ["activities"]))
        paused = control.status(url, ["workspaces"])[0]
        assert paused.state == "paused"
        assert paused.lag > 0
        control.set_state(url, "workspaces", "running")
        wait_until(lambda: caught_up(url, ["workspaces"]))
    finally:
        projector.stop()
        store.close()


def test_migrations_are_recorded_and_idempotent(fresh_database_url):
    assert migrations.apply(fresh_database_url) == []
    with psycopg.connect(fresh_database_url) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]
    assert versions == [v for v, _ in migrations.migration_files()]
