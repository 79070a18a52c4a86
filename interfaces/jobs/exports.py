"""The workspace export job (scheduled by ``interfaces.jobs.exports_schedule``): makes the
export once (a redelivered message finds it claimed and does nothing)."""

from __future__ import annotations

import threading
from uuid import UUID

import structlog

from application.exports import ExportsService
from interfaces.bootstrap import open_exports
from interfaces.embedded import resolve_database_url
from interfaces.jobs.broker import current_settings, job
from interfaces.jobs.exports_schedule import EXPORT, QUEUE

log = structlog.get_logger("jobs.exports")

_services: dict[str, ExportsService] = {}
_services_lock = threading.Lock()


def _service() -> ExportsService:
    settings = current_settings()
    url = resolve_database_url(settings.database_url, settings.data_dir)
    with _services_lock:
        service = _services.get(url)
        if service is None:
            service = _services[url] = open_exports(settings, url)
        return service


def close_services() -> None:
    with _services_lock:
        for service in _services.values():
            service.notifications.store.close()
        _services.clear()


@job(queue_name=QUEUE, actor_name=EXPORT, max_retries=3)
def export_workspace(export_id: str) -> None:
    outcome = _service().run(export_id=UUID(export_id))
    log.info("exports.job", export_id=export_id, outcome=outcome)
