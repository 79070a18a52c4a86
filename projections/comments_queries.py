"""Comments read queries: a thread's comments with their reactions, and one comment."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from projections import files_queries

COMMENT_COLUMNS = (
    "c.id, c.workspace_id, c.commentable_type, c.commentable_id, c.user_id, c.content,"
    " c.parent_comment_id, c.is_edited, c.edited_at, c.version, c.created_at, c.updated_at,"
    " coalesce((SELECT jsonb_agg(jsonb_build_object('reaction', r.reaction, 'count', r.n,"
    " 'reacted', r.mine) ORDER BY r.reaction) FROM (SELECT reaction, count(*) AS n,"
    " bool_or(user_id = %(me)s) AS mine FROM comment_reactions WHERE comment_id = c.id"
    " GROUP BY reaction) r), '[]'::jsonb) AS reactions, "
    + files_queries.attachments_column("comment", "c.id")
)


async def list_comments(
    conn: AsyncConnection,
    commentable_type: str,
    commentable_id: UUID,
    user_id: UUID,
    *,
    limit: int,
    after: tuple[datetime, UUID] | None = None,
) -> list[dict[str, Any]]:
    """Comments on an object, oldest first (keyset on created_at, id), with their reactions
    summarized: per reaction, how many and whether the caller is among them."""
    query = (
        f"SELECT {COMMENT_COLUMNS} FROM comments c"
        " WHERE c.commentable_type = %(type)s AND c.commentable_id = %(obj)s"
    )
    params: dict[str, Any] = {
        "me": user_id,
        "type": commentable_type,
        "obj": commentable_id,
        "limit": limit,
    }
    if after is not None:
        query += " AND (c.created_at, c.id) > (%(at)s, %(after)s)"
        params.update(at=after[0], after=after[1])
    query += " ORDER BY c.created_at, c.id LIMIT %(limit)s"
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        return await cur.fetchall()


async def get_comment(
    conn: AsyncConnection, comment_id: UUID, user_id: UUID
) -> dict[str, Any] | None:
    """One comment for a caller already authorized to see it."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {COMMENT_COLUMNS} FROM comments c WHERE c.id = %(id)s",
            {"me": user_id, "id": comment_id},
        )
        return await cur.fetchone()
