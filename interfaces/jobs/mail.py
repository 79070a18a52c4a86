"""Outgoing e-mail: templates, the ``send_email`` job (SMTP), and the Mailer adapters.

- ``DramatiqMailer`` queues a ``send_email`` job on Redis; a worker delivers it over SMTP
  (retried with exponential backoff when the SMTP server is unreachable).
- ``LogMailer`` is for development (no SMTP or no Redis): the rendered message goes to the
  ``mail`` log as one line, so a developer can follow e.g. a password-reset link.
- ``OutboxMail`` delivers the mail policy's outbox rows (application/mail.py): with Redis it
  queues ``send_outbox_mail(key)`` (the message carries only the key, not the link), else it
  logs the message. The job claims the row by key, sends it, and marks it delivered: a key
  queued twice (the dispatcher died before recording the hand-over) is sent once, under a
  Message-ID derived from the key.
"""

from __future__ import annotations

import hashlib
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from importlib import resources
from string import Template
from typing import Any

import dramatiq
import psycopg
import structlog
from dramatiq.brokers.redis import RedisBroker

from application.config import Settings
from application.mail import Mailer
from interfaces.embedded import resolve_database_url
from interfaces.jobs.broker import current_settings, job
from projections.outbox import OutboxItem

log = structlog.get_logger("mail")

SMTP_TIMEOUT = 10.0
_TEMPLATE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class TemplateError(ValueError):
    """Unknown template, malformed template file, or a context key it needs is missing.
    A programming error: the job is not retried."""


def _template_text(template: str) -> str:
    if not _TEMPLATE_NAME.fullmatch(template):
        raise TemplateError(f"invalid mail template name: {template!r}")
    path = resources.files("interfaces.jobs").joinpath("templates", f"{template}.txt")
    if not path.is_file():
        raise TemplateError(f"unknown mail template: {template!r}")
    return path.read_text(encoding="utf-8")


def render(template: str, context: dict[str, Any]) -> tuple[str, str]:
    """Render ``templates/<template>.txt`` with ``$name`` placeholders.

    Returns ``(subject, text_body)``. The file's first line is ``Subject: ...``. Every
    placeholder must be in ``context``, otherwise TemplateError names the missing keys."""
    text = _template_text(template)
    first, _, body = text.partition("\n")
    if not first.startswith("Subject:"):
        raise TemplateError(f"mail template {template!r} must start with a 'Subject:' line")
    subject_tpl = Template(first.removeprefix("Subject:").strip())
    body_tpl = Template(body.lstrip("\n"))
    needed = {*subject_tpl.get_identifiers(), *body_tpl.get_identifiers()}
    missing = sorted(needed - context.keys())
    if missing:
        raise TemplateError(
            f"mail template {template!r} needs context keys it was not given: " + ", ".join(missing)
        )
    try:
        subject = subject_tpl.substitute(context)
        text_body = body_tpl.substitute(context)
    except (KeyError, ValueError) as exc:  # e.g. a stray '$' in the template file
        raise TemplateError(f"mail template {template!r} cannot be rendered: {exc}") from exc
    # A header is one line: values from the context must not be able to add headers.
    return " ".join(subject.split()), text_body


def build_message(
    settings: Settings, to: str, subject: str, body: str, key: str | None = None
) -> EmailMessage:
    """The message; with an idempotency ``key``, its Message-ID is derived from the key (a
    message sent twice is recognisably the same one)."""
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    _, sender = parseaddr(settings.smtp_from)
    domain = sender.rpartition("@")[2] or "worksync.local"
    if key is None:
        message["Message-ID"] = make_msgid(domain=domain)
    else:
        message["Message-ID"] = f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"
    message.set_content(body)
    return message


def deliver(settings: Settings, message: EmailMessage) -> None:
    """Send ``message`` over SMTP (STARTTLS and login when configured). Raises on failure."""
    if not settings.smtp_host:
        raise RuntimeError("SMTP_HOST is not set: the job worker cannot send mail")
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_pass or "")
        smtp.send_message(message)


@job(queue_name="mail", max_retries=5, throws=(TemplateError,))
def send_email(to: str, template: str, context: dict[str, Any]) -> None:
    """Render ``template`` and send it to ``to`` over SMTP. Any SMTP or network error is
    raised, so dramatiq retries the job with exponential backoff."""
    settings = current_settings()
    subject, body = render(template, context)
    message = build_message(settings, to, subject, body)
    deliver(settings, message)
    log.info("mail.sent", to=to, template=template, message_id=message["Message-ID"])


