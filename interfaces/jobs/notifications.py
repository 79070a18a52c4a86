"""Notification jobs: the due-date reminder and the e-mail digests (scheduled by
``interfaces.jobs.notifications_schedule``). Both are idempotent: a reminder is delivered
once per item and due date, a digest once per user and period; they only record events
(the notifications policy mails the digest through the outbox and the mail job).

The jobs' service comes from the composition root (``interfaces.bootstrap``), like the API's.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import psycopg
import structlog

from application.notifications import NotificationsService
from application.notifications_overdue import MilestoneOverdue
from interfaces.bootstrap import open_notifications
from interfaces.embedded import resolve_database_url
from interfaces.jobs.broker import PerDatabase, current_broker, current_settings, job
from interfaces.jobs.notifications_schedule import (
    DIGESTS,
    QUEUE,
    REMIND_DUE,
    delay_until,
    remind_due_message,
)
from projections import notifications_queries

log = structlog.get_logger("jobs.notifications")


SERVICES: PerDatabase[NotificationsService] = PerDatabase(
    lambda settings, url: open_notifications(settings, url),
    lambda service: service.store.close(),
)


def _service() -> NotificationsService:
    return SERVICES.get()


def close_services() -> None:
    """Close the event stores opened by jobs in this process (tests, shutdown)."""
    SERVICES.close()


def _database_url() -> str:
    settings = current_settings()
    return resolve_database_url(settings.database_url, settings.data_dir)


@job(queue_name=QUEUE, actor_name=REMIND_DUE, max_retries=5)
def remind_due(kind: str, item_id: str, due: str) -> None:
    """Notify the assignee of a card or task due within 24 h, or the assignees of a milestone
    overdue since ``due`` (once per item and due date)."""
    at = datetime.fromisoformat(due)
    if kind == "milestone":
        outcome = MilestoneOverdue(_service()).remind(milestone_id=UUID(item_id), due=at)
    else:
        outcome = _service().remind_due(kind=kind, item_id=UUID(item_id), due=at)
    if outcome.status == "not-due" and outcome.due is not None:
        message = remind_due_message(kind, item_id, due)
        current_broker().enqueue(message, delay=delay_until(outcome.due))
    log.info("notifications.remind_due", kind=kind, item_id=item_id, outcome=outcome.status)


@job(queue_name=QUEUE, actor_name=DIGESTS, max_retries=5)
def send_notification_digests(digest: str, until: str) -> None:
    """Record the ``digest`` (hourly, daily) of every user who chose it and has unread
    notifications wanted by e-mail since their last one (the policy mails each)."""
    end = datetime.fromisoformat(until)
    with psycopg.connect(_database_url(), autocommit=True) as conn:
        candidates = notifications_queries.digest_candidates(conn, digest, end)
    sent = 0
    for user_id, items in candidates.items():
        saved = _service().send_digest(user_id=user_id, until=end, items=items)
        sent += 1 if saved.value else 0
    log.info("notifications.digests", digest=digest, until=until, users=sent)
