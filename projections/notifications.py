"""Notifications read model: ``notifications`` (one row per notification delivered to an
inbox) and ``notification_preferences`` (its queries are in
projections/notifications_queries.py). A deleted user's rows go with them."""

from __future__ import annotations

from typing import Any

from psycopg import Cursor
from psycopg.types.json import Jsonb

from domain.identity import User
from domain.notifications import DEFAULT_PREFERENCES, Inbox
from projections.base import Projection, handles, json_dumps

INSERT = (
    "INSERT INTO notifications (id, workspace_id, user_id, type, title, message, data,"
    " is_read, read_at, version, created_at, in_app, email, position)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, false, NULL, 1, %s, %s, %s, %s)"
    " ON CONFLICT (id, created_at) DO NOTHING"
)
PREFERENCES = (
    "INSERT INTO notification_preferences (user_id, in_app, email, digest, digest_until,"
    " version, updated_at) VALUES (%s, %s, %s, %s, NULL, %s, %s)"
    " ON CONFLICT (user_id) DO UPDATE SET in_app = excluded.in_app, email = excluded.email,"
    " digest = excluded.digest, version = excluded.version, updated_at = excluded.updated_at"
)


class NotificationsProjection(Projection):
    name = "notifications"
    tables = ("notifications", "notification_preferences")

    def _preferences(self, cur: Cursor, e: Any, preferences: dict[str, Any]) -> None:
        cur.execute(
            PREFERENCES,
            (
                e.user_id,
                Jsonb(preferences["in_app"], dumps=json_dumps),
                Jsonb(preferences["email"], dumps=json_dumps),
                preferences["digest"],
                e.originator_version,
                e.timestamp,
            ),
        )

    @handles(Inbox.Created)
    def created(self, cur: Cursor, e: Any, position: int) -> None:
        self._preferences(cur, e, DEFAULT_PREFERENCES)

    @handles(Inbox.PreferencesChanged)
    def preferences_changed(self, cur: Cursor, e: Any, position: int) -> None:
        self._preferences(cur, e, e.preferences)

    @handles(Inbox.Notified)
    def notified(self, cur: Cursor, e: Any, position: int) -> None:
        for item in e.items:
            cur.execute(
                INSERT,
                (
                    item["id"],
                    item["data"].get("workspace_id"),
                    e.user_id,
                    item["type"],
                    item["title"],
                    item["message"],
                    Jsonb(item["data"], dumps=json_dumps),
                    e.timestamp,
                    item["in_app"],
                    item["email"] and not item.get("immediate"),  # waits for the digest
                    position,
                ),
            )

    @handles(Inbox.Read)
    def read(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "UPDATE notifications SET is_read = true, read_at = %s, version = version + 1"
            " WHERE id = %s AND NOT is_read",
            (e.timestamp, e.notification_id),
        )

    @handles(Inbox.AllRead)
    def all_read(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "UPDATE notifications SET is_read = true, read_at = %s, version = version + 1"
            " WHERE id = ANY(%s::uuid[]) AND NOT is_read",
            (e.timestamp, e.notification_ids),
        )

    @handles(Inbox.Deleted)
    def deleted(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute("DELETE FROM notifications WHERE id = %s", (e.notification_id,))

    @handles(Inbox.DigestSent)
    def digest_sent(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "UPDATE notification_preferences SET digest_until = %s WHERE user_id = %s",
            (e.until, e.user_id),
        )

    @handles(User.Deleted)
    def user_deleted(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute("DELETE FROM notifications WHERE user_id = %s", (e.originator_id,))
        cur.execute("DELETE FROM notification_preferences WHERE user_id = %s", (e.originator_id,))
