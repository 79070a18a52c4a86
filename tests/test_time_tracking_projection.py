"""The time tracking read model equals a rebuild of it, and actual_hours of cards and tasks
survive a rebuild of any one projection (each owner derives its own from the log)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import psycopg
from fastapi.testclient import TestClient

from domain.time_tracking import TimeEntry, TimeTracker
from interfaces.bootstrap import open_event_store
from interfaces.http.app import create_app
from projections.rebuild import rebuild
from projections.registry import by_name
from tests.support.api import Api
from tests.support.databases import make_settings
from tests.support.kanban import create_board, create_card, create_project
from tests.support.time_tracking import Tracker, utc

TABLES = (
    "time_entries",
    "time_tracking_settings",
    "active_timers",
    "kanban_cards",
    "kanban_card_time",
    "tasks",
    "task_time",
)


def tables(url: str) -> dict[str, list[tuple]]:
    with psycopg.connect(url) as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in TABLES}


def test_a_rebuild_of_each_projection_gives_the_same_rows(fresh_database_url):
    url = fresh_database_url
    with TestClient(create_app(make_settings(url), with_projector=True)) as client:
        api = Api(client)
        user = api.register()
        workspace = api.create_workspace(user)
        me = Tracker(client, user, workspace, create_project(client, user, workspace["id"]))
        me.settings(timezone="Europe/Berlin", default_hourly_rate="70", auto_stop_duration=7200)
        board = create_board(client, user, me.project_id)
        card = create_card(client, user, board["columns"][0]["id"], "C")
        doomed = create_card(client, user, board["columns"][0]["id"], "D")
        task = me.ok("POST", f"/projects/{me.project_id}/tasks", 201, json={"title": "T"})
        e1 = me.record(utc(2024, 1, 1, 9), utc(2024, 1, 1, 10), task_id=card["id"])
        e2 = me.record(utc(2024, 1, 1, 10), utc(2024, 1, 1, 12), task_id=task["id"], tags=["x"])
        me.record(utc(2024, 1, 2, 9), utc(2024, 1, 2, 9, 30), task_id=doomed["id"])
        me.ok("PUT", f"/time-entries/{e2['id']}", json={"task_id": card["id"]})
        me.ok("PUT", f"/time-entries/{e1['id']}", json={"end_time": "2024-01-01T09:45:00Z"})
        me.start(task_id=task["id"])
        me.timer("pause")
        me.timer("resume")
        me.timer("stop")
        me.start(description="left running")
        me.ok("DELETE", f"/cards/{doomed['id']}", 204)
        before_card = me.ok("GET", f"/cards/{card['id']}")["actual_hours"]
        assert before_card == 2.75
        live = tables(url)
    assert len(live["time_entries"]) == 5
    assert len(live["active_timers"]) == 1
    store = open_event_store(url, pool_size=1)
    try:
        for name in ("time_tracking", "kanban", "tasks"):
            rebuild(url, by_name(name), store.mapper)
            assert tables(url) == live, name
    finally:
        store.close()


def test_a_busy_tracker_loads_from_its_snapshot_with_the_same_state(fresh_database_url):
    store = open_event_store(fresh_database_url, pool_size=1)
    try:
        user = uuid.uuid4()
        tracker = TimeTracker(user_id=user)
        tracker.change_settings(user, default_hourly_rate=Decimal("42.50"))
        for hour in range(240):
            entry = TimeEntry.record(
                start=utc(2024, 1, 1) + timedelta(hours=hour),
                end=utc(2024, 1, 1) + timedelta(hours=hour, minutes=45),
                workspace_id=uuid.uuid4(),
                project_id=uuid.uuid4(),
                user_id=user,
                actor_id=user,
                task_id=None,
                task_type=None,
                description="d",
                is_billable=True,
                hourly_rate=None,
                tags=[],
            )
            tracker.book(user, entry.id, entry.project_id, entry.segments, timer=False)
            store.save(tracker)
        with psycopg.connect(fresh_database_url) as conn:
            snapshots = conn.execute(
                "SELECT originator_version FROM worksync_snapshots WHERE originator_id = %s"
                " ORDER BY originator_version",
                (tracker.id,),
            ).fetchall()
        assert [v for (v,) in snapshots] == [100, 200]
        loaded = open_event_store(fresh_database_url, pool_size=1)
        try:
            copy = loaded.load(TimeTracker, tracker.id)
        finally:
            loaded.close()
        assert copy.version == tracker.version
        assert copy.bookings == tracker.bookings
        assert copy.settings == tracker.settings
    finally:
        store.close()
