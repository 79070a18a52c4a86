"""The import job (scheduled by ``interfaces.jobs.imports_schedule``): makes a recorded
import once (a redelivered message finds it claimed and does nothing)."""

from __future__ import annotations

from uuid import UUID

import structlog

from application.imports import ImportsService
from interfaces.bootstrap import open_imports
from interfaces.jobs.broker import PerDatabase, job
from interfaces.jobs.imports_schedule import IMPORT, QUEUE

log = structlog.get_logger("jobs.imports")


SERVICES: PerDatabase[ImportsService] = PerDatabase(
    lambda settings, url: open_imports(settings, url),
    lambda service: service.store.close(),
)


def _service() -> ImportsService:
    return SERVICES.get()


def close_services() -> None:
    """Close the event stores opened by jobs in this process (tests, shutdown)."""
    SERVICES.close()


@job(queue_name=QUEUE, actor_name=IMPORT, max_retries=3)
def run_import(import_id: str) -> None:
    outcome = _service().run(import_id=UUID(import_id))
    log.info("imports.job", import_id=import_id, outcome=outcome)
