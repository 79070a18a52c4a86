"""Identity read queries: users, ended logins, memberships, a user's personal data."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection, Connection
from psycopg.rows import dict_row

from projections.queries import NOT_KEPT, Kept
from projections.waiter import ProjectionWaiter

USER_COLUMNS = (
    "id, email, name, avatar_url, role, is_active, email_verified, created_at, updated_at, version"
)


async def get_user(
    conn: AsyncConnection, user_id: UUID, session_id: UUID | None = None
) -> dict[str, Any] | None:
    """A live user; with a session id, only while that login has not been revoked."""
    query = f"SELECT {USER_COLUMNS} FROM users WHERE id = %s AND deleted_at IS NULL"
    params: list[Any] = [user_id]
    if session_id is not None:
        query += (
            " AND EXISTS (SELECT 1 FROM user_sessions s WHERE s.family_id = %s"
            " AND s.user_id = users.id AND s.revoked_at IS NULL)"
        )
        params.append(session_id)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params, prepare=True)
        return await cur.fetchone()


class SignIns:
    """The sign-in check of each request (``get_user`` with the token's session), kept in
    this process between requests until a user or a login changes anywhere: the waiter counts
    the announcements on ``worksync_sign_ins`` (the users projection, for every change to a
    user's row; a trigger on ``user_sessions``, for every revocation or deletion, whatever
    the code path). While the waiter reconnects, announcements may be missed, so every request
    reads; after it, its generation has moved and nothing kept before is served.

    A process that ends logins (logout, password change, deletion) counts it itself before
    the command answers, and one that changes a user waits for the users projection, whose
    announcement comes before its progress: the next request it serves reads again. Other
    processes see the change when the announcement arrives, as they see a board's membership
    change. Only valid sign-ins are kept. Without a waiter (reads from a replica) every
    request reads."""

    def __init__(self, waiter: ProjectionWaiter | None, capacity: int = 10_000) -> None:
        self.waiter = waiter
        self._rows: Kept[dict[str, Any]] = Kept(capacity)

    def _tag(self) -> tuple[int, int] | None:
        waiter = self.waiter
        if waiter is None or not waiter.listening:
            return None
        return (waiter.generation, waiter.sign_ins_changed)

    async def get(
        self, conn: AsyncConnection, user_id: UUID, session_id: UUID | None
    ) -> dict[str, Any] | None:
        """The live, active user of a sign-in, or None."""
        tag = self._tag()  # before reading: a change after it moves it
        kept = self._rows.get((user_id, session_id), tag)
        if kept is not NOT_KEPT:
            return kept
        row = await get_user(conn, user_id, session_id)
        if row is not None and row["is_active"]:
            self._rows.put((user_id, session_id), tag, row)
        return row


async def ended_logins(
    conn: AsyncConnection, logins: list[tuple[str, UUID, UUID | None]]
) -> set[str]:
    """Of (key, user id, session id) logins, the keys of those no longer valid: the user is
    gone or inactive, or the session was revoked (one query for all)."""
    if not logins:
        return set()
    keys, users, sessions = zip(*logins, strict=True)
    cur = await conn.execute(
        "SELECT v.key FROM unnest(%s::text[], %s::uuid[], %s::uuid[]) AS v(key, user_id, family)"
        " WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = v.user_id"
        " AND u.deleted_at IS NULL AND u.is_active AND (v.family IS NULL OR EXISTS"
        " (SELECT 1 FROM user_sessions s WHERE s.family_id = v.family AND s.user_id = u.id"
        " AND s.revoked_at IS NULL)))",
        (list(keys), list(users), list(sessions)),
    )
    return {row[0] for row in await cur.fetchall()}


async def list_users(
    conn: AsyncConnection, *, limit: int, after: tuple[datetime, UUID] | None, search: str | None
) -> list[dict[str, Any]]:
    query = f"SELECT {USER_COLUMNS} FROM users WHERE deleted_at IS NULL"
    params: list[Any] = []
    if search:
        query += " AND (name ILIKE %s OR email ILIKE %s)"
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        params += [pattern, pattern]
    if after is not None:
        query += " AND (created_at, id) > (%s, %s)"
        params.extend(after)
    query += " ORDER BY created_at, id LIMIT %s"
    params.append(limit)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        return await cur.fetchall()


def memberships_of(conn: Connection, user_id: UUID) -> list[tuple[UUID, str]]:
    rows = conn.execute(
        "SELECT workspace_id, role::text FROM workspace_members WHERE user_id = %s", (user_id,)
    ).fetchall()
    return [
        (r[0], r[1]) if not isinstance(r, dict) else (r["workspace_id"], r["role"]) for r in rows
    ]


async def personal_data(conn: AsyncConnection, user_id: UUID) -> dict[str, Any]:
    """Everything the read model holds about a user (for the export)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"SELECT {USER_COLUMNS} FROM users WHERE id = %s", (user_id,))
        user = await cur.fetchone()
        await cur.execute(
            "SELECT m.workspace_id, w.name AS workspace_name, m.role, m.joined_at"
            " FROM workspace_members m JOIN workspaces w ON w.id = m.workspace_id"
            " WHERE m.user_id = %s ORDER BY m.joined_at",
            (user_id,),
        )
        memberships = await cur.fetchall()
        await cur.execute(
            "SELECT workspace_id, action, object_type, object_id, details, created_at"
            " FROM activities WHERE user_id = %s ORDER BY position",
            (user_id,),
        )
        activities = await cur.fetchall()
    return {"user": user, "memberships": memberships, "activities": activities}
