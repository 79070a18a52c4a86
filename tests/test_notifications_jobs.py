"""Notification jobs against real services: PostgreSQL, Redis (a dramatiq namespace of the
test's own), a worker in this process and a real SMTP server (aiosmtpd) on loopback.

- A due date within 24 h: the reminder job notifies the assignee, once per item and date.
- The e-mail digest job mails what the user wants by e-mail, once per period, with an
  unsubscribe link that works; ``immediate`` users get each notification at once.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import dramatiq
import pytest
import redis
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from application.config import Settings
from application.notifications import NotificationsService
from interfaces.bootstrap import open_event_store
from interfaces.http.app import create_app
from interfaces.jobs import configure_broker
from interfaces.jobs.notifications import close_services, remind_due, send_notification_digests
from interfaces.jobs.notifications_schedule import DigestClock, delay_until, period_ends
from tests.support.api import Api
from tests.support.databases import make_settings
from tests.support.live_server import free_port
from tests.support.mail import REDIS_URL, Inbox
from tests.support.notifications import inbox, make_team, settle, types_of, uid, wait_for_inbox

APP_URL = "https://app.example"
pytestmark = pytest.mark.slow


@pytest.fixture
def smtp() -> Iterator[Inbox]:
    handler = Inbox()
    handler.port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def settings(fresh_database_url, smtp) -> Iterator[Settings]:
    namespace = f"worksync-test-{uuid.uuid4().hex}"
    yield make_settings(
        fresh_database_url,
        redis_url=REDIS_URL,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_from="WorkSync <no-reply@worksync.test>",
        app_url=APP_URL,
        jobs_namespace=namespace,
    )
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


def mails_to(smtp: Inbox, user: dict, timeout: float = 0.0, count: int = 1) -> list:
    """The messages to ``user`` but the welcome mail (waiting up to ``timeout`` for
    ``count`` of them)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [
            m
            for r, m in zip(smtp.recipients, smtp.messages, strict=False)
            if r == [user["user"]["email"]] and not m["Subject"].startswith("Welcome")
        ]
        if len(found) >= count or time.monotonic() >= deadline:
            return found
        time.sleep(0.05)


def test_a_due_date_within_24_hours_reminds_the_assignee_once(running, settings):
    client, api = running
    team = make_team(api, client)
    due = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    body = {"title": "Pay invoices", "assignee_id": uid(team.bob), "due_date": due.isoformat()}
    made = client.post(
        f"/api/v1/projects/{team.project_id}/tasks", json=body, headers=team.ann["headers"]
    ).json()
    later = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    client.post(
        f"/api/v1/projects/{team.project_id}/tasks",
        json={"title": "Later", "assignee_id": uid(team.bob), "due_date": later},
        headers=team.ann["headers"],
    )
    page = wait_for_inbox(client, team.bob, lambda p: "due_soon" in types_of(p))
    [note] = [n for n in page["data"] if n["type"] == "due_soon"]
    assert note["title"] == "“Pay invoices” is due within 24 hours"
    assert note["data"]["task_id"] == made["id"]
    assert datetime.fromisoformat(note["data"]["due_date"]) == due

    # The same reminder again (a retry, a second clock): nothing new.
    remind_due.send("task", made["id"], due.isoformat())
    time.sleep(1.0)
    settle(settings.database_url)
    page = inbox(client, team.bob, type="due_soon")
    assert len(page["data"]) == 1  # "Later" waits for its own moment


def test_the_reminder_job_only_reminds_of_what_is_still_due(running, settings):
    client, api = running
    team = make_team(api, client)
    store = open_event_store(settings.database_url, pool_size=1)
    service = NotificationsService(store)
    try:
        due = (datetime.now(UTC) + timedelta(hours=30)).replace(microsecond=0)
        body = {"title": "T", "assignee_id": uid(team.bob), "due_date": due.isoformat()}
        task = client.post(
            f"/api/v1/projects/{team.project_id}/tasks", json=body, headers=team.ann["headers"]
        ).json()
        task_id = uuid.UUID(task["id"])
        early = service.remind_due(kind="task", item_id=task_id, due=due)
        assert (early.status, early.due) == ("not-due", due - timedelta(hours=24))
        soon = datetime.now(UTC) + timedelta(hours=7)
        moved = service.remind_due(kind="task", item_id=task_id, due=soon, now=soon)
        assert moved.status == "moot"  # the due date is another one by now
        client.put(
            f"/api/v1/tasks/{task['id']}", json={"status": "done"}, headers=team.ann["headers"]
        )
        now = due - timedelta(hours=1)
        assert service.remind_due(kind="task", item_id=task_id, due=due, now=now).status == "moot"
        gone = service.remind_due(kind="card", item_id=uuid.uuid4(), due=due, now=now)
        assert gone.status == "moot"
    finally:
        store.close()


