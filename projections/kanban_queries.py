"""Queries over the kanban read model. The board read (columns with their cards, in order)
is built as one JSON document by PostgreSQL: it is the clients' main read."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson
from psycopg import AsyncConnection

from domain.workspaces import WORKSPACE_ROLES
from projections.queries import NOT_KEPT, Kept, fetch_all, fetch_one

# A card's dense position (0, 1, 2... in (rank, id) order within its column) is not stored
# (a move would renumber the rest of two columns): it is counted where a card is read, over
# the (column_id, rank, id) index, or numbered by row_number() where a column is read whole.
CARD_POSITION = (
    "(SELECT count(*) FROM kanban_cards p WHERE p.column_id = k.column_id"
    " AND (p.rank, p.id) < (k.rank, k.id))::int"
)
NUMBERED_CARDS = (
    "(SELECT *, (row_number() OVER (ORDER BY rank, id) - 1)::int AS position FROM kanban_cards"
    " WHERE column_id = {column})"
)
CARD_COLUMNS = (
    "k.id, k.board_id, k.column_id, k.project_id, k.title, k.description,"
    f" {CARD_POSITION} AS position, k.priority,"
    " k.due_date, k.estimated_hours::float8 AS estimated_hours, k.actual_hours::float8 AS actual_hours,"
    " k.assignee_id, k.created_by, k.labels, k.attachments, k.is_archived,"
    " jsonb_array_length(coalesce(k.attachments, '[]')) AS attachments_count, k.completed_at,"
    " k.created_at, k.updated_at, k.version"
)
COLUMN_COLUMNS = (
    "c.id, c.board_id, c.name, c.position, c.color, c.wip_limit, c.is_done_column, c.created_at,"
    " c.updated_at, c.version"
)
BOARD_COLUMNS = (
    "b.id, b.project_id, b.workspace_id, b.name, b.description, b.settings, b.created_at,"
    " b.updated_at, b.version"
)
MEMBER = "JOIN workspace_members m ON m.workspace_id = {t}.workspace_id AND m.user_id = %(user)s"

CARD_JSON = (
    "json_build_object('id', k.id, 'board_id', k.board_id, 'column_id', k.column_id,"
    " 'project_id', k.project_id, 'title', k.title, 'description', k.description,"
    " 'position', k.position, 'priority', k.priority, 'due_date', k.due_date,"
    " 'estimated_hours', k.estimated_hours::float8, 'actual_hours', k.actual_hours::float8,"
    " 'assignee_id', k.assignee_id, 'created_by', k.created_by, 'labels', k.labels,"
    " 'is_archived', k.is_archived,"
    " 'attachments', k.attachments, 'attachments_count',"
    " jsonb_array_length(coalesce(k.attachments, '[]')), 'completed_at', k.completed_at,"
    " 'created_at', k.created_at,"
    " 'updated_at', k.updated_at, 'version', k.version)"
)
BOARD_BODY = (
    "SELECT json_build_object('id', b.id, 'project_id', b.project_id, 'workspace_id',"
    " b.workspace_id, 'name', b.name, 'description', b.description, 'settings', b.settings,"
    " 'created_at', b.created_at, 'updated_at', b.updated_at, 'version', b.version,"
    " 'columns', coalesce((SELECT json_agg(json_build_object('id', c.id,"
    " 'board_id', c.board_id, 'name', c.name, 'position', c.position, 'color', c.color,"
    " 'wip_limit', c.wip_limit, 'is_done_column', c.is_done_column, 'created_at', c.created_at,"
    " 'updated_at', c.updated_at, 'version', c.version, 'cards', coalesce((SELECT"
    f" json_agg({CARD_JSON} ORDER BY k.position) FROM {NUMBERED_CARDS.format(column='c.id')} k),"
    " '[]'::json)) ORDER BY c.position) FROM kanban_columns c WHERE c.board_id = b.id), '[]'::json)"
    ")::text, b.version FROM kanban_boards b WHERE b.id = %s"
)
BOARD_ROLE = (
    "SELECT m.role FROM kanban_boards b JOIN workspace_members m"
    " ON m.workspace_id = b.workspace_id AND m.user_id = %s WHERE b.id = %s"
)
KANBAN = "kanban"  # the projection that owns every table of the board document
MEMBERS = "workspaces"  # the projection that owns workspace_members (the caller's role)


TRACKED_POSITION = "SELECT position FROM projection_tracking WHERE name = %s"


@dataclass(frozen=True)
class BoardDocument:
    body: bytes  # JSON: the caller's role, the board, its columns and their cards in order
    # An entity tag for this body: "<board version>.<digest of the document><role>". The
    # version first, so that a client may send it back as If-Match (its version counts).
    etag: str


class BoardDocuments:
    """The board read: the board, its columns and their cards in order, as JSON built by
    PostgreSQL (one query), plus the caller's role.

    Building a 200-card document costs PostgreSQL milliseconds, so each process keeps the
    documents it built, tagged with the ``kanban`` projection's position at the time (from
    the read-your-writes waiter, which follows the projectors' progress). A document is
    served again only while that position has not moved: every table in it is written by
    that projection alone, in transactions that advance it. The caller's role (membership
    of the board's workspace) is kept the same way, tagged with the positions of both
    projections it is read from (``kanban``: the board's workspace; ``workspaces``: the
    members): a change of membership anywhere moves the tag. With a read replica (no
    positions announced) both are read on every request.
    """

    def __init__(self, positions: dict[str, int] | None, capacity: int = 128) -> None:
        # projection name -> position, kept current by the waiter; None: read the position
        # from ``projection_tracking`` on the connection (a read replica, which may be behind
        # the positions the primary announces)
        self.positions = positions
        # board -> (document body, "<version>.<digest>"), under the kanban position
        self._documents: Kept[tuple[bytes, str]] = Kept(capacity)
        # (board, user) -> role or None (not a member), under the (kanban, workspaces) positions
        self._roles: Kept[str | None] = Kept(capacity * 64)

    async def _position(self, conn: AsyncConnection) -> int | None:
        if self.positions is not None:
            return self.positions.get(KANBAN)
        cur = await conn.execute(TRACKED_POSITION, (KANBAN,), prepare=True)
        row = await cur.fetchone()
        return None if row is None else int(row[0])

    async def _role(self, conn: AsyncConnection, board_id: UUID, user_id: UUID) -> str | None:
        """The caller's role in the board's workspace (None: not a member, or no board)."""
        tag = None
        if self.positions is not None:  # before reading: a later change moves them
            kanban, members = self.positions.get(KANBAN), self.positions.get(MEMBERS)
            if kanban is not None and members is not None:
                tag = (kanban, members)
        kept = self._roles.get((board_id, user_id), tag)
        if kept is not NOT_KEPT:
            return kept
        cur = await conn.execute(BOARD_ROLE, (user_id, board_id), prepare=True)
        row = await cur.fetchone()
        role = None if row is None else row[0]
        self._roles.put((board_id, user_id), tag, role)
        return role

    async def get(
        self, conn: AsyncConnection, board_id: UUID, user_id: UUID
    ) -> BoardDocument | None:
        position = await self._position(conn)  # before reading: a later change moves it
        role = await self._role(conn, board_id, user_id)
        if role is None:
            return None
        kept = self._documents.get(board_id, position)
        if kept is not NOT_KEPT:
            body, tag = kept
        else:
            cur = await conn.execute(BOARD_BODY, (board_id,), prepare=True)
            row = await cur.fetchone()
            if row is None:
                return None
            body = row[0].encode()
            tag = f"{row[1]}.{hashlib.blake2b(body, digest_size=8).hexdigest()}"
            self._documents.put(board_id, position, (body, tag))
        return BoardDocument(
            b'{"role":' + orjson.dumps(role) + b"," + body[1:],
            f'"{tag}{WORKSPACE_ROLES.index(role) if role in WORKSPACE_ROLES else "f"}"',
        )


async def board(conn: AsyncConnection, board_id: UUID, user_id: UUID) -> dict[str, Any] | None:
    return await fetch_one(
        conn,
        f"SELECT {BOARD_COLUMNS}, m.role FROM kanban_boards b {MEMBER.format(t='b')} WHERE b.id = %(id)s",
        {"id": board_id, "user": user_id},
    )


async def boards_of_project(
    conn: AsyncConnection, project_id: UUID, user_id: UUID, *, limit: int, after: tuple | None
) -> list[dict[str, Any]]:
    query = f"SELECT {BOARD_COLUMNS}, m.role FROM kanban_boards b {MEMBER.format(t='b')} WHERE b.project_id = %(project)s"
    if after is not None:
        query += " AND (b.created_at, b.id) > (%(at)s, %(after)s)"
    query += " ORDER BY b.created_at, b.id LIMIT %(limit)s"
    at, last = after if after else (None, None)
    return await fetch_all(
        conn,
        query,
        {"project": project_id, "user": user_id, "limit": limit, "at": at, "after": last},
    )


async def columns_of_board(conn: AsyncConnection, board_id: UUID) -> list[dict[str, Any]]:
    return await fetch_all(
        conn,
        f"SELECT {COLUMN_COLUMNS}, (SELECT count(*) FROM kanban_cards k WHERE k.column_id = c.id)"
        " AS card_count FROM kanban_columns c WHERE c.board_id = %(board)s ORDER BY c.position",
        {"board": board_id},
    )


async def column(conn: AsyncConnection, column_id: UUID, user_id: UUID) -> dict[str, Any] | None:
    """A column (with its board's workspace role for the caller), members only."""
    return await fetch_one(
        conn,
        f"SELECT {COLUMN_COLUMNS}, (SELECT count(*) FROM kanban_cards k WHERE k.column_id = c.id)"
        f" AS card_count, m.role FROM kanban_columns c {MEMBER.format(t='c')} WHERE c.id = %(id)s",
        {"id": column_id, "user": user_id},
    )


async def cards_of_column(
    conn: AsyncConnection, column_id: UUID, *, limit: int, after: int | None
) -> list[dict[str, Any]]:
    columns = CARD_COLUMNS.replace(f"{CARD_POSITION} AS position", "k.position")
    query = f"SELECT {columns} FROM {NUMBERED_CARDS.format(column='%(column)s')} k"
    if after is not None:
        query += " WHERE k.position > %(after)s"
    query += " ORDER BY k.position LIMIT %(limit)s"
    return await fetch_all(conn, query, {"column": column_id, "after": after, "limit": limit})


async def card(conn: AsyncConnection, card_id: UUID, user_id: UUID) -> dict[str, Any] | None:
    return await fetch_one(
        conn,
        f"SELECT {CARD_COLUMNS}, m.role FROM kanban_cards k {MEMBER.format(t='k')}"
        " WHERE k.id = %(id)s AND k.column_id IS NOT NULL",
        {"id": card_id, "user": user_id},
    )


async def card_activities(
    conn: AsyncConnection, card_id: UUID, *, limit: int, before: int | None
) -> list[dict[str, Any]]:
    """A card's history, newest first (keyset on the log position)."""
    query = (
        "SELECT id, card_id, user_id, action, details, created_at, position FROM card_activities"
        " WHERE card_id = %(card)s"
    )
    if before is not None:
        query += " AND position < %(before)s"
    query += " ORDER BY position DESC LIMIT %(limit)s"
    return await fetch_all(conn, query, {"card": card_id, "before": before, "limit": limit})


async def project_visible(conn: AsyncConnection, project_id: UUID, user_id: UUID) -> bool:
    row = await fetch_one(
        conn,
        f"SELECT 1 AS ok FROM projects p {MEMBER.format(t='p')} WHERE p.id = %(id)s",
        {"id": project_id, "user": user_id},
    )
    return row is not None
