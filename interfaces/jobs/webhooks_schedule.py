"""Waking the webhook delivery job (the job itself is ``interfaces.jobs.webhooks``; its
message is named here so that the composition root can build this without importing the
job, which it builds in turn).

``OutboxWebhooks`` delivers the webhooks policy's "webhooks" outbox rows: a
``deliver_webhooks(endpoint_id)`` message. Without Redis nothing is queued: the deliveries
stay pending in the delivery log (the next run for the endpoint, once a worker runs, sends
them in order).
"""

from __future__ import annotations

import dramatiq
import structlog
from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker

from application.config import Settings
from projections.outbox import OutboxItem

log = structlog.get_logger("jobs.webhooks")

QUEUE = "webhooks"
DELIVER = "deliver_webhooks"  # deliver_webhooks(endpoint_id, woke_for=None)


def deliver_message(endpoint_id: str, woke_for: str | None = None) -> Message:
    args = (endpoint_id,) if woke_for is None else (endpoint_id, woke_for)
    return Message(queue_name=QUEUE, actor_name=DELIVER, args=args, kwargs={}, options={})


def own_broker(settings: Settings) -> RedisBroker | None:
    """A broker of its own (enqueueing touches no global state), None without Redis."""
    if not settings.redis_url:
        return None
    broker = RedisBroker(url=settings.redis_url, namespace=settings.jobs_namespace)
    broker.declare_queue(QUEUE)
    return broker


class OutboxWebhooks:
    """The outbox dispatcher's deliverer for "webhooks" rows."""

    def __init__(self, settings: Settings) -> None:
        self.broker: dramatiq.Broker | None = own_broker(settings)

    def __call__(self, item: OutboxItem) -> bool:
        endpoint_id = item.payload["endpoint_id"]
        if self.broker is None:
            log.info("webhooks.not_queued", detail="no REDIS_URL", endpoint_id=endpoint_id)
            return True
        self.broker.enqueue(deliver_message(endpoint_id))
        return True