def test_the_digest_job_mails_what_is_wanted_once_with_an_unsubscribe_link(running, settings, smtp):
    client, api = running
    team = make_team(api, client)
    prefs = {"digest": "hourly", "email": {"comment": False}}
    response = client.put(
        "/api/v1/notifications/preferences", json=prefs, headers=team.bob["headers"]
    )
    assert response.status_code == 200, response.text
    for title in ("Alpha", "Beta"):
        body = {"title": title, "assignee_id": uid(team.bob)}
        client.post(f"/api/v1/columns/{team.todo}/cards", json=body, headers=team.ann["headers"])
    made = client.post(
        f"/api/v1/projects/{team.project_id}/tasks",
        json={"title": "Gamma", "assignee_id": uid(team.bob)},
        headers=team.ann["headers"],
    ).json()
    wait_for_inbox(client, team.bob, lambda p: len(p["data"]) == 3)
    client.post(  # a comment: shown in the app, not wanted by e-mail
        f"/api/v1/tasks/{made['id']}/comments", json={"content": "hi"}, headers=team.ann["headers"]
    )
    wait_for_inbox(client, team.bob, lambda p: len(p["data"]) == 4)
    assert mails_to(smtp, team.bob) == []  # hourly: nothing mailed at once

    until = datetime.now(UTC)
    send_notification_digests.send("hourly", until.isoformat())
    [message] = mails_to(smtp, team.bob, timeout=30)
    assert message["Subject"] == "Your WorkSync digest: 3 unread notifications"
    text = message.get_content()
    for title in ("Alpha", "Beta"):
        assert f"You were assigned the card “{title}”" in text
    assert "You were assigned the task “Gamma”" in text
    assert "A new comment" not in text

    # The same period again (a retry, a second clock): no second mail.
    send_notification_digests.send("hourly", until.isoformat())
    time.sleep(1.5)
    settle(settings.database_url)
    assert len(mails_to(smtp, team.bob, timeout=1.0, count=2)) == 1

    link = re.search(r"https://app\.example(/api/v1/notifications/unsubscribe/\S+)", text)
    assert link, text
    assert message["List-Unsubscribe"] == f"<https://app.example{link.group(1)}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    response = client.get(link.group(1))  # the page asks; the form (or one click) POSTs
    assert response.status_code == 200, response.text
    prefs = client.get("/api/v1/notifications/preferences", headers=team.bob["headers"]).json()
    assert prefs["digest"] != "off"
    response = client.post(link.group(1), content="List-Unsubscribe=One-Click")
    assert response.status_code == 200, response.text
    prefs = client.get("/api/v1/notifications/preferences", headers=team.bob["headers"]).json()
    assert prefs["digest"] == "off"
    assert prefs["digest_until"] is not None


def test_immediate_mail_goes_out_per_notification(running, settings, smtp):
    client, api = running
    team = make_team(api, client)
    client.put(
        "/api/v1/notifications/preferences",
        json={"digest": "immediate"},
        headers=team.cid["headers"],
    )
    body = {"title": "Urgent", "assignee_id": uid(team.cid)}
    client.post(f"/api/v1/columns/{team.todo}/cards", json=body, headers=team.ann["headers"])
    [message] = mails_to(smtp, team.cid, timeout=30)
    assert message["Subject"] == "You were assigned the card “Urgent”"
    assert "/api/v1/notifications/unsubscribe/" in message.get_content()
    assert message["List-Unsubscribe"].startswith(f"<{APP_URL}/api/v1/notifications/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_the_digest_clock_queues_each_period_once():
    clock = DigestClock(Settings(redis_url=None))
    now = datetime(2026, 12, 3, 9, 12, tzinfo=UTC)
    hour = datetime(2026, 12, 3, 9, tzinfo=UTC)
    assert period_ends(now) == {"hourly": hour, "daily": hour}  # daily: local midnights
    assert [d for d, _ in clock.due(now)] == ["hourly", "daily"]
    assert clock.due(now + timedelta(minutes=30)) == []
    assert clock.due(now + timedelta(minutes=50)) == [
        ("hourly", datetime(2026, 12, 3, 10, tzinfo=UTC)),
        ("daily", datetime(2026, 12, 3, 10, tzinfo=UTC)),
    ]
    assert delay_until(now + timedelta(days=5), now) == 12 * 3600 * 1000  # capped
    assert delay_until(now - timedelta(hours=1), now) == 0
