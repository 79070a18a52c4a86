"""The workspace export job (scheduled by ``interfaces.jobs.exports_schedule``): makes the
export once (a redelivered message finds it claimed and does nothing)."""

from __future__ import annotations

from uuid import UUID

import structlog

from application.exports import ExportsService
from interfaces.bootstrap import open_exports
from interfaces.jobs.broker import PerDatabase, job
from interfaces.jobs.exports_schedule import EXPORT, QUEUE

log = structlog.get_logger("jobs.exports")


SERVICES: PerDatabase[ExportsService] = PerDatabase(
    lambda settings, url: open_exports(settings, url),
    lambda service: service.notifications.store.close(),
)


def _service() -> ExportsService:
    return SERVICES.get()


def close_services() -> None:
    """Close the event stores opened by jobs in this process (tests, shutdown)."""
    SERVICES.close()


@job(queue_name=QUEUE, actor_name=EXPORT, max_retries=3)
def export_workspace(export_id: str) -> None:
    outcome = _service().run(export_id=UUID(export_id))
    log.info("exports.job", export_id=export_id, outcome=outcome)
