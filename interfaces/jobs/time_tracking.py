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

from datetime import datetime
from uuid import UUID

import structlog

from application.time_tracking import TimeTrackingService
from interfaces.bootstrap import open_time_tracking
from interfaces.jobs.broker import PerDatabase, job
from interfaces.jobs.time_tracking_schedule import (
    AUTO_STOP,
    QUEUE,
    DramatiqAutoStop,
    make_auto_stop_scheduler,
)

__all__ = ["DramatiqAutoStop", "auto_stop_timer", "close_services", "make_auto_stop_scheduler"]

log = structlog.get_logger("jobs.time_tracking")


SERVICES: PerDatabase[TimeTrackingService] = PerDatabase(
    lambda settings, url: open_time_tracking(settings, url, pool_size=2),
    lambda service: service.store.close(),
)


def _service() -> TimeTrackingService:
    return SERVICES.get()


def close_services() -> None:
    """Close the event stores opened by jobs in this process (tests, shutdown)."""
    SERVICES.close()


@job(queue_name=QUEUE, actor_name=AUTO_STOP, max_retries=5)
def auto_stop_timer(user_id: str, entry_id: str, at: str) -> None:
    """Stop ``entry_id`` at ``at`` if it is still the user's timer, running, with that limit."""
    outcome = _service().auto_stop(
        user_id=UUID(user_id), entry_id=UUID(entry_id), expected_at=datetime.fromisoformat(at)
    )
    if outcome.status == "not-due" and outcome.due is not None:
        DramatiqAutoStop().schedule(UUID(user_id), UUID(entry_id), outcome.due)
    log.info("time_tracking.auto_stop", entry_id=entry_id, outcome=outcome.status)
