"""Retention: how long what grows without bound is kept, as rules from the configuration
(``RETENTION_*_DAYS``; 0 keeps forever). The scheduled ``apply_retention`` job
(interfaces/jobs/retention.py) and ``worksync retention [--dry-run]`` apply them through
``application/adapters/retention.py``.

- ``activities`` (the workspace feed and each card's history) and ``notifications``: read
  rows older than the limit go a whole month's partition at a time (migrations/0016); the
  events stay in the log (the system of record), so a rebuild brings them back until the
  next run drops them again.
- ``sessions``: refresh sessions expired (or revoked) more than the limit ago;
  ``reset_tokens``: password-reset tokens expired or used that long ago; ``idempotency``:
  ``Idempotency-Key`` answers expired that long ago; ``security_events``: older ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from application.config import Settings

TARGETS = (
    "activities",
    "notifications",
    "sessions",
    "reset_tokens",
    "idempotency",
    "security_events",
)


@dataclass(frozen=True)
class Rule:
    target: str
    days: int

    def cutoff(self, now: datetime) -> datetime:
        return now - timedelta(days=self.days)


@dataclass(frozen=True)
class Outcome:
    """What a rule removed (or, in a dry run, would remove)."""

    target: str
    cutoff: datetime
    rows: int
    partitions: tuple[str, ...] = ()


def rules_from(settings: Settings) -> list[Rule]:
    """The rules in force (a target kept forever has none)."""
    days = {
        "activities": settings.retention_activities_days,
        "notifications": settings.retention_notifications_days,
        "sessions": settings.retention_sessions_days,
        "reset_tokens": settings.retention_reset_tokens_days,
        "idempotency": settings.retention_idempotency_days,
        "security_events": settings.retention_security_events_days,
    }
    return [Rule(target, days[target]) for target in TARGETS if days[target] > 0]


class RetentionStore(Protocol):
    def apply(self, rule: Rule, now: datetime, *, dry_run: bool) -> Outcome: ...


def apply_rules(
    store: RetentionStore, rules: list[Rule], now: datetime, *, dry_run: bool
) -> list[Outcome]:
    return [store.apply(rule, now, dry_run=dry_run) for rule in rules]
