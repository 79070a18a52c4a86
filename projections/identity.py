"""Identity read model: the ``users`` table, and queries over it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection, Cursor
from psycopg.rows import dict_row

from domain.identity import User
from projections.base import Projection, handles

USER_COLUMNS = (
    "id, email, name, avatar_url, role, is_active, email_verified, created_at, updated_at, version"
)
PROFILE_FIELDS = {
    "name",
    "avatar_url",
    "email",
    "role",
    "is_active",
    "email_verified",
    "password_hash",
}


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

    @handles(User.ProfileUpdated)
    def profile_updated(self, cur: Cursor, e: Any, position: int) -> None:
        changes = {k: v for k, v in e.changes.items() if k in PROFILE_FIELDS}
        sets = "".join(f"{k} = %({k})s, " for k in changes)
        cur.execute(
            f"UPDATE users SET {sets}updated_at = %(ts)s, version = %(v)s WHERE id = %(id)s",
            {**changes, "ts": e.timestamp, "v": e.originator_version, "id": e.originator_id},
        )


async def get_user(conn: AsyncConnection, user_id: UUID) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {USER_COLUMNS} FROM users WHERE id = %s AND deleted_at IS NULL",
            (user_id,),
            prepare=True,
        )
        return await cur.fetchone()
