"""``milestone_overdue``: a milestone's assignees are notified once when its due date has ended
(in the workspace's time zone) and it is neither completed nor cancelled.

End to end with a fresh database, Redis (a dramatiq namespace of the test's own) and a worker
in this process: the notifications policy writes a "notification_due" outbox row of kind
"milestone" for the moment the milestone becomes overdue, the dispatcher queues the
``remind_due`` job, the job notifies. The use case's rules are checked directly too.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import dramatiq
import psycopg
import pytest
import redis
from fastapi.testclient import TestClient

from application.config import Settings
from application.notifications import NotificationsService
from application.notifications_overdue import MilestoneOverdue
from domain.milestones_schedule import overdue_at
from interfaces.bootstrap import open_event_store
from interfaces.http.app import create_app
from interfaces.jobs import configure_broker
from interfaces.jobs.notifications import close_services, remind_due
from tests.support.api import Api
from tests.support.databases import make_settings
from tests.support.mail import REDIS_URL
from tests.support.notifications import inbox, make_team, settle, uid, wait_for_inbox

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(fresh_database_url) -> Iterator[Settings]:
    namespace = f"worksync-test-{uuid.uuid4().hex}"
    yield make_settings(fresh_database_url, redis_url=REDIS_URL, jobs_namespace=namespace)
    close_services()
    configure_broker(Settings(redis_url=None))
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{namespace}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def running(settings) -> Iterator[tuple[TestClient, Api]]:
    """The API with its projector (policy, outbox dispatcher) and a job worker."""
    app = create_app(settings, with_projector=True)
    worker = dramatiq.Worker(configure_broker(settings), worker_threads=2)
    with TestClient(app) as client:
        worker.start()
        try:
            yield client, Api(client)
        finally:
            worker.stop()


def milestone(client, team, due: date, assignees: list[str], **extra) -> dict:
    body = {"title": "Launch", "due_date": due.isoformat(), "assignee_ids": assignees, **extra}
    response = client.post(
        f"/api/v1/projects/{team.project_id}/milestones", json=body, headers=team.ann["headers"]
    )
    assert response.status_code == 201, response.text
    return response.json()


def outbox_keys(database_url: str, milestone_id: str) -> list[str]:
    """The milestone's reminder rows (their payload is cleared once delivered; the key says
    which moment each is for), once the policies that write them have caught up: a command
    answers when the projections have its events, a policy's outbox row may come later."""
    settle(database_url)
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT key FROM outbox WHERE kind = 'notification_due' AND key LIKE %s ORDER BY id",
            (f"notifications:due:milestone:{milestone_id}:%",),
        ).fetchall()
    return [r[0].rsplit(f"{milestone_id}:", 1)[1] for r in rows]


def test_an_overdue_milestone_notifies_its_assignees_once(running, settings):
    client, api = running
    team = make_team(api, client)
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    late = milestone(client, team, yesterday, [uid(team.bob), uid(team.cid), uid(team.ann)])
    for person in (team.bob, team.cid, team.ann):  # the creator too: nobody acted on it
        page = wait_for_inbox(client, person, lambda p: p["data"] != [], type="milestone_overdue")
        [note] = page["data"]
        assert note["title"] == "Milestone “Launch” is overdue"
        assert note["message"] == f"It was due on {yesterday.isoformat()}"
        assert note["data"]["milestone_id"] == late["id"]
        assert note["data"]["due_date"] == yesterday.isoformat()
    [due] = outbox_keys(settings.database_url, late["id"])
    assert due == f"{(yesterday + timedelta(days=1)).isoformat()}T00:00:00+00:00"

    # The same job again (a retry, a second dispatcher): nothing new.
    remind_due.send("milestone", late["id"], due)
    time.sleep(1.0)
    settle(settings.database_url)
    assert len(inbox(client, team.bob, type="milestone_overdue")["data"]) == 1


def test_a_milestone_not_yet_overdue_or_closed_notifies_nobody(running, settings):
    client, api = running
    team = make_team(api, client)
    response = client.put(
        f"/api/v1/workspaces/{team.workspace_id}",
        json={"settings": {"timezone": "America/New_York"}},
        headers=team.ann["headers"],
    )
    assert response.status_code == 200, response.text
    later = milestone(client, team, date(2030, 1, 31), [uid(team.bob)])
    [at] = outbox_keys(settings.database_url, later["id"])
    assert at == "2030-02-01T05:00:00+00:00"  # midnight in New York
    yesterday = datetime.now(UTC).date() - timedelta(days=2)  # even in New York
    done = milestone(client, team, yesterday, [uid(team.cid)])  # its own job may run first
    response = client.put(
        f"/api/v1/milestones/{done['id']}",
        json={"status": "completed"},
        headers=team.ann["headers"],
    )
    assert response.status_code == 200, response.text
    store = open_event_store(settings.database_url, pool_size=1)
    service = MilestoneOverdue(NotificationsService(store))
    try:
        due = datetime.fromisoformat(at)
        early = service.remind(milestone_id=uuid.UUID(later["id"]), due=due)
        assert (early.status, early.due) == ("not-due", due)
        ended = service.remind(milestone_id=uuid.UUID(later["id"]), due=due, now=due)
        assert ended.status == "sent"
        again = service.remind(milestone_id=uuid.UUID(later["id"]), due=due, now=due)
        assert again.status == "moot"  # once per milestone and due date
        response = client.put(
            f"/api/v1/milestones/{later['id']}",
            json={"due_date": "2030-03-01"},
            headers=team.ann["headers"],
        )
        assert response.status_code == 200, response.text
        moved = service.remind(milestone_id=uuid.UUID(later["id"]), due=due, now=due)
        assert moved.status == "moot"  # another due date by now: its own row
        assert outbox_keys(settings.database_url, later["id"])[1] == "2030-03-02T05:00:00+00:00"
        closed_due = overdue_at(yesterday, "America/New_York")
        closed = service.remind(milestone_id=uuid.UUID(done["id"]), due=closed_due)
        assert closed.status == "moot"
        gone = service.remind(milestone_id=uuid.uuid4(), due=closed_due)
        assert gone.status == "moot"
    finally:
        store.close()
    settle(settings.database_url)
    notes = inbox(client, team.bob, type="milestone_overdue")["data"]
    assert [n["data"]["milestone_id"] for n in notes] == [later["id"]]


def test_overdue_is_the_end_of_the_due_day_in_the_zone():
    assert overdue_at(date(2025, 1, 8), "UTC") == datetime(2025, 1, 9, tzinfo=UTC)
    assert overdue_at(date(2025, 1, 8), "America/New_York") == datetime(2025, 1, 9, 5, tzinfo=UTC)
    assert overdue_at(date(2025, 7, 8), "Europe/Paris") == datetime(2025, 7, 8, 22, tzinfo=UTC)
