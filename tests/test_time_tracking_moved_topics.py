"""TimeTracker moved from domain.time_tracking to domain.time_tracking_tracker (issue 13):
events stored under the old topics still load, replay and project as before."""

from __future__ import annotations

import uuid
from datetime import timedelta

import psycopg
from eventsourcing.utils import get_topic, resolve_topic

from application.time_tracking import TimeTrackingService
from domain.time_tracking import TimeEntry, TimeTracker
from interfaces.bootstrap import open_event_store
from projections.rebuild import rebuild
from projections.registry import affected_by, all_projections, by_name
from tests.support.time_tracking import a_project

OLD, NEW = "domain.time_tracking:TimeTracker", "domain.time_tracking_tracker:TimeTracker"
TABLES = ("time_entries", "time_tracking_settings", "active_timers")


def tables(url: str) -> dict[str, list[tuple]]:
    with psycopg.connect(url) as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in TABLES}


def stored_topics(url: str, tracker_id: uuid.UUID) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT topic FROM worksync_events WHERE originator_id = %s"
            " ORDER BY originator_version",
            (tracker_id,),
        ).fetchall()
    return [r[0] for r in rows]


def test_the_old_topics_resolve_to_the_moved_class():
    assert get_topic(TimeTracker) == NEW
    assert resolve_topic(OLD) is TimeTracker
    for name in ("Created", "SettingsChanged", "Booked", "Released"):
        assert resolve_topic(f"{OLD}.{name}") is getattr(TimeTracker, name)
    assert get_topic(TimeEntry.Started) == "domain.time_tracking:TimeEntry.Started"
    assert by_name("time_tracking").handles_topic(f"{OLD}.SettingsChanged")
    assert "time_tracking" in affected_by([f"{OLD}.Created"], all_projections())


def test_events_stored_under_the_old_topics_load_replay_and_project(fresh_database_url):
    url = fresh_database_url
    store = open_event_store(url, pool_size=1)
    try:
        user, project_id = a_project(store)
        service = TimeTrackingService(store)
        service.update_settings(user_id=user, timezone="Europe/Berlin", auto_stop_timer=False)
        end = service.now() - timedelta(hours=2)
        kept = service.record(
            user_id=user,
            project_id=project_id,
            start_time=end - timedelta(hours=1),
            end_time=end,
            description="a",
        ).value
        dropped = service.record(
            user_id=user,
            project_id=project_id,
            start_time=end,
            end_time=end + timedelta(minutes=30),
            description="b",
        ).value
        service.delete(entry_id=dropped, actor_id=user, expected=None)
        running = service.start(user_id=user, project_id=project_id, description="c").value
        tracker_id = TimeTracker.id_for(user)
        rebuild(url, by_name("time_tracking"), store.mapper)
        projected = tables(url)
        assert len(projected["active_timers"]) == 1
    finally:
        store.close()

    # The log as written before the move.
    with psycopg.connect(url) as conn:
        moved = conn.execute(
            "UPDATE worksync_events SET topic = replace(topic, %s, %s) WHERE topic LIKE %s",
            (NEW, OLD, f"{NEW}.%"),
        ).rowcount
    topics = stored_topics(url, tracker_id)
    assert moved == len(topics) >= 6
    assert all(t.startswith(f"{OLD}.") for t in topics)
    assert {t.rpartition(".")[2] for t in topics} == {
        "Created",
        "SettingsChanged",
        "Booked",
        "Released",
    }

    store = open_event_store(url, pool_size=1)
    try:
        # Load and replay: the old topics decode to the moved class's events.
        events = list(store.repository.event_store.get(tracker_id))
        assert [get_topic(type(e)) for e in events] == [t.replace(OLD, NEW) for t in topics]
        tracker = store.load(TimeTracker, tracker_id)
        assert tracker.settings["timezone"] == "Europe/Berlin"
        assert tracker.timer == str(running)
        assert set(tracker.bookings) == {str(kept), str(running)}
        # Project: a rebuild from the old topics gives the same rows.
        rebuild(url, by_name("time_tracking"), store.mapper)
        assert tables(url) == projected
        # Commands go on from the old events (and write under the new topics).
        TimeTrackingService(store).stop(user_id=user)
        assert store.load(TimeTracker, tracker_id).timer is None
        assert stored_topics(url, tracker_id)[-1].startswith(f"{NEW}.")
    finally:
        store.close()
