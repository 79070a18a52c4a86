"""Webhook deliveries against real services: PostgreSQL, Redis (a dramatiq namespace of the
test's own), a job worker in this process and a real HTTP receiver on loopback.

- Signatures verify (Stripe's ``t=,v1=`` over ``"<t>.<body>"``), the body names the event,
  position, time, actor and resource; only the events asked for are sent; ping, redelivery.
- Retries happen (with the same delivery id) and order holds: a later event waits for the
  earlier one to succeed.
- An endpoint failing for the whole window is disabled, its admins notified; nothing more is
  sent until it is resumed.
- An address refused at delivery (after DNS) is never called.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import dramatiq
import psycopg
import pytest
import redis
from fastapi.testclient import TestClient

from application.config import Settings
from application.webhooks_delivery import verify
from interfaces.http.app import create_app
from interfaces.jobs import configure_broker
from interfaces.jobs.webhooks import close_senders
from tests.support.api import Api
from tests.support.authz import add_member
from tests.support.databases import make_settings
from tests.support.kanban import create_board, create_project
from tests.support.mail import REDIS_URL
from tests.support.notifications import wait_for_inbox
from tests.support.webhooks import deliveries, receiving, register, wait_for_deliveries

pytestmark = pytest.mark.slow
SECRET = "test-secret-0123456789abcdef"


def _settings(database_url: str, **overrides: Any) -> Settings:
    return make_settings(
        database_url,
        redis_url=REDIS_URL,
        jobs_namespace=f"worksync-test-{uuid.uuid4().hex}",
        webhooks_allow_http=True,
        webhooks_allow_private=True,
        webhooks_backoff_seconds=0.05,
        **overrides,
    )


@pytest.fixture
def start(fresh_database_url) -> Iterator[Callable[..., tuple[TestClient, Api]]]:
    """``start(**settings)``: the API with its projector and a job worker (the worker's
    settings may differ: ``worker={...}``)."""
    running: list[tuple[Any, dramatiq.Worker, Settings]] = []

    def begin(worker: dict[str, Any] | None = None, **overrides: Any) -> tuple[TestClient, Api]:
        settings = _settings(fresh_database_url, **overrides)
        client = TestClient(create_app(settings, with_projector=True))
        client.__enter__()
        worker_settings = settings.model_copy(update=worker or {})
        job_worker = dramatiq.Worker(configure_broker(worker_settings), worker_threads=2)
        job_worker.start()
        running.append((client, job_worker, settings))
        return client, Api(client)

    yield begin
    for client, job_worker, settings in running:
        job_worker.stop()
        client.__exit__(None, None, None)
        close_senders()
        configure_broker(Settings(redis_url=None))
        connection = redis.Redis.from_url(REDIS_URL)
        try:
            keys = list(connection.scan_iter(match=f"{settings.jobs_namespace}*"))
            if keys:
                connection.delete(*keys)
        finally:
            connection.close()


def _workspace(api: Api) -> tuple[dict, str]:
    owner = api.register(name="Ann")
    return owner, api.create_workspace(owner, name="Hooked")["id"]


def test_deliveries_are_signed_and_say_what_happened(start):
    client, api = start()
    owner, workspace_id = _workspace(api)
    with receiving() as receiver:
        hook = register(
            client, owner, workspace_id, receiver.url, events=["project:created"], secret=SECRET
        )
        assert hook["secret"] == SECRET
        project_id = create_project(client, owner, workspace_id, name="Launch")
        create_board(client, owner, project_id)  # kanban:board:created: not asked for
        [got] = receiver.wait_for(lambda seen: len(seen) == 1)

        signature = got.headers["WorkSync-Signature"]
        timestamp, v1 = (part.split("=", 1)[1] for part in signature.split(","))
        expected = hmac.new(
            SECRET.encode(), f"{timestamp}.".encode() + got.body, hashlib.sha256
        ).hexdigest()
        assert hmac.compare_digest(v1, expected)
        assert abs(int(timestamp) - time.time()) < 60
        assert verify(SECRET, signature, got.body, tolerance=300, now=int(time.time()))
        assert not verify(
            "another-secret-0123456", signature, got.body, tolerance=300, now=int(time.time())
        )
        assert not verify(SECRET, signature, got.body + b" ", tolerance=300, now=int(time.time()))

        body = got.json
        assert body["event"] == "project:created" == got.headers["WorkSync-Event"]
        assert body["resource"] == {"type": "project", "id": project_id}
        assert body["actor"] == {"id": owner["user"]["id"]}
        assert body["workspace_id"] == workspace_id
        assert isinstance(body["position"], int)
        assert body["position"] > 0
        assert body["time"]
        assert body["data"]["name"] == "Launch"
        assert got.headers["Content-Type"] == "application/json"
        assert got.path == "/hooks"

        # the job records the outcome once the receiver has answered: wait for it
        [logged] = wait_for_deliveries(
            client, owner, workspace_id, hook["id"], lambda found: found[0]["status"] != "pending"
        )
        assert logged["id"] == got.headers["WorkSync-Delivery"]
        assert logged["status"] == "succeeded"
        assert logged["attempts"] == 1
        assert logged["response_code"] == 200
        assert logged["latency_ms"] >= 0
        assert logged["response_excerpt"] == '{"ok": true}'

        # A ping, then a redelivery by hand of the first delivery.
        base = f"/api/v1/workspaces/{workspace_id}/webhooks/{hook['id']}"
        assert client.post(f"{base}/ping", headers=owner["headers"]).status_code == 202
        receiver.wait_for(lambda seen: len(seen) == 2)
        assert receiver.events() == ["project:created", "ping"]
        response = client.post(
            f"{base}/deliveries/{logged['id']}/redeliver", headers=owner["headers"]
        )
        assert response.status_code == 202, response.text
        seen = receiver.wait_for(lambda seen: len(seen) == 3)
        assert seen[2].body == got.body
        assert seen[2].headers["WorkSync-Delivery"] != logged["id"]
        # the receiver has the redelivery; its outcome is recorded once the job saw the answer
        found = wait_for_deliveries(
            client,
            owner,
            workspace_id,
            hook["id"],
            lambda d: len(d) == 3 and all(x["status"] != "pending" for x in d),
        )
        redelivered = [d for d in found if d["redelivery_of"] == logged["id"]]
        assert len(redelivered) == 1
        assert redelivered[0]["status"] == "succeeded"
        detail = client.get(f"{base}/deliveries/{logged['id']}", headers=owner["headers"]).json()
        assert detail["body"] == body


def test_retries_keep_the_order_of_the_log(start):
    client, api = start()
    owner, workspace_id = _workspace(api)
    failures = {"left": 3}

    def answer(got: Any) -> int:
        if got.json["data"].get("name") == "First" and failures["left"] > 0:
            failures["left"] -= 1
            return 500
        return 200

    with receiving() as receiver:
        receiver.answer = answer
        hook = register(client, owner, workspace_id, receiver.url, events=["project:created"])
        for name in ("First", "Second", "Third"):
            create_project(client, owner, workspace_id, name=name)
        seen = receiver.wait_for(lambda seen: len(seen) == 6)
        names = [r.json["data"]["name"] for r in seen]
        assert names == ["First"] * 4 + ["Second", "Third"]
        first_ids = {r.headers["WorkSync-Delivery"] for r in seen[:4]}
        assert len(first_ids) == 1  # a retry is the same delivery
        positions = [r.json["position"] for r in seen[3:]]
        assert positions == sorted(positions)
        found = wait_for_deliveries(
            client,
            owner,
            workspace_id,
            hook["id"],
            lambda d: len(d) == 3 and all(x["status"] == "succeeded" for x in d),
        )
        by_id = {d["id"]: d for d in found}
        first = by_id[first_ids.pop()]
        assert first["attempts"] == 4
        assert first["response_code"] == 200
        # Backoff: the four attempts of the first spread over more than the base delays.
        assert seen[3].at - seen[0].at >= 0.05 * (1 + 2 + 4) / 2


def test_an_endpoint_failing_for_the_window_is_disabled_and_its_admins_notified(start):
    client, api = start(webhooks_retry_seconds=0.4, webhooks_disable_after_seconds=0.8)
    owner, workspace_id = _workspace(api)
    admin, member = api.register(name="Adi"), api.register(name="Mel")
    add_member(client, workspace_id, owner, admin["user"]["id"], "admin")
    add_member(client, workspace_id, owner, member["user"]["id"], "member")
    with receiving() as receiver:
        receiver.answer = lambda got: 503
        hook = register(client, owner, workspace_id, receiver.url, events=["project:created"])
        base = f"/api/v1/workspaces/{workspace_id}/webhooks/{hook['id']}"
        for name in ("A", "B", "C"):
            create_project(client, owner, workspace_id, name=name)

        deadline = time.monotonic() + 20
        while (endpoint := client.get(base, headers=owner["headers"]).json())["active"]:
            assert time.monotonic() < deadline, endpoint
            time.sleep(0.05)
        assert "failed for" in endpoint["disabled_reason"]
        assert endpoint["failing_since"] is not None
        for person in (owner, admin):
            page = wait_for_inbox(
                client, person, lambda p: "webhook_disabled" in [n["type"] for n in p["data"]]
            )
            [note] = [n for n in page["data"] if n["type"] == "webhook_disabled"]
            assert note["data"]["webhook_id"] == hook["id"]
        member_types = [
            n["type"]
            for n in client.get("/api/v1/notifications", headers=member["headers"]).json()["data"]
        ]
        assert "webhook_disabled" not in member_types

        found = wait_for_deliveries(
            client,
            owner,
            workspace_id,
            hook["id"],
            lambda d: all(x["status"] != "pending" for x in d),
        )
        statuses = {x["status"] for x in found}
        assert "failed" in statuses
        assert statuses <= {"failed", "cancelled"}
        assert all(x["response_code"] in (503, None) for x in found)

        # Disabled: a new event reaches nobody.
        calls = len(receiver.received)
        create_project(client, owner, workspace_id, name="D")
        time.sleep(1.0)
        assert len(receiver.received) == calls
        assert len(deliveries(client, owner, workspace_id, hook["id"])) == len(found)

        # Resumed: delivered again.
        receiver.answer = lambda got: 200
        response = client.put(base, json={"active": True}, headers=owner["headers"])
        assert response.status_code == 200
        assert response.json()["active"] is True
        assert response.json()["disabled_reason"] is None
        create_project(client, owner, workspace_id, name="E")
        seen = receiver.wait_for(lambda seen: seen[-1].json["data"].get("name") == "E")
        assert "D" not in [r.json["data"].get("name") for r in seen]


def test_an_address_refused_at_delivery_is_never_called(start, fresh_database_url):
    # Registered while private addresses were allowed (as a name that later resolves to one
    # would be), delivered by a worker that refuses them: the check after resolution holds.
    client, api = start(worker={"webhooks_allow_private": False})
    owner, workspace_id = _workspace(api)
    with receiving() as receiver:
        hook = register(client, owner, workspace_id, receiver.url, events=["project:created"])
        create_project(client, owner, workspace_id, name="Secret plans")
        found = wait_for_deliveries(
            client, owner, workspace_id, hook["id"], lambda d: d and d[0]["attempts"] >= 2
        )
        assert found[0]["status"] == "pending"
        assert found[0]["error"] == "refused: 127.0.0.1 is refused: 127.0.0.1 is a loopback address"
        assert found[0]["response_code"] is None
        assert receiver.received == []
    with psycopg.connect(fresh_database_url, autocommit=True) as conn:
        failing = conn.execute(
            "SELECT failing_since FROM webhook_targets WHERE endpoint_id = %s", (hook["id"],)
        ).fetchone()[0]
    assert failing is not None
