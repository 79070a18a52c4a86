"""Sentry when SENTRY_DSN is set: unexpected errors of the API and of jobs reach it, without
personal data. A tiny HTTP server on loopback stands in for Sentry and keeps the envelopes."""

from __future__ import annotations

import gzip
import json
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import dramatiq
import pytest
import sentry_sdk
from dramatiq.brokers.stub import StubBroker
from fastapi.testclient import TestClient

from interfaces.error_reporting import init_error_reporting, scrub
from interfaces.http.app import create_app
from tests.support.api import Api
from tests.support.databases import make_settings

SECRET = "s3cr3t-token-value-0123456789"


class FakeSentry(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Envelopes)
        self.events: list[dict[str, Any]] = []
        self.received = threading.Condition()

    @property
    def dsn(self) -> str:
        return f"http://publickey@127.0.0.1:{self.server_address[1]}/1"


class Envelopes(BaseHTTPRequestHandler):
    server: FakeSentry

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        elif encoding == "br":
            import brotli

            body = brotli.decompress(body)
        for line in body.splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if isinstance(item, dict) and "exception" in item:
                with self.server.received:
                    self.server.events.append(item)
                    self.server.received.notify_all()
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def sentry() -> Iterator[FakeSentry]:
    server = FakeSentry()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        sentry_sdk.flush(timeout=2)
        sentry_sdk.init()  # no DSN: reporting off again for the other tests
        server.shutdown()
        server.server_close()


def wait_for_events(sentry: FakeSentry, count: int = 1) -> list[dict[str, Any]]:
    sentry_sdk.flush(timeout=5)
    with sentry.received:
        sentry.received.wait_for(lambda: len(sentry.events) >= count, timeout=10)
    return list(sentry.events)


def test_an_api_error_reaches_sentry_without_personal_data(database_url: str, sentry):
    settings = make_settings(database_url, sentry_dsn=sentry.dsn, sentry_environment="ci")
    app = create_app(settings)
    victim = "ann.person@example.com"

    @app.get("/boom-for-sentry")
    async def boom() -> None:
        raise RuntimeError(f"failed for {victim} with access_token={SECRET}")

    with TestClient(app, raise_server_exceptions=False) as client:
        user = Api(client).register(email=victim)
        answer = client.get(
            f"/boom-for-sentry?access_token={SECRET}&email={victim}",
            headers={**user["headers"], "Cookie": f"session={SECRET}"},
        )
        assert answer.status_code == 500
    [event, *_] = wait_for_events(sentry)
    text = json.dumps(event)
    assert victim not in text
    assert SECRET not in text
    assert user["access_token"] not in text
    assert event["environment"] == "ci"
    assert event["tags"]["component"] == "api"
    [exception] = event["exception"]["values"][-1:]
    assert exception["type"] == "RuntimeError"
    assert "failed for [REDACTED]" in exception["value"]
    request = event["request"]
    assert "data" not in request
    assert "cookies" not in request
    assert {k.lower() for k in request.get("headers", {})} <= {
        "accept", "accept-encoding", "content-type", "content-length", "user-agent",
        "x-request-id",
    }  # fmt: skip
    assert set(event.get("user", {})) <= {"id"}


def test_a_failing_job_reaches_sentry(sentry):
    settings = make_settings("postgresql://unused@127.0.0.1/unused", sentry_dsn=sentry.dsn)
    assert init_error_reporting(settings, "worker")
    broker = StubBroker()  # after init: dramatiq's integration adds its middleware

    @dramatiq.actor(broker=broker, actor_name="sentry_failing_job", max_retries=0)
    def failing() -> None:
        raise ValueError("job failed for bob@example.com")

    worker = dramatiq.Worker(broker, worker_threads=1)
    worker.start()
    try:
        failing.send()
        broker.join(failing.queue_name, fail_fast=False)
        worker.join()
    finally:
        worker.stop()
    events = wait_for_events(sentry)
    [event] = [e for e in events if e["exception"]["values"][-1]["type"] == "ValueError"]
    assert event["tags"]["component"] == "worker"
    assert "bob@example.com" not in json.dumps(event)


def test_without_a_dsn_nothing_is_set_up(database_url: str):
    assert init_error_reporting(make_settings(database_url), "api") is False


def test_scrub_keeps_only_what_is_not_personal():
    event = {
        "message": "login of eve@example.com with Bearer abcdefghijklmnop",
        "request": {
            "url": "http://x/api/v1/auth/login",
            "method": "POST",
            "data": {"password": "hunter2"},
            "cookies": {"a": "b"},
            "query_string": "token=abc",
            "headers": {"Authorization": "Bearer x", "User-Agent": "curl", "X-Real-Ip": "1.2.3.4"},
            "env": {"REMOTE_ADDR": "1.2.3.4"},
        },
        "user": {"id": "u1", "email": "eve@example.com", "ip_address": "1.2.3.4"},
        "server_name": "host-1",
        "breadcrumbs": {"values": [{"message": "postgresql://app:pw@db/x"}]},
    }
    clean = scrub(event, {})
    assert clean["user"] == {"id": "u1"}
    assert clean["request"] == {
        "url": "http://x/api/v1/auth/login",
        "method": "POST",
        "query_string": "[REDACTED]",
        "headers": {"User-Agent": "curl"},
    }
    assert "eve@example.com" not in clean["message"]
    assert "abcdefghijklmnop" not in clean["message"]
    assert "pw@" not in json.dumps(clean["breadcrumbs"])
    assert "server_name" not in clean


def test_a_process_reports_as_its_first_component(sentry):
    settings = make_settings("postgresql://unused@127.0.0.1/unused", sentry_dsn=sentry.dsn)
    assert init_error_reporting(settings, "api")
    assert init_error_reporting(settings, "projector")  # the API's in-process projector
    sentry_sdk.capture_exception(RuntimeError("once"))
    [event] = wait_for_events(sentry)
    assert event["tags"]["component"] == "api"
