"""Kanban read model: boards, columns and cards with dense integer positions.

The write side orders columns and cards by fractional keys (``rank``); this projection keeps
the spec's ``position`` dense (0, 1, 2...) by renumbering only the columns an event touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import Cursor
from psycopg.types.json import Jsonb

from domain.kanban import Board, Card
from projections.base import Projection, RowSink, copy_rows, handles, json_dumps, row_id
from projections.kanban_batch import CARD_FIELDS, KanbanBatch
from projections.time_tracking import TrackedTime

COLUMN_FIELDS = {"name", "color", "wip_limit", "is_done_column"}
BOARD_FIELDS = {"name", "description", "settings"}


def _json(changes: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    return {k: Jsonb(v) if k in keys else v for k, v in changes.items()}


def renumber_cards(cur: Cursor, column_id: Any) -> None:
    cur.execute(
        "UPDATE kanban_cards c SET position = r.pos FROM (SELECT id, (row_number() OVER"
        " (ORDER BY rank, id) - 1)::int AS pos FROM kanban_cards WHERE column_id = %s) r"
        " WHERE c.id = r.id AND c.position IS DISTINCT FROM r.pos",
        (column_id,),
        prepare=True,
    )


def renumber_columns(cur: Cursor, board_id: Any) -> None:
    cur.execute(
        "UPDATE kanban_columns c SET position = r.pos FROM (SELECT id, (row_number() OVER"
        " (ORDER BY rank, id) - 1)::int AS pos FROM kanban_columns WHERE board_id = %s) r"
        " WHERE c.id = r.id AND c.position IS DISTINCT FROM r.pos",
        (board_id,),
        prepare=True,
    )


class KanbanProjection(TrackedTime, Projection):
    name = "kanban"
    tables = ("kanban_boards", "kanban_columns", "kanban_cards", "kanban_card_time")
    tracked_type, tracked_table, tracked_rows = "card", "kanban_card_time", "kanban_cards"
    deferred_indexes = (  # cards are found by id and by column
        "idx_kanban_cards_column_rank",
        "idx_kanban_cards_board",
        "idx_kanban_cards_assignee",
        "idx_kanban_cards_workspace",
    )

    def apply_batch(self, cur: Cursor, events: Sequence[tuple[Any, int]]) -> None:
        KanbanBatch(self).run(cur, events)

    # Boards ----------------------------------------------------------------------------------

    def _board_version(self, cur: Cursor, e: Any) -> None:
        cur.execute(
            "UPDATE kanban_boards SET version = %s, updated_at = %s WHERE id = %s",
            (e.originator_version, e.timestamp, e.originator_id),
            prepare=True,
        )

    @handles(Board.Created)
    def board_created(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "INSERT INTO kanban_boards (id, project_id, workspace_id, name, description, settings,"
            " created_at, updated_at, version) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                e.originator_id,
                e.project_id,
                e.workspace_id,
                e.name,
                e.description,
                Jsonb(e.settings),
                e.timestamp,
                e.timestamp,
                e.originator_version,
            ),
        )

    @handles(Board.Updated)
    def board_updated(self, cur: Cursor, e: Any, position: int) -> None:
        changes = _json({k: v for k, v in e.changes.items() if k in BOARD_FIELDS}, {"settings"})
        sets = "".join(f"{k} = %({k})s, " for k in changes)
        cur.execute(
            f"UPDATE kanban_boards SET {sets}updated_at = %(ts)s, version = %(v)s WHERE id = %(id)s",
            {**changes, "ts": e.timestamp, "v": e.originator_version, "id": e.originator_id},
        )

    @handles(Board.Deleted)
    def board_deleted(self, cur: Cursor, e: Any, position: int) -> None:
        for table in ("kanban_cards", "kanban_columns"):
            cur.execute(f"DELETE FROM {table} WHERE board_id = %s", (e.originator_id,))
        cur.execute("DELETE FROM kanban_boards WHERE id = %s", (e.originator_id,))

    # Columns ---------------------------------------------------------------------------------

    @handles(Board.ColumnAdded)
    def column_added(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "INSERT INTO kanban_columns (id, board_id, workspace_id, name, position, rank, color,"
            " wip_limit, is_done_column, created_at, updated_at, version)"
            " VALUES (%s, %s, %s, %s, 0, %s, %s, %s, %s, %s, %s, %s)",
            (
                e.column_id,
                e.originator_id,
                e.workspace_id,
                e.name,
                e.rank,
                e.color,
                e.wip_limit,
                e.is_done_column,
                e.timestamp,
                e.timestamp,
                e.originator_version,
            ),
        )
        renumber_columns(cur, e.originator_id)
        self._board_version(cur, e)

    @handles(Board.ColumnUpdated)
    def column_updated(self, cur: Cursor, e: Any, position: int) -> None:
        changes = {k: v for k, v in e.changes.items() if k in COLUMN_FIELDS}
        sets = "".join(f"{k} = %({k})s, " for k in changes)
        cur.execute(
            f"UPDATE kanban_columns SET {sets}updated_at = %(ts)s, version = %(v)s WHERE id = %(id)s",
            {**changes, "ts": e.timestamp, "v": e.originator_version, "id": e.column_id},
        )
        if "is_done_column" in changes:  # cards in a done column count as completed
            cur.execute(
                "UPDATE kanban_cards SET completed_at = CASE WHEN %s THEN coalesce(completed_at, %s)"
                " END WHERE column_id = %s",
                (changes["is_done_column"], e.timestamp, e.column_id),
            )
        self._board_version(cur, e)

    @handles(Board.ColumnMoved)
    def column_moved(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "UPDATE kanban_columns SET rank = %s, updated_at = %s, version = %s WHERE id = %s",
            (e.rank, e.timestamp, e.originator_version, e.column_id),
        )
        renumber_columns(cur, e.originator_id)
        self._board_version(cur, e)

    @handles(Board.ColumnDeleted)
    def column_deleted(self, cur: Cursor, e: Any, position: int) -> None:
        for card_id, rank in e.moved:
            cur.execute(
                "UPDATE kanban_cards SET column_id = %s, rank = %s, updated_at = %s,"
                " completed_at = CASE WHEN (SELECT is_done_column FROM kanban_columns WHERE id = %s)"
                " THEN coalesce(completed_at, %s) END WHERE id = %s",
                (e.target_column_id, rank, e.timestamp, e.target_column_id, e.timestamp, card_id),
            )
        cur.execute("DELETE FROM kanban_columns WHERE id = %s", (e.column_id,))
        if e.target_column_id is not None:
            renumber_cards(cur, e.target_column_id)
        renumber_columns(cur, e.originator_id)
        self._board_version(cur, e)

    # Card placement (board events) ----------------------------------------------------------

    def place_card(self, cur: Cursor, e: Any) -> None:
        # Card.Created and Board.CardPlaced arrive in either order: both upsert.
        cur.execute(
            "INSERT INTO kanban_cards (id, column_id, board_id, project_id, workspace_id, title,"
            " position, rank, created_at, updated_at, completed_at, version)"
            " VALUES (%s, %s, %s, %s, %s, '', 0, %s, %s, %s, %s, 0)"
            " ON CONFLICT (id) DO UPDATE SET column_id = excluded.column_id, rank = excluded.rank,"
            " completed_at = excluded.completed_at",
            (
                e.card_id,
                e.column_id,
                e.originator_id,
                e.project_id,
                e.workspace_id,
                e.rank,
                e.timestamp,
                e.timestamp,
                e.timestamp if e.is_done_column else None,
            ),
            prepare=True,
        )

    @handles(Board.CardPlaced)
    def card_placed(self, cur: Cursor, e: Any, position: int) -> None:
        self.place_card(cur, e)
        renumber_cards(cur, e.column_id)
        self._board_version(cur, e)

    @handles(Board.CardMoved)
    def card_moved(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "UPDATE kanban_cards SET column_id = %s, rank = %s, updated_at = %s, completed_at ="
            " CASE WHEN %s THEN coalesce(completed_at, %s) END WHERE id = %s",
            (e.column_id, e.rank, e.timestamp, e.is_done_column, e.timestamp, e.card_id),
            prepare=True,
        )
        renumber_cards(cur, e.column_id)
        if e.from_column_id != e.column_id:
            renumber_cards(cur, e.from_column_id)
        self._board_version(cur, e)

    @handles(Board.CardRemoved)
    def card_removed(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute("DELETE FROM kanban_cards WHERE id = %s", (e.card_id,))
        renumber_cards(cur, e.column_id)
        self._board_version(cur, e)

    # Card content (card events) -------------------------------------------------------------

    @handles(Card.Created)
    def card_created(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "INSERT INTO kanban_cards (id, board_id, project_id, workspace_id, title, description,"
            " position, rank, priority, due_date, estimated_hours, assignee_id, created_by, labels,"
            " created_at, updated_at, version) VALUES (%s, %s, %s, %s, %s, %s, 0, '', %s, %s, %s,"
            " %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET title = excluded.title,"
            " description = excluded.description, priority = excluded.priority,"
            " due_date = excluded.due_date, estimated_hours = excluded.estimated_hours,"
            " assignee_id = excluded.assignee_id, created_by = excluded.created_by,"
            " labels = excluded.labels, version = excluded.version",
            (
                e.originator_id,
                e.board_id,
                e.project_id,
                e.workspace_id,
                e.title,
                e.description,
                e.priority,
                e.due_date,
                e.estimated_hours,
                e.assignee_id,
                e.actor_id,
                Jsonb(e.labels),
                e.timestamp,
                e.timestamp,
                e.originator_version,
            ),
        )

    @handles(Card.Updated)
    def card_updated(self, cur: Cursor, e: Any, position: int) -> None:
        changes = _json({k: v for k, v in e.changes.items() if k in CARD_FIELDS}, {"labels"})
        sets = "".join(f"{k} = %({k})s, " for k in changes)
        cur.execute(
            f"UPDATE kanban_cards SET {sets}updated_at = %(ts)s, version = %(v)s WHERE id = %(id)s",
            {**changes, "ts": e.timestamp, "v": e.originator_version, "id": e.originator_id},
        )

    @handles(Card.Assigned)
    def card_assigned(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "UPDATE kanban_cards SET assignee_id = %s, updated_at = %s, version = %s WHERE id = %s",
            (e.assignee_id, e.timestamp, e.originator_version, e.originator_id),
        )

    @handles(Card.Deleted)
    def card_deleted(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute("DELETE FROM kanban_cards WHERE id = %s", (e.originator_id,))


RECORD = (
    "INSERT INTO card_activities (id, card_id, workspace_id, user_id, action, details,"
    " created_at, position) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)
RECORD_COLUMNS = (
    "id",
    "card_id",
    "workspace_id",
    "user_id",
    "action",
    "details",
    "created_at",
    "position",
)


class CardActivitiesProjection(Projection):
    """Each card's history from the card's and its board's events."""

    name = "card_activities"
    tables = ("card_activities",)
    append_only = ("card_activities",)
    COMMENT_CREATED = "domain.comments:Comment.Created"

    def apply_batch(self, cur: Cursor, events: Sequence[tuple[Any, int]]) -> None:
        sink = RowSink(RECORD)
        for event, position in events:
            self.apply(sink, event, position)  # type: ignore[arg-type]
        copy_rows(cur, "card_activities", RECORD_COLUMNS, sink.rows)

    def handles_topic(self, topic: str) -> bool:
        return super().handles_topic(topic) or topic == self.COMMENT_CREATED

    def apply(self, cur: Cursor, event: Any, position: int) -> None:
        if type(event).__qualname__ == "Comment.Created":
            if getattr(event, "commentable_type", None) == "card":
                self._record(
                    cur,
                    event,
                    position,
                    event.commentable_id,
                    "commented",
                    {"comment_id": str(event.originator_id)},
                )
            return
        super().apply(cur, event, position)

    def _record(
        self, cur: Cursor, e: Any, position: int, card_id: Any, action: str, details: dict[str, Any]
    ) -> None:
        cur.execute(
            RECORD,
            (
                row_id("card_activity", position, card_id),
                card_id,
                e.workspace_id,
                e.actor_id,
                action,
                Jsonb(details, dumps=json_dumps),
                e.timestamp,
                position,
            ),
            prepare=True,
        )

    @handles(Card.Created)
    def created(self, cur: Cursor, e: Any, position: int) -> None:
        self._record(cur, e, position, e.originator_id, "created", {"title": e.title})

    @handles(Board.CardPlaced)
    def placed(self, cur: Cursor, e: Any, position: int) -> None:
        details = {"column_id": str(e.column_id)}
        if e.override_reason:
            details["wip_override_reason"] = e.override_reason
        self._record(cur, e, position, e.card_id, "placed", details)

    @handles(Board.CardMoved)
    def moved(self, cur: Cursor, e: Any, position: int) -> None:
        details = {
            "from_column_id": str(e.from_column_id),
            "to_column_id": str(e.column_id),
            "from_position": e.from_position,
            "to_position": e.position,
        }
        if e.override_reason:
            details["wip_override_reason"] = e.override_reason
        self._record(cur, e, position, e.card_id, "moved", details)

    @handles(Board.ColumnDeleted)
    def column_deleted(self, cur: Cursor, e: Any, position: int) -> None:
        for card_id, _rank in e.moved:
            self._record(
                cur,
                e,
                position,
                card_id,
                "moved",
                {
                    "from_column_id": str(e.column_id),
                    "to_column_id": str(e.target_column_id),
                    "reason": "column deleted",
                },
            )

    @handles(Card.Updated)
    def updated(self, cur: Cursor, e: Any, position: int) -> None:
        self._record(cur, e, position, e.originator_id, "updated", {"changes": _plain(e.changes)})

    @handles(Card.Assigned)
    def assigned(self, cur: Cursor, e: Any, position: int) -> None:
        self._record(
            cur,
            e,
            position,
            e.originator_id,
            "assigned",
            {
                "assignee_id": _plain(e.assignee_id),
                "previous_assignee_id": _plain(e.previous_assignee_id),
            },
        )

    @handles(Card.Deleted)
    def deleted(self, cur: Cursor, e: Any, position: int) -> None:
        self._record(cur, e, position, e.originator_id, "deleted", {})


def _plain(value: Any) -> Any:
    """JSON-ready copy of event values (ids, decimals and datetimes as strings)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
