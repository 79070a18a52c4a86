"""E-mails follow from the log (application/mail.py MailPolicy, the outbox, the mail job):
with Redis down the commands still answer 2xx and the mail goes out once Redis is back; across
SIGKILLs of the projector every mail is delivered exactly once; no link token is in the log.

Real services: PostgreSQL, Redis (a namespace of the test's own), aiosmtpd on loopback."""

from __future__ import annotations

import re
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import dramatiq
import psycopg
import pytest
import redis
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from application.config import Settings
from domain.identity import Invitee, PasswordReset, User
from domain.workspaces import Workspace
from interfaces.bootstrap import open_event_store
from interfaces.http.app import create_app
from interfaces.jobs import configure_broker
from interfaces.jobs.mail import OutboxMail, build_message
from projections.outbox import OutboxItem
from tests.support.api import Api
from tests.support.databases import make_settings
from tests.support.live_server import free_port, worksync
from tests.support.mail import REDIS_URL, Inbox
from tests.support.projections import wait_until

APP_URL = "https://app.example"


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    handler = Inbox()
    handler.port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def namespace() -> Iterator[str]:
    name = f"worksync-test-{uuid.uuid4().hex}"
    yield name
    configure_broker(Settings(redis_url=None))
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{name}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def mail_settings(url: str, inbox: Inbox, namespace: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "redis_url": REDIS_URL,
        "smtp_host": "127.0.0.1",
        "smtp_port": inbox.port,
        "smtp_from": "WorkSync <no-reply@worksync.test>",
        "app_url": APP_URL,
        "jobs_namespace": namespace,
    }
    values.update(overrides)
    return make_settings(url, **values)


class MailWorker:
    """A dramatiq worker in this process, on the test's namespace (runs the mail job)."""

    def __init__(self, settings: Settings) -> None:
        self.worker = dramatiq.Worker(configure_broker(settings), worker_threads=2)

    def __enter__(self) -> MailWorker:
        self.worker.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.worker.stop()


def outbox(url: str) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=psycopg.rows.dict_row) as conn:
        return conn.execute("SELECT * FROM outbox ORDER BY id").fetchall()


