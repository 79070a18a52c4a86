"""Timer auto-stop: when a timer starts or resumes, a delayed ``auto_stop_timer`` message is
queued for the moment its running time reaches the user's limit; the job stops the timer at
that moment, with a note on the entry.

Idempotent: the message names the entry and the moment; if the timer was stopped, paused
(a resume queues its own message) or is another entry by then, the job does nothing. A
message that arrives early (clocks differ between hosts) queues itself again for the rest.
Without Redis nothing is queued: the user's next timer command stops an overdue timer at its
limit, and reads never count a timer past it.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from uuid import UUID

import structlog

from application.config import Settings
from application.store import EventStore, eventstore_env
from application.time_tracking import AutoStopScheduler, NoScheduler, TimeTrackingService
from interfaces.embedded import resolve_database_url
from interfaces.jobs.broker import current_settings, job

log = structlog.get_logger("jobs.time_tracking")

_services: dict[str, TimeTrackingService] = {}
_services_lock = threading.Lock()


def _service() -> TimeTrackingService:
    """One service (and event store) per database, per worker process."""
    settings = current_settings()
    url = resolve_database_url(settings.database_url, settings.data_dir)
    with _services_lock:
        service = _services.get(url)
        if service is None:
            store = EventStore(env=eventstore_env(url, pool_size=2))
            service = _services[url] = TimeTrackingService(store, DramatiqAutoStop())
        return service


def close_services() -> None:
    """Close the event stores opened by jobs in this process (tests, shutdown)."""
    with _services_lock:
        for service in _services.values():
            service.store.close()
        _services.clear()


@job(queue_name="time", max_retries=5)
def auto_stop_timer(user_id: str, entry_id: str, at: str) -> None:
    """Stop ``entry_id`` at ``at`` if it is still the user's timer, running, with that limit."""
    outcome = _service().auto_stop(UUID(user_id), UUID(entry_id), datetime.fromisoformat(at))
    if outcome.status == "not-due" and outcome.due is not None:
        DramatiqAutoStop().schedule(UUID(user_id), UUID(entry_id), outcome.due)
    log.info("time.auto_stop", entry_id=entry_id, outcome=outcome.status)


class DramatiqAutoStop:
    """The AutoStopScheduler port over the job queue (a delayed message)."""

    def schedule(self, user_id: UUID, entry_id: UUID, at: datetime) -> None:
        """Queue the message; a queue that is down does not fail the timer command (the
        timer is saved; its next command, or a read, still honours the limit)."""
        delay = max(0, int((at - datetime.now(UTC)).total_seconds() * 1000))
        try:
            auto_stop_timer.send_with_options(
                args=(str(user_id), str(entry_id), at.isoformat()), delay=delay
            )
        except Exception as e:  # redis errors, broker misconfiguration
            log.warning("time.auto_stop.not_queued", entry_id=str(entry_id), error=str(e))


def make_auto_stop_scheduler(settings: Settings) -> AutoStopScheduler:
    """DramatiqAutoStop with Redis; otherwise overdue timers stop on the next command.

    Call configure_broker(settings) first so the messages go to this configuration's queue."""
    if settings.redis_url:
        return DramatiqAutoStop()
    return NoScheduler()
