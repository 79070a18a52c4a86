"""Outgoing mail against real services: Redis for the job queue (127.0.0.1:6379) and a real
SMTP server (aiosmtpd) started on loopback by the test. Each test uses its own dramatiq
namespace so parallel xdist workers never consume each other's jobs."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest
import redis
from aiosmtpd.controller import Controller
from structlog.testing import capture_logs

from application.config import Settings
from application.mail import TEMPLATES
from interfaces.jobs import (
    DramatiqMailer,
    LogMailer,
    TemplateError,
    configure_broker,
    make_mailer,
    render,
    run_worker,
    send_email,
)
from tests.support.live_server import free_port
from tests.support.mail import REDIS_URL, Inbox

APP_URL = "https://app.example"
DELIVERY_TIMEOUT = 20.0

CONTEXTS: dict[str, dict[str, Any]] = {
    "welcome": {"name": "Ann", "app_url": APP_URL},
    "password_reset": {
        "name": "Ann",
        "reset_url": f"{APP_URL}/reset-password?token=tok-123",
        "expires_minutes": 30,
    },
    "invite": {
        "inviter_name": "Bob",
        "workspace_name": "Acme",
        "accept_url": f"{APP_URL}/invites/inv-456",
        "role": "member",
        "expires_days": 7,
    },
}


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
    """A dramatiq namespace of this test's own; its Redis keys are removed afterwards, and
    the global broker is reset to the no-Redis stub."""
    name = f"worksync-test-{uuid.uuid4().hex}"
    yield name
    configure_broker(mail_settings(redis_url=None))
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{name}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def mail_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "redis_url": REDIS_URL,
        "smtp_host": "127.0.0.1",
        "smtp_port": 25,
        "smtp_user": None,
        "smtp_pass": None,
        "smtp_starttls": False,
        "smtp_from": "WorkSync <no-reply@worksync.test>",
        "app_url": APP_URL,
        "jobs_namespace": "worksync-test-unused",
    }
    values.update(overrides)
    return Settings(**values)


def test_password_reset_is_queued_on_redis_and_delivered_by_a_worker(
    inbox: Inbox, namespace: str
) -> None:
    settings = mail_settings(smtp_port=inbox.port, jobs_namespace=namespace)
    broker = configure_broker(settings)
    mailer = make_mailer(settings)
    assert isinstance(mailer, DramatiqMailer)

    reset_url = f"{settings.app_url}/reset-password?token=tok-{uuid.uuid4().hex}"
    mailer.send(
        "password_reset", "ann@example.com", {**CONTEXTS["password_reset"], "reset_url": reset_url}
    )
    # Queued in Redis under our namespace, not sent yet.
    client = redis.Redis.from_url(REDIS_URL)
    try:
        assert client.hlen(f"{namespace}:mail.msgs") == 1
    finally:
        client.close()
    assert not inbox.messages

    worker = dramatiq.Worker(broker, worker_threads=1)
    worker.start()
    try:
        assert inbox.received.wait(DELIVERY_TIMEOUT), "the worker did not deliver the mail"
    finally:
        worker.stop()

    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert inbox.recipients[0] == ["ann@example.com"]
    assert message["To"] == "ann@example.com"
    assert message["From"] == "WorkSync <no-reply@worksync.test>"
    assert message["Subject"] == "Reset your WorkSync password"
    assert message["Message-ID"].endswith("@worksync.test>")
    assert message["Date"]
    body = message.get_content()
    assert reset_url in body
    assert "Hi Ann," in body
    assert "30 minutes" in body


def test_run_worker_delivers_an_invite_and_stops(inbox: Inbox, namespace: str) -> None:
    settings = mail_settings(smtp_port=inbox.port, jobs_namespace=namespace)
    configure_broker(settings)
    make_mailer(settings).send("invite", "carol@example.com", CONTEXTS["invite"])

    stop = threading.Event()
    thread = threading.Thread(
        target=run_worker, args=(settings,), kwargs={"threads": 1, "stop": stop}, daemon=True
    )
    thread.start()
    try:
        assert inbox.received.wait(DELIVERY_TIMEOUT), "run_worker did not deliver the mail"
    finally:
        stop.set()
        thread.join(DELIVERY_TIMEOUT)
    assert not thread.is_alive()
    message = inbox.messages[0]
    assert message["Subject"] == "Bob invited you to Acme on WorkSync"
    assert f"{APP_URL}/invites/inv-456" in message.get_content()


def test_every_template_renders_with_its_fields() -> None:
    for template in TEMPLATES:
        subject, body = render(template, CONTEXTS[template])
        assert subject
        assert "$" not in subject + body

    subject, body = render("welcome", CONTEXTS["welcome"])
    assert subject == "Welcome to WorkSync, Ann"
    assert "Hi Ann," in body
    assert APP_URL in body

    subject, body = render("invite", CONTEXTS["invite"])
    assert subject == "Bob invited you to Acme on WorkSync"
    assert '"Acme"' in body
    assert "as member" in body
    assert f"{APP_URL}/invites/inv-456" in body
    assert "7 days" in body


def test_a_missing_context_key_raises_a_clear_error() -> None:
    context = {k: v for k, v in CONTEXTS["invite"].items() if k not in ("role", "accept_url")}
    with pytest.raises(TemplateError, match=r"'invite'.*accept_url, role"):
        render("invite", context)
    with pytest.raises(TemplateError, match="unknown mail template"):
        render("no_such_template", {})
    with pytest.raises(TemplateError, match="invalid mail template name"):
        render("../config", {})


def test_context_values_cannot_add_headers() -> None:
    subject, _ = render("invite", {**CONTEXTS["invite"], "workspace_name": "Acme\nBcc: x@y"})
    assert "\n" not in subject


def test_dramatiq_mailer_checks_the_template_before_queueing(namespace: str) -> None:
    broker = configure_broker(mail_settings(redis_url=None))
    with pytest.raises(TemplateError):
        DramatiqMailer().send("welcome", "ann@example.com", {"name": "Ann"})
    DramatiqMailer().send("welcome", "ann@example.com", CONTEXTS["welcome"])
    assert broker.queues["mail"].qsize() == 1


def test_without_smtp_the_log_mailer_writes_the_message_to_the_log(namespace: str) -> None:
    settings = mail_settings(smtp_host=None, redis_url=None)
    configure_broker(settings)
    mailer = make_mailer(settings)
    assert isinstance(mailer, LogMailer)

    with capture_logs() as logs:
        mailer.send("password_reset", "ann@example.com", CONTEXTS["password_reset"])
    [entry] = [e for e in logs if e["event"] == "mail.logged"]
    assert entry["log_level"] == "info"
    assert entry["to"] == "ann@example.com"
    assert entry["subject"] == "Reset your WorkSync password"
    assert CONTEXTS["password_reset"]["reset_url"] in entry["body"]


def test_smtp_without_redis_logs_mail_and_warns(namespace: str) -> None:
    settings = mail_settings(redis_url=None)
    with capture_logs() as logs:
        mailer = make_mailer(settings)
    assert isinstance(mailer, LogMailer)
    assert any(e["event"] == "mail.needs_redis" and e["log_level"] == "warning" for e in logs)


def test_an_smtp_server_that_is_down_makes_the_job_raise_so_it_is_retried(
    namespace: str,
) -> None:
    configure_broker(mail_settings(redis_url=None, smtp_port=free_port()))
    with pytest.raises(OSError):
        send_email.fn("ann@example.com", "welcome", CONTEXTS["welcome"])
    assert send_email.options["max_retries"] == 5
    # Only template errors are final; connection errors go through dramatiq's retries.
    assert send_email.options["throws"] == (TemplateError,)
