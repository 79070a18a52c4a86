"""Identity read model: the ``users`` table (its queries are in projections/identity_queries.py)."""

from __future__ import annotations

from typing import Any

from psycopg import Cursor

from domain.identity import ERASED_HASH, ERASED_NAME, User, erased_email
from projections.base import Projection, handles

PROFILE_FIELDS = {"name", "avatar_url", "role", "is_active", "email_verified"}
# Announced (on commit) when a user's row or a login changed: the API processes' kept sign-in
# checks (identity_queries.SignIns) are dropped. A trigger on user_sessions announces ended
# logins (migrations/0023); this projection, every change to a user's row.
SIGN_INS_CHANNEL = "worksync_sign_ins"


class UsersProjection(Projection):
    name = "users"
    tables = ("users",)

    @handles(User.Registered)
    def registered(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "INSERT INTO users (id, email, password_hash, name, role, is_active, email_verified,"
            " created_at, updated_at, version) VALUES (%s, %s, %s, %s, %s, true, false, %s, %s, %s)",
            (
                e.originator_id,
                e.email,
                e.password_hash,
                e.name,
                e.role,
                e.timestamp,
                e.timestamp,
                e.originator_version,
            ),
        )

    def _set(self, cur: Cursor, e: Any, changes: dict[str, Any]) -> None:
        sets = "".join(f"{k} = %({k})s, " for k in changes)
        cur.execute(
            f"UPDATE users SET {sets}updated_at = %(ts)s, version = %(v)s WHERE id = %(id)s",
            {**changes, "ts": e.timestamp, "v": e.originator_version, "id": e.originator_id},
        )
        # Sent before the batch's progress notification: a process waiting for this event's
        # position has dropped its kept sign-ins when the wait ends.
        cur.execute("SELECT pg_notify(%s, '')", (SIGN_INS_CHANNEL,), prepare=True)

    @handles(User.ProfileUpdated)
    def profile_updated(self, cur: Cursor, e: Any, position: int) -> None:
        self._set(cur, e, {k: v for k, v in e.changes.items() if k in PROFILE_FIELDS})

    @handles(User.PasswordChanged)
    def password_changed(self, cur: Cursor, e: Any, position: int) -> None:
        self._set(cur, e, {"password_hash": e.password_hash})

    @handles(User.Deleted)
    def deleted(self, cur: Cursor, e: Any, position: int) -> None:
        self._set(
            cur,
            e,
            {
                "email": erased_email(e.originator_id),
                "name": ERASED_NAME,
                "avatar_url": None,
                "password_hash": ERASED_HASH,
                "is_active": False,
                "deleted_at": e.timestamp,
            },
        )
