"""Timer auto-stop: when a timer starts or resumes, a delayed ``auto_stop_timer`` message is
queued for the moment its running time reaches the user's limit; the job stops the timer at
that moment, with a note on the entry.

Idempotent: the message names the entry and the moment; if the timer was stopped, paused
(a resume queues its own message) or is another entry by then, the job does nothing. A
message that arrives early (clocks differ between hosts) queues itself again for the rest.
Without Redis nothing is queued: the user's next timer command stops an overdue timer at its
limit, and reads never count a timer past it.

The job's service comes from the composition root (``interfaces.bootstrap``), like the API's.
"""

from __future__ import annotations

import threading
from datetime import datetime
from uuid import UUID

import structlog

from application.time_tracking import TimeTrackingService
from interfaces.bootstrap import open_time_tracking
from interfaces.embedded import resolve_database_url
from interfaces.jobs.broker import current_settings, job
from interfaces.jobs.time_tracking_schedule import (
    AUTO_STOP,
    QUEUE,
    DramatiqAutoStop,
    make_auto_stop_scheduler,
)

__all__ = ["DramatiqAutoStop", "auto_stop_timer", "close_services", "make_auto_stop_scheduler"]

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
            service = _services[url] = open_time_tracking(settings, url, pool_size=2)
        return service


def close_services() -> None:
    """Close the event stores opened by jobs in this process (tests, shutdown)."""
    with _services_lock:
        for service in _services.values():
            service.store.close()
        _services.clear()


@job(queue_name=QUEUE, actor_name=AUTO_STOP, max_retries=5)
def auto_stop_timer(user_id: str, entry_id: str, at: str) -> None:
    """Stop ``entry_id`` at ``at`` if it is still the user's timer, running, with that limit."""
    outcome = _service().auto_stop(
        user_id=UUID(user_id), entry_id=UUID(entry_id), expected_at=datetime.fromisoformat(at)
    )
    if outcome.status == "not-due" and outcome.due is not None:
        DramatiqAutoStop().schedule(UUID(user_id), UUID(entry_id), outcome.due)
    log.info("time_tracking.auto_stop", entry_id=entry_id, outcome=outcome.status)
