"""Notifications read queries: a user's own notifications (nobody else's), their unread count
and preferences; for the digest job, who is due a digest and with what."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection, Connection
from psycopg.rows import dict_row

from domain.notifications import DEFAULT_PREFERENCES

COLUMNS = (
    "n.id, n.user_id, n.workspace_id, n.type, n.title, n.message, n.data, n.is_read,"
    " n.read_at, n.created_at"
)
# Unread first (then newest first), or newest first.
ORDERS = {
    "unread": "(NOT n.is_read)::int DESC, n.created_at DESC, n.id DESC",
    "time": "n.created_at DESC, n.id DESC",
}


async def list_for(
    conn: AsyncConnection,
    user_id: UUID,
    *,
    order: str,
    is_read: bool | None,
    kind: str | None,
    limit: int,
    after: tuple[Any, ...] | None,
) -> list[dict[str, Any]]:
    """The user's in-app notifications, keyset-paginated: ``after`` is the last row's
    (unread flag, created_at, id) for ``unread`` order, (created_at, id) for ``time``."""
    query = f"SELECT {COLUMNS} FROM notifications n WHERE n.user_id = %s AND n.in_app"
    params: list[Any] = [user_id]
    if is_read is not None:
        query += " AND n.is_read = %s"
        params.append(is_read)
    if kind is not None:
        query += " AND n.type = %s"
        params.append(kind)
    if after is not None:
        if order == "unread":
            query += " AND ((NOT n.is_read)::int, n.created_at, n.id) < (%s, %s, %s)"
        else:
            query += " AND (n.created_at, n.id) < (%s, %s)"
        params.extend(after)
    query += f" ORDER BY {ORDERS[order]} LIMIT %s"
    params.append(limit)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        return await cur.fetchall()


async def unread_count(conn: AsyncConnection, user_id: UUID) -> int:
    cur = await conn.execute(
        "SELECT count(*) FROM notifications WHERE user_id = %s AND in_app AND NOT is_read",
        (user_id,),
        prepare=True,
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def get_own(
    conn: AsyncConnection, notification_id: UUID, user_id: UUID
) -> dict[str, Any] | None:
    """A notification, if it is the user's (and shown in-app)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {COLUMNS} FROM notifications n WHERE n.id = %s AND n.user_id = %s"
            " AND n.in_app",
            (notification_id, user_id),
            prepare=True,
        )
        return await cur.fetchone()


async def preferences(conn: AsyncConnection, user_id: UUID) -> dict[str, Any]:
    """The user's preferences (the defaults until they change them)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT in_app, email, digest, digest_until FROM notification_preferences"
            " WHERE user_id = %s",
            (user_id,),
        )
        row = await cur.fetchone()
    if row is None:
        return {**DEFAULT_PREFERENCES, "digest_until": None}
    return {
        "in_app": {**DEFAULT_PREFERENCES["in_app"], **row["in_app"]},
        "email": {**DEFAULT_PREFERENCES["email"], **row["email"]},
        "digest": row["digest"],
        "digest_until": row["digest_until"],
    }


def digest_candidates(
    conn: Connection, digest: str, until: datetime, limit: int = 100
) -> dict[UUID, list[dict[str, Any]]]:
    """For the users whose digest is ``digest``: their unread notifications wanted by e-mail,
    created after their last digest and up to ``until`` (at most ``limit`` each), oldest
    first. A daily digest goes to the users for whom ``until`` (an hour's start, UTC) falls in
    the first hour of their day: local midnight in their time zone (their time tracking
    setting, else UTC; 00:30 in a zone half an hour off)."""
    local_midnight = (
        " AND extract(hour FROM %(until)s::timestamptz AT TIME ZONE"
        " coalesce(s.timezone, 'UTC')) = 0"
        if digest == "daily"
        else ""
    )
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT p.user_id, x.id, x.type, x.title, x.message FROM notification_preferences p"
            " LEFT JOIN time_tracking_settings s ON s.user_id = p.user_id"
            " CROSS JOIN LATERAL (SELECT n.id, n.type, n.title, n.message, n.created_at"
            "  FROM notifications n WHERE n.user_id = p.user_id AND n.email AND NOT n.is_read"
            "  AND n.created_at <= %(until)s"
            "  AND (p.digest_until IS NULL OR n.created_at > p.digest_until)"
            "  ORDER BY n.created_at, n.id LIMIT %(limit)s) x"
            f" WHERE p.digest = %(digest)s{local_midnight}"
            " ORDER BY p.user_id, x.created_at, x.id",
            {"until": until, "limit": limit, "digest": digest},
        )
        found: dict[UUID, list[dict[str, Any]]] = {}
        for row in cur.fetchall():
            found.setdefault(row["user_id"], []).append(
                {
                    "id": str(row["id"]),
                    "type": row["type"],
                    "title": row["title"],
                    "message": row["message"],
                }
            )
        return found