def in_log(url: str, secret: str) -> int:
    """How many stored events contain ``secret`` (bytes of their state)."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT count(*) FROM worksync_events WHERE position(%s in state) > 0",
            (secret.encode(),),
        ).fetchone()[0]


def received(inbox: Inbox) -> Counter:
    return Counter(
        (tuple(r), m["Subject"]) for r, m in zip(inbox.recipients, inbox.messages, strict=True)
    )


def test_with_redis_down_commands_answer_2xx_and_mail_follows_when_it_is_back(
    fresh_database_url, inbox, namespace
):
    url = fresh_database_url
    down = mail_settings(url, inbox, namespace, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    with TestClient(create_app(down, with_projector=True)) as client:
        api = Api(client)
        owner = api.register(email="owner@example.com", name="Olive")
        signup = client.post(
            "/api/v1/auth/register",
            json={"email": "ann@example.com", "password": "correct horse", "name": "Ann"},
        )
        assert signup.status_code == 201, signup.text
        forgot = client.post("/api/v1/auth/forgot-password", json={"email": "ann@example.com"})
        assert forgot.status_code == 202
        workspace = api.create_workspace(owner, name="Acme")
        invite = client.post(
            f"/api/v1/workspaces/{workspace['id']}/invite",
            json={"email": "carol@example.com", "role": "member"},
            headers=owner["headers"],
        )
        assert invite.status_code == 201, invite.text
        # Four mails decided, none handed over: each attempt failed and is retried.
        wait_until(lambda: len(outbox(url)) == 4 and all(r["attempts"] for r in outbox(url)))
        rows = outbox(url)
        assert all(r["enqueued_at"] is None and r["delivered_at"] is None for r in rows)
        assert all("ConnectionError" in r["last_error"] for r in rows)
        assert not inbox.messages

    up = mail_settings(url, inbox, namespace)  # the service restarts with Redis reachable
    with (
        MailWorker(up),
        TestClient(create_app(up, with_projector=True)) as client,
    ):
        wait_until(lambda: len(inbox.messages) >= 4, timeout=30)
        time.sleep(1)  # nothing more comes
        assert received(inbox) == {
            (("owner@example.com",), "Welcome to WorkSync, Olive"): 1,
            (("ann@example.com",), "Welcome to WorkSync, Ann"): 1,
            (("ann@example.com",), "Reset your WorkSync password"): 1,
            (("carol@example.com",), "Olive invited you to Acme on WorkSync"): 1,
        }
        wait_until(lambda: all(r["delivered_at"] for r in outbox(url)))
        assert all(r["payload"] == {} for r in outbox(url))  # addresses and links are gone

        bodies = {m["Subject"]: m.get_content() for m in inbox.messages}
        reset = re.search(r"reset-password\?token=([A-Za-z0-9_-]+)", bodies["Reset your"
                          " WorkSync password"]).group(1)  # fmt: skip
        accept = invite.json()["accept_url"]
        assert f"{APP_URL}{accept}" in bodies["Olive invited you to Acme on WorkSync"]
        for token in (reset, invite.json()["token"]):
            assert in_log(url, token) == 0  # derived from ids with the server secret

        done = client.post(
            "/api/v1/auth/reset-password", json={"token": reset, "password": "brand new one"}
        )
        assert done.status_code == 204
        login = client.post(
            "/api/v1/auth/login", json={"email": "ann@example.com", "password": "brand new one"}
        )
        assert login.status_code == 200


def write_mail_events(url: str, users: int, stop: threading.Event) -> Counter:
    """Sign-ups, reset requests and invitations straight into the log; the mails they mean."""
    store = open_event_store(url, pool_size=2)
    expected: Counter = Counter()
    try:
        inviter = User(email="inviter@example.com", name="Ivy", password_hash="x")
        workspace = Workspace(name="Acme", description=None, settings={}, owner_id=inviter.id)
        store.save(inviter, workspace)
        expected[(("inviter@example.com",), "Welcome to WorkSync, Ivy")] += 1
        for i in range(users):
            user = User(email=f"u{i}@example.com", name=f"U{i}", password_hash="x")
            store.save(user)
            expected[((f"u{i}@example.com",), f"Welcome to WorkSync, U{i}")] += 1
            if i % 3 == 0:
                store.save(PasswordReset(id=uuid.uuid4(), user_id=user.id))
                expected[((f"u{i}@example.com",), "Reset your WorkSync password")] += 1
            if i % 4 == 0:
                invitee = Invitee(
                    id=uuid.uuid4(),
                    email=f"guest{i}@example.com",
                    workspace_id=workspace.id,
                    inviter_id=inviter.id,
                    role="viewer",
                    expires_at=datetime.now(UTC) + timedelta(days=7),
                )
                store.save(invitee)
                expected[((f"guest{i}@example.com",), "Ivy invited you to Acme on WorkSync")] += 1
            time.sleep(0.01)
    finally:
        store.close()
        stop.set()
    return expected


@pytest.mark.slow
def test_sigkilling_the_projector_loses_no_mail_and_sends_none_twice(
    fresh_database_url, inbox, namespace
):
    url = fresh_database_url
    settings = mail_settings(url, inbox, namespace)
    env = {
        "REDIS_URL": REDIS_URL,
        "JOBS_NAMESPACE": namespace,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(inbox.port),
        "SMTP_FROM": "WorkSync <no-reply@worksync.test>",
        "APP_URL": APP_URL,
        "PROJECTION_BATCH_SIZE": "10",
    }
    done = threading.Event()
    outcome: dict[str, Counter] = {}
    writer = threading.Thread(
        target=lambda: outcome.setdefault("expected", write_mail_events(url, 150, done))
    )
    with MailWorker(settings):
        projector = worksync(url, "projector", **env)
        writer.start()
        kills = 0
        try:
            while not done.wait(0.7):
                projector.send_signal(signal.SIGKILL)  # mid-batch, mid-dispatch
                projector.wait()
                kills += 1
                projector = worksync(url, "projector", **env)
            writer.join()
            expected = outcome["expected"]
            wait_until(lambda: len(inbox.messages) >= sum(expected.values()), timeout=90)
            wait_until(lambda: all(r["delivered_at"] for r in outbox(url)), timeout=30)
            time.sleep(2)  # a duplicate would arrive now
        finally:
            projector.send_signal(signal.SIGKILL)
            projector.wait()
    assert kills >= 2
    assert received(inbox) == expected  # every mail, each exactly once
    rows = outbox(url)
    assert len(rows) == sum(expected.values())
    assert len({m["Message-ID"] for m in inbox.messages}) == len(rows)


def test_a_mail_handed_over_twice_is_sent_once(fresh_database_url, inbox, namespace):
    """The dispatcher died after queueing a row and before recording it: the row is queued
    again; the job sends its key once (and its Message-ID is the key's)."""
    url = fresh_database_url
    settings = mail_settings(url, inbox, namespace)
    key = "mail:42:0"
    payload = {
        "to": "ann@example.com",
        "template": "welcome",
        "context": {"name": "Ann", "app_url": APP_URL},
    }
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO outbox (key, kind, policy, position, payload)"
            " VALUES (%s, 'mail', 'mail', 42, %s)",
            (key, psycopg.types.json.Jsonb(payload)),
        )
    deliver = OutboxMail(settings)
    item = OutboxItem(key, "mail", payload, 0)
    assert deliver(item) is False  # handed to the queue, not delivered yet
    assert deliver(item) is False
    with MailWorker(settings):
        wait_until(lambda: inbox.messages and all(r["delivered_at"] for r in outbox(url)))
        time.sleep(1.5)  # the second job has run by now
    assert received(inbox) == {(("ann@example.com",), "Welcome to WorkSync, Ann"): 1}
    assert (
        inbox.messages[0]["Message-ID"]
        == build_message(settings, "x", "s", "b", key=key)["Message-ID"]
    )
    [row] = outbox(url)
    assert row["payload"] == {}
