"""Comments read model: ``comments``, ``comment_reactions`` and, for comments on cards, the
spec's ``card_comments`` (same id as the comment).

Deleting a comment removes its replies with it (the spec's ON DELETE CASCADE); deleting the
card, task, board or project a comment is on removes its comments. A reply whose thread is
already gone is not shown.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import Cursor

from domain.comments import Comment
from domain.kanban import Board, Card
from domain.projects import Project
from domain.tasks import Task
from projections.base import Projection, handles, row_id


class CommentsProjection(Projection):
    name = "comments"
    tables = ("comments", "comment_reactions", "card_comments")

    deferred_indexes = (  # comments are found by id, parent and what they are on
        "idx_comments_user",
        "idx_comments_workspace",
        "idx_comment_reactions_workspace",
        "idx_card_comments_card",
        "idx_card_comments_workspace",
    )

    @handles(Comment.Created)
    def created(self, cur: Cursor, e: Any, position: int) -> None:
        # One statement (no rowcount to read, fit for pipeline mode): the comment, unless its
        # thread is gone, and then, for a comment on a card, its card_comments row.
        cur.execute(
            "WITH added AS (INSERT INTO comments (id, workspace_id, commentable_type,"
            " commentable_id, user_id, content, parent_comment_id, is_edited, version,"
            " created_at, updated_at) SELECT %(id)s, %(ws)s, %(type)s, %(obj)s, %(user)s,"
            " %(content)s, %(parent)s, false, %(v)s, %(ts)s, %(ts)s WHERE %(parent)s::uuid IS NULL"
            " OR EXISTS (SELECT 1 FROM comments WHERE id = %(parent)s) RETURNING id)"
            " INSERT INTO card_comments (id, workspace_id, card_id, user_id, content, created_at,"
            " updated_at) SELECT id, %(ws)s, %(obj)s, %(user)s, %(content)s, %(ts)s, %(ts)s"
            " FROM added WHERE %(type)s::text = 'card'",
            {
                "id": e.originator_id,
                "ws": e.workspace_id,
                "type": e.commentable_type,
                "obj": e.commentable_id,
                "user": e.actor_id,
                "content": e.content,
                "parent": e.parent_comment_id,
                "v": e.originator_version,
                "ts": e.timestamp,
            },
            prepare=True,
        )

    @handles(Comment.Edited)
    def edited(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "UPDATE comments SET content = %s, is_edited = true, edited_at = %s, updated_at = %s,"
            " version = %s WHERE id = %s",
            (e.content, e.timestamp, e.timestamp, e.originator_version, e.originator_id),
        )
        cur.execute(
            "UPDATE card_comments SET content = %s, updated_at = %s WHERE id = %s",
            (e.content, e.timestamp, e.originator_id),
        )

    def _delete_comments(self, cur: Cursor, where: str, params: tuple) -> None:
        """Delete the matching comments with every reply below them, and their reactions: one
        statement, no result to wait for (in a rebuild's pipeline, a fetch is a round trip
        that stops the batch until the server has done everything before it)."""
        cur.execute(
            "WITH RECURSIVE doomed AS (SELECT id FROM comments WHERE " + where + " UNION"
            " SELECT c.id FROM comments c JOIN doomed d ON c.parent_comment_id = d.id),"
            " reactions AS (DELETE FROM comment_reactions WHERE comment_id IN"
            " (SELECT id FROM doomed)),"
            " on_cards AS (DELETE FROM card_comments WHERE id IN (SELECT id FROM doomed))"
            " DELETE FROM comments WHERE id IN (SELECT id FROM doomed)",
            params,
        )

    @handles(Comment.Deleted)
    def deleted(self, cur: Cursor, e: Any, position: int) -> None:
        self._delete_comments(cur, "id = %s", (e.originator_id,))

    def _set_version(self, cur: Cursor, e: Any) -> None:
        cur.execute(
            "UPDATE comments SET version = %s WHERE id = %s",
            (e.originator_version, e.originator_id),
        )

    @handles(Comment.ReactionAdded)
    def reaction_added(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "INSERT INTO comment_reactions (id, workspace_id, comment_id, user_id, reaction,"
            " created_at) SELECT %s, %s, %s, %s, %s, %s"
            " WHERE EXISTS (SELECT 1 FROM comments WHERE id = %s)"
            " ON CONFLICT (comment_id, user_id, reaction) DO NOTHING",
            (
                row_id("reaction", e.originator_id, e.actor_id, e.reaction),
                e.workspace_id,
                e.originator_id,
                e.actor_id,
                e.reaction,
                e.timestamp,
                e.originator_id,
            ),
        )
        self._set_version(cur, e)

    @handles(Comment.ReactionRemoved)
    def reaction_removed(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "DELETE FROM comment_reactions WHERE comment_id = %s AND user_id = %s"
            " AND reaction = %s",
            (e.originator_id, e.actor_id, e.reaction),
        )
        self._set_version(cur, e)

    # What the comments are on goes away --------------------------------------------------

    @handles(Card.Deleted)
    def card_deleted(self, cur: Cursor, e: Any, position: int) -> None:
        self._delete_comments(
            cur, "commentable_type = 'card' AND commentable_id = %s", (e.originator_id,)
        )

    @handles(Board.Deleted)
    def board_deleted(self, cur: Cursor, e: Any, position: int) -> None:
        card_ids = [UUID(str(c)) for c in e.card_ids]
        if card_ids:
            self._delete_comments(
                cur, "commentable_type = 'card' AND commentable_id = ANY(%s)", (card_ids,)
            )

    @handles(Task.Deleted)
    def task_deleted(self, cur: Cursor, e: Any, position: int) -> None:
        self._delete_comments(
            cur, "commentable_type = 'task' AND commentable_id = %s", (e.originator_id,)
        )

    @handles(Project.Deleted)
    def project_deleted(self, cur: Cursor, e: Any, position: int) -> None:
        self._delete_comments(
            cur, "commentable_type = 'project' AND commentable_id = %s", (e.originator_id,)
        )
