"""Scheduling the maintenance jobs (the jobs are in ``interfaces.jobs.retention``; their
messages are named here so that the composition root builds the clock without importing
them).

``MaintenanceClock`` (a thread in the projector) runs maintenance when it starts and then
once per UTC day: ``ensure_partitions`` (the monthly partitions ahead, migrations/0016) and
``apply_retention`` (application/retention.py). With Redis it queues them as dramatiq
messages for a ``worksync worker``; without Redis it runs them itself (PostgreSQL only).
Several clocks may run: both jobs are idempotent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime

import structlog
from dramatiq import Message

from application.config import Settings
from interfaces.jobs.notifications_schedule import own_broker

log = structlog.get_logger("jobs.retention")

QUEUE = "maintenance"
ENSURE_PARTITIONS = "ensure_partitions"
APPLY_RETENTION = "apply_retention"


def message(actor: str) -> Message:
    return Message(queue_name=QUEUE, actor_name=actor, args=(), kwargs={}, options={})


class MaintenanceClock:
    """Runs (or queues) the maintenance jobs once per UTC day, and at start."""

    def __init__(
        self,
        settings: Settings,
        run_inline: Callable[[], None],
        tick: float = 60.0,
    ) -> None:
        self.settings = settings
        self.run_inline = run_inline
        self.tick = tick
        self.done: date | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="maintenance-clock", daemon=True)
        self.broker = None

    def due(self, now: datetime) -> bool:
        return self.done != now.astimezone(UTC).date()

    def run_once(self, now: datetime) -> None:
        if self.settings.redis_url:
            if self.broker is None:
                self.broker = own_broker(self.settings)
                self.broker.declare_queue(QUEUE)
            for actor in (ENSURE_PARTITIONS, APPLY_RETENTION):
                self.broker.enqueue(message(actor))
        else:
            self.run_inline()
        self.done = now.astimezone(UTC).date()

    def start(self) -> None:
        if self.settings.maintenance_enabled:
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            now = datetime.now(UTC)
            if self.due(now):
                try:
                    self.run_once(now)
                except Exception as e:  # the database or Redis down: the next tick tries again
                    log.warning("maintenance.failed", error=str(e))
            self._stopping.wait(self.tick)
