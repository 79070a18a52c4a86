"""Maintenance jobs, scheduled by ``interfaces.jobs.retention_schedule.MaintenanceClock``:
``ensure_partitions`` creates the monthly partitions ahead (and splits what waits in a
DEFAULT partition), ``apply_retention`` applies the retention rules. Both are idempotent.
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog

from application.adapters.exports import ExportRecords
from application.adapters.files_storage import open_storage
from application.adapters.retention import PostgresRetention, ensure_partitions
from application.config import Settings
from application.exports import purge_expired
from application.retention import apply_rules, rules_from
from interfaces.embedded import resolve_database_url
from interfaces.jobs.broker import current_settings, job
from interfaces.jobs.retention_schedule import APPLY_RETENTION, ENSURE_PARTITIONS, QUEUE

log = structlog.get_logger("jobs.retention")


def maintain_partitions(settings: Settings, now: datetime | None = None) -> list[str]:
    url = resolve_database_url(settings.database_url, settings.data_dir)
    created = ensure_partitions(url, now or datetime.now(UTC), settings.partitions_ahead_months)
    log.info("maintenance.partitions", created=created)
    return created


def retain(settings: Settings, now: datetime | None = None) -> None:
    url = resolve_database_url(settings.database_url, settings.data_dir)
    outcomes = apply_rules(
        PostgresRetention(url), rules_from(settings), now or datetime.now(UTC), dry_run=False
    )
    for o in outcomes:
        log.info(
            "maintenance.retention", target=o.target, rows=o.rows, partitions=list(o.partitions)
        )
    gone = purge_expired(ExportRecords(url), open_storage(settings), now or datetime.now(UTC))
    log.info("maintenance.exports", removed=gone)


def maintain(settings: Settings) -> None:
    """Both jobs, in this process (the clock without Redis)."""
    maintain_partitions(settings)
    retain(settings)


@job(queue_name=QUEUE, actor_name=ENSURE_PARTITIONS, max_retries=3)
def ensure_partitions_job() -> None:
    maintain_partitions(current_settings())


@job(queue_name=QUEUE, actor_name=APPLY_RETENTION, max_retries=3)
def apply_retention() -> None:
    retain(current_settings())
