"""The auto-stop job: a delayed dramatiq message on the real Redis broker (127.0.0.1:6379),
consumed by a real worker, stops a forgotten timer at its limit with a note. Each test has
its own dramatiq namespace."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import dramatiq
import pytest
import redis
from structlog.testing import capture_logs

from application.adapters.store import EventStore, eventstore_env
from application.time_tracking import TimeTrackingService
from domain.time_tracking import TimeEntry
from interfaces.jobs import configure_broker
from interfaces.jobs.time_tracking import (
    QUEUE,
    DramatiqAutoStop,
    auto_stop_timer,
    close_services,
    make_auto_stop_scheduler,
)
from tests.support.databases import make_settings
from tests.support.time_tracking import FakeClock, a_project

REDIS_URL = "redis://127.0.0.1:6379/0"
TIMEOUT = 20.0


@pytest.fixture
def namespace(database_url: str) -> Iterator[str]:
    name = f"worksync-test-{uuid.uuid4().hex}"
    yield name
    close_services()
    configure_broker(make_settings(database_url, redis_url=None))
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{name}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def store(database_url: str) -> Iterator[EventStore]:
    store = EventStore(env=eventstore_env(database_url, pool_size=2))
    yield store
    store.close()


def wait_for(condition: Any, timeout: float = TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.05)
    return condition()


def test_the_worker_stops_a_forgotten_timer_at_its_limit(database_url, namespace, store):
    settings = make_settings(database_url, redis_url=REDIS_URL, jobs_namespace=namespace)
    broker = configure_broker(settings)
    scheduler = make_auto_stop_scheduler(settings)
    assert isinstance(scheduler, DramatiqAutoStop)
    # The timer started 59 s ago by the server's clock; its limit is 60 s of running time.
    started_at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=59)
    service = TimeTrackingService(store, scheduler, clock=FakeClock(started_at))
    user, project_id = a_project(store)
    service.update_settings(user_id=user, auto_stop_duration=60)
    entry_id = service.start(user_id=user, project_id=project_id, description="forgotten").value

    client = redis.Redis.from_url(REDIS_URL)
    try:
        assert client.hlen(f"{namespace}:{QUEUE}.DQ.msgs") == 1  # delayed, in Redis
    finally:
        client.close()
    assert store.load(TimeEntry, entry_id).is_running

    worker = dramatiq.Worker(broker, worker_threads=1)
    worker.start()
    try:
        stopped = wait_for(lambda: store.load(TimeEntry, entry_id).stopped)
    finally:
        worker.stop()
    assert stopped, "the worker did not stop the timer"
    entry = store.load(TimeEntry, entry_id)
    assert entry.duration() == 60
    assert entry.end_time == started_at + timedelta(seconds=60)
    assert "Stopped automatically after 0h 01m" in entry.note
    last = list(store.repository.event_store.get(entry_id))[-1]
    assert (type(last).__name__, last.reason) == ("Stopped", "auto_stop")
    # The timer is free: a new one starts.
    service.clock = FakeClock(datetime.now(UTC))
    service.start(user_id=user, project_id=project_id, description="next")


def test_the_job_is_idempotent_and_ignores_paused_or_replaced_timers(
    database_url, namespace, store
):
    broker = configure_broker(make_settings(database_url, redis_url=None))  # stub: no Redis
    clock = FakeClock(datetime(2024, 1, 8, 9, tzinfo=UTC))
    user, project_id = a_project(store)
    service = TimeTrackingService(store, DramatiqAutoStop(), clock=clock)
    service.update_settings(user_id=user, auto_stop_duration=600)
    entry_id = service.start(user_id=user, project_id=project_id, description="d").value
    at = store.load(TimeEntry, entry_id).auto_stop_at()
    assert broker.queues[f"{QUEUE}.DQ"].qsize() == 1

    clock.advance(minutes=5)
    service.pause(user_id=user)
    assert (
        service.auto_stop(user_id=user, entry_id=entry_id, expected_at=at).status == "obsolete"
    )  # paused meanwhile
    clock.advance(minutes=30)
    service.resume(user_id=user)  # queues its own message for the new limit moment
    assert broker.queues[f"{QUEUE}.DQ"].qsize() == 2
    new_at = store.load(TimeEntry, entry_id).auto_stop_at()
    assert new_at == clock.now + timedelta(minutes=5)
    assert service.auto_stop(user_id=user, entry_id=entry_id, expected_at=at).status == "obsolete"
    early = service.auto_stop(user_id=user, entry_id=entry_id, expected_at=new_at)
    assert (early.status, early.due) == ("not-due", new_at)
    clock.advance(hours=1)
    done = service.auto_stop(user_id=user, entry_id=entry_id, expected_at=new_at)
    assert done.status == "stopped"
    assert done.position is not None
    assert store.load(TimeEntry, entry_id).duration() == 600
    assert (
        service.auto_stop(user_id=user, entry_id=entry_id, expected_at=new_at).status == "obsolete"
    )  # again: nothing


def test_an_early_message_queues_itself_again(database_url, namespace, store):
    broker = configure_broker(make_settings(database_url, redis_url=None))
    user, project_id = a_project(store)
    service = TimeTrackingService(store, clock=lambda: datetime.now(UTC))
    service.update_settings(user_id=user, auto_stop_duration=3600)
    entry_id = service.start(user_id=user, project_id=project_id, description="d").value
    at = store.load(TimeEntry, entry_id).auto_stop_at()
    auto_stop_timer.fn(str(user), str(entry_id), at.isoformat())  # an hour early
    assert broker.queues[f"{QUEUE}.DQ"].qsize() == 1
    assert store.load(TimeEntry, entry_id).is_running


def test_without_redis_nothing_is_queued(database_url):
    settings = make_settings(database_url, redis_url=None)
    assert not isinstance(make_auto_stop_scheduler(settings), DramatiqAutoStop)


def test_a_queue_that_is_down_does_not_fail_the_timer_command(database_url, namespace):
    down = make_settings(database_url, redis_url="redis://127.0.0.1:1/0", jobs_namespace=namespace)
    configure_broker(down)
    with capture_logs() as logs:
        DramatiqAutoStop().schedule(uuid.uuid4(), uuid.uuid4(), datetime.now(UTC))
    assert any(e["event"] == "time_tracking.auto_stop.not_queued" for e in logs)
