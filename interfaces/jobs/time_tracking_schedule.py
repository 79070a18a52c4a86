"""The AutoStopScheduler port over the job queue: a delayed ``auto_stop_timer`` message for
the moment a timer's running time reaches the user's limit (the job itself is in
``interfaces.jobs.time_tracking``).

The message is named here, not through the actor object, so that the composition root
(``interfaces.bootstrap``) can build schedulers without importing the job, which is built
by the composition root in turn.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import structlog
from dramatiq import Message

from application.config import Settings
from application.time_tracking_base import AutoStopScheduler, NoScheduler
from interfaces.jobs.broker import current_broker

log = structlog.get_logger("jobs.time_tracking")

QUEUE = "time_tracking"
AUTO_STOP = "auto_stop_timer"  # the actor: auto_stop_timer(user_id, entry_id, at)


def send_auto_stop(user_id: UUID, entry_id: UUID, at: datetime, delay: int) -> None:
    """Queue ``auto_stop_timer`` for the entry and limit moment, ``delay`` ms from now."""
    message: Message = Message(
        queue_name=QUEUE,
        actor_name=AUTO_STOP,
        args=(str(user_id), str(entry_id), at.isoformat()),
        kwargs={},
        options={},
    )
    current_broker().enqueue(message, delay=delay)


class DramatiqAutoStop:
    """The AutoStopScheduler port over the job queue (a delayed message)."""

    def schedule(self, user_id: UUID, entry_id: UUID, at: datetime) -> None:
        """Queue the message; a queue that is down does not fail the timer command (the
        timer is saved; its next command, or a read, still honours the limit)."""
        delay = max(0, int((at - datetime.now(UTC)).total_seconds() * 1000))
        try:
            send_auto_stop(user_id, entry_id, at, delay)
        except Exception as e:  # redis errors, broker misconfiguration
            log.warning("time_tracking.auto_stop.not_queued", entry_id=str(entry_id), error=str(e))


def make_auto_stop_scheduler(settings: Settings) -> AutoStopScheduler:
    """DramatiqAutoStop with Redis; otherwise overdue timers stop on the next command.

    Call configure_broker(settings) first so the messages go to this configuration's queue."""
    if settings.redis_url:
        return DramatiqAutoStop()
    return NoScheduler()
