"""Concurrent timer commands of one user: exactly one timer runs. The writers use separate
event stores (as separate processes would), so they race on the database, not on a lock in
this process."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from application.adapters.store import EventStore, eventstore_env
from application.errors import Conflict
from application.time_tracking import TimeTrackingService
from domain.time_tracking import TimeEntry, TimeTracker
from tests.support.time_tracking import a_project, new_tracker

ROUNDS = 8


@pytest.fixture
def stores(database_url: str) -> Iterator[list[EventStore]]:
    stores = [EventStore(env=eventstore_env(database_url, pool_size=2)) for _ in range(2)]
    yield stores
    for store in stores:
        store.close()


def race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls at the same moment; each result is a value or the exception raised."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait()
        try:
            return call()
        except Exception as e:
            return e

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def started_entries(store: EventStore, user: uuid.UUID) -> list[uuid.UUID]:
    """Every entry the user's tracker ever booked as a timer (from the log)."""
    events = store.repository.event_store.get(TimeTracker.id_for(user))
    return list(dict.fromkeys(e.entry_id for e in events if getattr(e, "timer", False)))


def test_two_concurrent_starts_run_exactly_one_timer(stores):
    services = [TimeTrackingService(store) for store in stores]
    for _ in range(ROUNDS):
        user, project_id = a_project(stores[0])
        results = race(
            [
                lambda s=s, u=user, p=project_id, i=i: s.start(
                    user_id=u, project_id=p, description=f"from {i}"
                )
                for i, s in enumerate(services)
            ]
        )
        winners = [r for r in results if not isinstance(r, Exception)]
        losers = [r for r in results if isinstance(r, Exception)]
        assert len(winners) == 1, results
        assert len(losers) == 1
        assert isinstance(losers[0], Conflict)
        assert losers[0].code == "timer-running"
        assert losers[0].extra["running_entry_id"] == str(winners[0].value)
        tracker = stores[1].load(TimeTracker, TimeTracker.id_for(user))
        assert tracker.timer == str(winners[0].value)
        assert started_entries(stores[1], user) == [winners[0].value]


def test_with_stop_running_on_start_concurrent_starts_leave_one_timer_running(stores):
    services = [TimeTrackingService(store) for store in stores]
    for _ in range(ROUNDS // 2):
        user, project_id = a_project(stores[0])
        services[0].update_settings(user_id=user, stop_running_on_start=True)
        results = race(
            [
                lambda s=s, u=user, p=project_id: s.start(user_id=u, project_id=p, description="d")
                for s in services * 2
            ]
        )
        assert not [r for r in results if isinstance(r, Exception)], results
        entries = [stores[1].load(TimeEntry, r.value) for r in results]
        running = [e for e in entries if e.is_running]
        assert len(running) == 1
        assert all(e.stopped for e in entries if e is not running[0])
        tracker = stores[1].load(TimeTracker, TimeTracker.id_for(user))
        assert tracker.timer == str(running[0].id)
        for entry in entries:  # still no overlaps between them
            assert tracker.conflicts(entry.id, entry.segments) == []


def test_two_concurrent_start_requests(api, client):
    me = new_tracker(api, client)
    body = {"project_id": me.project_id, "description": "twice"}
    responses = race(
        [lambda: client.post("/api/v1/time-tracking/start", json=body, headers=me.headers)] * 2
    )
    assert sorted(r.status_code for r in responses) == [201, 409]
    [created] = [r.json() for r in responses if r.status_code == 201]
    assert me.ok("GET", "/time-tracking/active")["id"] == created["id"]
    listed = me.ok("GET", "/time-entries", params={"running": "true"})["data"]
    assert [e["id"] for e in listed] == [created["id"]]
