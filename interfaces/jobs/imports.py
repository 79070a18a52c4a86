"""The import job (scheduled by ``interfaces.jobs.imports_schedule``): makes a recorded
import once (a redelivered message finds it claimed and does nothing)."""

from __future__ import annotations

import threading
from uuid import UUID

import structlog

from application.imports import ImportsService
from interfaces.bootstrap import open_imports
from interfaces.embedded import resolve_database_url
from interfaces.jobs.broker import current_settings, job
from interfaces.jobs.imports_schedule import IMPORT, QUEUE

log = structlog.get_logger("jobs.imports")

_services: dict[str, ImportsService] = {}
_services_lock = threading.Lock()


def _service() -> ImportsService:
    settings = current_settings()
    url = resolve_database_url(settings.database_url, settings.data_dir)
    with _services_lock:
        service = _services.get(url)
        if service is None:
            service = _services[url] = open_imports(settings, url)
        return service


def close_services() -> None:
    with _services_lock:
        for service in _services.values():
            service.store.close()
        _services.clear()


@job(queue_name=QUEUE, actor_name=IMPORT, max_retries=3)
def run_import(import_id: str) -> None:
    outcome = _service().run(import_id=UUID(import_id))
    log.info("imports.job", import_id=import_id, outcome=outcome)