def _plain(context: dict[str, Any]) -> dict[str, str]:
    # Placeholders are substituted as str(value) anyway; strings always fit the job's JSON.
    return {str(key): str(value) for key, value in context.items()}


class DramatiqMailer:
    """The Mailer port over the job queue: ``send`` enqueues a ``send_email`` job."""

    def send(self, template: str, to: str, context: dict[str, Any]) -> None:
        context = _plain(context)
        render(template, context)  # fail now, in the caller, on a bad template or context
        send_email.send(to, template, context)


class LogMailer:
    """The Mailer port without SMTP: the rendered message is logged (logger ``mail``)."""

    def send(self, template: str, to: str, context: dict[str, Any]) -> None:
        subject, body = render(template, _plain(context))
        log.info("mail.logged", to=to, template=template, subject=subject, body=body)


def make_mailer(settings: Settings) -> Mailer:
    """DramatiqMailer when SMTP and Redis are configured; LogMailer otherwise.

    Call configure_broker(settings) first so the jobs go to this configuration's queue."""
    if settings.smtp_host and settings.redis_url:
        return DramatiqMailer()
    if settings.smtp_host:
        log.warning(
            "mail.needs_redis",
            detail="SMTP_HOST is set but REDIS_URL is not: mail is sent through the job "
            "queue, so it is only logged. Set REDIS_URL and run `worksync worker`.",
        )
    return LogMailer()


# The mail policy's outbox ------------------------------------------------------------------

CLAIM = (
    "UPDATE outbox SET claimed_until = now() + interval '5 minutes' WHERE key = %s"
    " AND delivered_at IS NULL AND (claimed_until IS NULL OR claimed_until < now())"
    " RETURNING payload"
)
RELEASE = "UPDATE outbox SET claimed_until = NULL, last_error = %s WHERE key = %s"
DELIVERED = (
    "UPDATE outbox SET delivered_at = now(), claimed_until = NULL, last_error = NULL,"
    " payload = '{}' WHERE key = %s"
)


@job(queue_name="mail", max_retries=8, throws=(TemplateError,))
def send_outbox_mail(key: str) -> None:
    """Send the outbox row ``key`` once: claim it (a row delivered or being sent by another
    job is left alone), send it over SMTP, mark it delivered (its payload is then dropped)."""
    settings = current_settings()
    url = resolve_database_url(settings.database_url, settings.data_dir)
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(CLAIM, (key,)).fetchone()
        if row is None:
            log.info("mail.outbox.skipped", key=key, detail="delivered or being delivered")
            return
        payload = row[0]
        try:
            subject, body = render(payload["template"], payload["context"])
            message = build_message(settings, payload["to"], subject, body, key=key)
            unsubscribe = payload["context"].get("unsubscribe_url")
            if unsubscribe:  # RFC 2369 and RFC 8058 one-click: mail clients POST to it
                message["List-Unsubscribe"] = f"<{unsubscribe}>"
                message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
            deliver(settings, message)
        except Exception as e:
            conn.execute(RELEASE, (f"{type(e).__name__}: {e}", key))
            raise
        conn.execute(DELIVERED, (key,))
    log.info("mail.sent", key=key, template=payload["template"], message_id=message["Message-ID"])


class OutboxMail:
    """The outbox dispatcher's deliverer for "mail" rows (see the module docstring)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.broker: dramatiq.Broker | None = None
        if settings.redis_url:  # a broker of its own: enqueueing touches no global state
            self.broker = RedisBroker(url=settings.redis_url, namespace=settings.jobs_namespace)
            self.broker.declare_queue(send_outbox_mail.queue_name)
        elif settings.smtp_host:
            make_mailer(settings)  # warns that without Redis mail is only logged

    def __call__(self, item: OutboxItem) -> bool:
        payload = item.payload
        if self.broker is None:
            LogMailer().send(payload["template"], payload["to"], payload["context"])
            return True
        render(payload["template"], payload["context"])  # a bad template fails here, loudly
        self.broker.enqueue(send_outbox_mail.message(item.key))
        return False
