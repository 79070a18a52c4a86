"""Notifications: each user's Inbox (id = uuid5 of the user id) holds what was delivered to
them, what they have read or deleted, their preferences and how far their e-mail digest went.

A notification's id is derived from what caused it and who receives it (``notification_id``),
so delivering the same cause to the same person twice records nothing: replaying the log, a
retried job or a policy run again never notifies twice. Marking read and deleting are
commands on the Inbox, recorded in the log like every other change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.shared import Missing, RuleBroken, name_based_id

# What a notification is about. The last three come with the milestones and resources
# contexts (their rules are rows of application/notifications.py TRIGGERS).
NOTIFICATION_TYPES = (
    "assigned",
    "mention",
    "comment",
    "reply",
    "workspace_added",
    "project_added",
    "due_soon",
    "milestone_completed",
    "milestone_overdue",
    "resource_conflict",
    "export_ready",
    "webhook_disabled",
)
DIGESTS = ("immediate", "hourly", "daily", "off")
DEFAULT_PREFERENCES: dict[str, Any] = {
    "in_app": {t: True for t in NOTIFICATION_TYPES},
    "email": {t: True for t in NOTIFICATION_TYPES},
    "digest": "daily",
}


def notification_id(source: str, recipient_id: UUID) -> UUID:
    """The id of the notification ``source`` (an event, a reminder) makes for a recipient."""
    return name_based_id("notification", f"{source}:{recipient_id}")


def preferences_with(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``current`` with ``changes`` applied (per-type switches merge; unknown types refused)."""
    merged = {
        "in_app": dict(current["in_app"]),
        "email": dict(current["email"]),
        "digest": current["digest"],
    }
    for channel in ("in_app", "email"):
        for kind, on in (changes.get(channel) or {}).items():
            if kind not in NOTIFICATION_TYPES:
                raise RuleBroken(f"unknown notification type {kind!r}")
            merged[channel][kind] = bool(on)
    if changes.get("digest") is not None:
        if changes["digest"] not in DIGESTS:
            raise RuleBroken(f"unknown digest {changes['digest']!r}")
        merged["digest"] = changes["digest"]
    return merged


class Inbox(Aggregate):
    """One user's notifications. ``items``: live notification id -> read; ``seen``: every
    id ever delivered (deleted ones too), so that a cause delivered again is ignored."""

    @staticmethod
    def create_id(user_id: UUID) -> UUID:
        return name_based_id("inbox", str(user_id))

    @staticmethod
    def id_for(user_id: UUID) -> UUID:
        return Inbox.create_id(user_id)

    @event("Created")
    def __init__(self, user_id: UUID) -> None:
        self.user_id = user_id
        self.items: dict[str, bool] = {}
        self.seen: set[str] = set()
        self.preferences: dict[str, Any] = preferences_with(DEFAULT_PREFERENCES, {})
        self.digest_until: datetime | None = None

    # Delivery ------------------------------------------------------------------------------

    def wants(self, kind: str) -> tuple[bool, bool]:
        """(in-app, by e-mail) for a notification type."""
        email = self.preferences["digest"] != "off" and self.preferences["email"].get(kind, True)
        return self.preferences["in_app"].get(kind, True), email

    def deliver(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Record the notifications not delivered before (each a dict with ``id``, ``type``,
        ``title``, ``message``, ``data``); the user's preferences decide, as of now, whether
        each is shown ``in_app``, wanted by ``email`` and mailed at once (``immediate``, else
        in the digest); one wanted nowhere is not recorded. Returns what was recorded."""
        fresh: list[dict[str, Any]] = []
        for item in items:
            key = str(item["id"])
            if key in self.seen or any(f["id"] == key for f in fresh):
                continue
            if item["type"] not in NOTIFICATION_TYPES:
                raise RuleBroken(f"unknown notification type {item['type']!r}")
            in_app, email = self.wants(item["type"])
            if in_app or email:
                immediate = email and self.preferences["digest"] == "immediate"
                fresh.append(
                    {**item, "id": key, "in_app": in_app, "email": email, "immediate": immediate}
                )
        if fresh:
            self._notified(user_id=self.user_id, items=fresh)
        return fresh

    @event("Notified")
    def _notified(self, user_id: UUID, items: list[dict[str, Any]]) -> None:
        for item in items:
            self.seen.add(item["id"])
            self.items[item["id"]] = False

    # The user's commands -------------------------------------------------------------------

    def _check(self, notification_id: UUID) -> str:
        key = str(notification_id)
        if key not in self.items:
            raise Missing("notification not found")
        return key

    def mark_read(self, notification_id: UUID) -> bool:
        """Mark one read; False (nothing recorded) when it already was."""
        key = self._check(notification_id)
        if self.items[key]:
            return False
        self._read(user_id=self.user_id, notification_id=key)
        return True

    @event("Read")
    def _read(self, user_id: UUID, notification_id: str) -> None:
        self.items[notification_id] = True

    def mark_all_read(self) -> int:
        """Mark every unread one read (one event); returns how many."""
        unread = sorted(k for k, read in self.items.items() if not read)
        if unread:
            self._all_read(user_id=self.user_id, notification_ids=unread)
        return len(unread)

    @event("AllRead")
    def _all_read(self, user_id: UUID, notification_ids: list[str]) -> None:
        for key in notification_ids:
            self.items[key] = True

    def delete(self, notification_id: UUID) -> None:
        key = self._check(notification_id)
        self._deleted(user_id=self.user_id, notification_id=key)

    @event("Deleted")
    def _deleted(self, user_id: UUID, notification_id: str) -> None:
        del self.items[notification_id]

    def set_preferences(self, **changes: Any) -> None:
        merged = preferences_with(self.preferences, changes)
        if merged != self.preferences:
            self._preferences_changed(user_id=self.user_id, preferences=merged)

    @event("PreferencesChanged")
    def _preferences_changed(self, user_id: UUID, preferences: dict[str, Any]) -> None:
        self.preferences = preferences

    # The e-mail digest ---------------------------------------------------------------------

    def digest(self, until: datetime, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Record a digest of the given notifications (those still unread) up to ``until``;
        nothing when the digest already went that far or nothing is left to send."""
        if self.digest_until is not None and until <= self.digest_until:
            return []
        unread = [i for i in items if self.items.get(str(i["id"])) is False]
        if unread:
            self._digest_sent(user_id=self.user_id, until=until, items=unread)
        return unread

    @event("DigestSent")
    def _digest_sent(self, user_id: UUID, until: datetime, items: list[dict[str, Any]]) -> None:
        self.digest_until = until
