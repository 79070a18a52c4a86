"""Scheduling the notification jobs (the jobs themselves are in
``interfaces.jobs.notifications``; their messages are named here so that the composition
root can build these without importing the jobs, which it builds in turn).

- ``OutboxDueReminder`` delivers the policy's "notification_due" outbox rows: a delayed
  ``remind_due`` message for 24 h before the due date (at most ``MAX_DELAY`` ahead: a
  message that arrives early queues itself again for the rest, so no worker holds a
  far-future message). Without Redis nothing is queued and no reminder is sent. A milestone's
  row (kind "milestone") is for the moment it becomes overdue: the job runs then.
- ``DigestClock`` (a thread in the projector) queues ``send_notification_digests`` at the
  top of each hour, hourly and daily: a daily digest goes to the users whose local midnight
  (their time zone) is in that hour. Several clocks may run: a digest is recorded once per
  user and period.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import dramatiq
import structlog
from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker

from application.config import Settings
from application.notifications_triggers import DUE_SOON
from projections.outbox import OutboxItem

log = structlog.get_logger("jobs.notifications")

QUEUE = "notifications"
REMIND_DUE = "remind_due"  # remind_due(kind, item_id, due)
DIGESTS = "send_notification_digests"  # send_notification_digests(digest, until)
MAX_DELAY = timedelta(hours=12)
# How long before ``due`` the job runs: cards and tasks are "due soon" 24 h before; a
# milestone's ``due`` is the moment it becomes overdue.
LEAD = {"milestone": timedelta(0)}


def remind_due_message(kind: str, item_id: str, due: str) -> Message:
    return Message(
        queue_name=QUEUE, actor_name=REMIND_DUE, args=(kind, item_id, due), kwargs={}, options={}
    )


def digests_message(digest: str, until: datetime) -> Message:
    return Message(
        queue_name=QUEUE,
        actor_name=DIGESTS,
        args=(digest, until.isoformat()),
        kwargs={},
        options={},
    )


def delay_until(at: datetime, now: datetime | None = None) -> int:
    """Milliseconds from now until ``at`` (0 if past), at most MAX_DELAY."""
    now = now or datetime.now(UTC)
    return int(max(timedelta(0), min(at - now, MAX_DELAY)).total_seconds() * 1000)


def own_broker(settings: Settings) -> RedisBroker | None:
    """A broker of its own (enqueueing touches no global state), None without Redis."""
    if not settings.redis_url:
        return None
    broker = RedisBroker(url=settings.redis_url, namespace=settings.jobs_namespace)
    broker.declare_queue(QUEUE)
    return broker


class OutboxDueReminder:
    """The outbox dispatcher's deliverer for "notification_due" rows."""

    def __init__(self, settings: Settings) -> None:
        self.broker: dramatiq.Broker | None = own_broker(settings)

    def __call__(self, item: OutboxItem) -> bool:
        payload = item.payload
        if self.broker is None:
            log.info("notifications.due.not_scheduled", detail="no REDIS_URL", **payload)
            return True
        at = datetime.fromisoformat(payload["due"]) - LEAD.get(payload["kind"], DUE_SOON)
        message = remind_due_message(payload["kind"], payload["id"], payload["due"])
        self.broker.enqueue(message, delay=delay_until(at))
        return True


def period_ends(now: datetime) -> dict[str, datetime]:
    """The last hour's start (UTC) at or before ``now``, for both digests: the daily job runs
    every hour too and mails those whose local day starts in that hour (their time zone)."""
    hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return {"hourly": hour, "daily": hour}


class DigestClock:
    """Queues the digest jobs when a period ends (checked every ``tick`` seconds)."""

    def __init__(self, settings: Settings, tick: float = 30.0) -> None:
        self.settings = settings
        self.tick = tick
        self.sent: dict[str, datetime] = {}
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="digest-clock", daemon=True)
        self.broker: Any = None

    def due(self, now: datetime) -> list[tuple[str, datetime]]:
        """The (digest, until) pairs to queue now; remembers them as queued."""
        wanted = [(d, at) for d, at in period_ends(now).items() if self.sent.get(d) != at]
        for digest, at in wanted:
            self.sent[digest] = at
        return wanted

    def start(self) -> None:
        if self.settings.redis_url:
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                if self.broker is None:
                    self.broker = own_broker(self.settings)
                for digest, until in self.due(datetime.now(UTC)):
                    self.broker.enqueue(digests_message(digest, until))
            except Exception as e:  # Redis down: the next tick tries again
                self.sent.clear()
                log.warning("notifications.digest_clock", error=str(e))
            self._stopping.wait(self.tick)
