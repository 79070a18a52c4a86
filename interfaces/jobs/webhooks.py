"""The webhook delivery job: ``deliver_webhooks(endpoint_id)`` sends the endpoint's due
deliveries in log order (application/webhooks_delivery.py) and, when a retry is pending,
queues itself for when it falls due (once: an earlier wake-up already queued is kept).

The sender comes from the composition root (``interfaces.bootstrap``), like the API's
services.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from uuid import UUID

import structlog

from application.webhooks_delivery import WebhookSender
from interfaces.bootstrap import open_webhook_sender
from interfaces.embedded import resolve_database_url
from interfaces.jobs.broker import current_broker, current_settings, job
from interfaces.jobs.webhooks_schedule import DELIVER, QUEUE, deliver_message

log = structlog.get_logger("jobs.webhooks")

_senders: dict[str, WebhookSender] = {}
_senders_lock = threading.Lock()


def _sender() -> WebhookSender:
    """One sender (event store, HTTP client) per database, per worker process."""
    settings = current_settings()
    url = resolve_database_url(settings.database_url, settings.data_dir)
    with _senders_lock:
        sender = _senders.get(url)
        if sender is None:
            sender = _senders[url] = open_webhook_sender(settings, url)
        return sender


def close_senders() -> None:
    """Close what the senders opened in this process (tests, shutdown)."""
    with _senders_lock:
        for sender in _senders.values():
            sender.close()
        _senders.clear()


@job(queue_name=QUEUE, actor_name=DELIVER, max_retries=10)
def deliver_webhooks(endpoint_id: str, woke_for: str | None = None) -> None:
    """Send the endpoint's due deliveries; ``woke_for``: the wake-up this message is."""
    woke = datetime.fromisoformat(woke_for) if woke_for else None
    due = _sender().run(UUID(endpoint_id), woke)
    if due is not None:
        delay = max(0, int((due - datetime.now(UTC)).total_seconds() * 1000) + 1)
        current_broker().enqueue(deliver_message(endpoint_id, due.isoformat()), delay=delay)
    log.debug("webhooks.run", endpoint_id=endpoint_id, next_at=due and due.isoformat())
