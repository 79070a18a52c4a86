"""The kanban read model's row changes: the one implementation, live and rebuild alike.

``KanbanRows`` is a unit of work on a cursor: ``apply`` takes the events of a unit in log order,
``flush`` writes what is pending. The live projection makes a unit of each event (applied,
then flushed); a rebuild makes a unit of each batch. Within a unit:

- card moves, edits and assignments are folded per card (later values win; ``completed_at``
  keeps its CASE/coalesce meaning) and written with one ``UPDATE ... FROM unnest`` per set of
  columns;
- a card's ``position`` (dense: 0, 1, 2... in (rank, id) order, the order of
  ``Board.cards_in``) is not stored: the queries number the cards where they read them
  (``projections/kanban_queries.py``), so a move writes one card row instead of renumbering
  the rest of two columns. Columns keep a stored ``position`` (``RENUMBER_COLUMNS``): they
  move rarely;
- a board's ``version`` and ``updated_at`` are set once, to its last event's.

Other events write at once, after the pending card rows where their statements depend on
them (a column deleted or turning done).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from psycopg import Cursor
from psycopg.types.json import Jsonb

from domain.kanban import Board, Card
from projections.base import json_dumps

BOARD_FIELDS = {"name", "description", "settings"}
COLUMN_FIELDS = {"name", "color", "wip_limit", "is_done_column"}
CARD_FIELDS = {
    "title",
    "description",
    "priority",
    "due_date",
    "estimated_hours",
    "labels",
    "is_archived",
}

# input column -> (array type, assignment); "done" stands for the two inputs of completed_at.
CARD_INPUTS: dict[str, tuple[str, str]] = {
    "column_id": ("uuid", "column_id = u.column_id"),
    "rank": ("text", "rank = u.rank"),
    "title": ("text", "title = u.title"),
    "description": ("text", "description = u.description"),
    "priority": ("text", "priority = u.priority::card_priority"),
    "due_date": ("timestamptz", "due_date = u.due_date"),
    "estimated_hours": ("numeric", "estimated_hours = u.estimated_hours"),
    "labels": ("jsonb", "labels = u.labels"),
    "is_archived": ("bool", "is_archived = u.is_archived"),
    "assignee_id": ("uuid", "assignee_id = u.assignee_id"),
    "version": ("int4", "version = u.version"),
    "updated_at": ("timestamptz", "updated_at = u.updated_at"),
}
DONE = (
    "completed_at = CASE WHEN u.done_set THEN u.done_at ELSE coalesce(c.completed_at, u.done_at)"
    " END"
)
# The dense positions of a board's columns, in (rank, id) order.
RENUMBER_COLUMNS = (
    "UPDATE kanban_columns c SET position = r.pos FROM (SELECT id, (row_number() OVER"
    " (ORDER BY rank, id) - 1)::int AS pos FROM kanban_columns WHERE board_id = %s) r"
    " WHERE c.id = r.id AND c.position IS DISTINCT FROM r.pos"
)
BOARD = "UPDATE kanban_boards SET version = %s, updated_at = %s WHERE id = %s"
BOARDS = (
    "UPDATE kanban_boards b SET version = u.version, updated_at = u.updated_at"
    " FROM unnest(%s::uuid[], %s::int4[], %s::timestamptz[]) AS u(id, version, updated_at)"
    " WHERE b.id = u.id"
)


def _json(changes: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    return {k: Jsonb(v) if k in keys else v for k, v in changes.items()}


class KanbanRows:
    def __init__(self, cur: Cursor) -> None:
        self.cur = cur
        self.cards: dict[Any, dict[str, Any]] = {}  # card id -> column -> value
        self.boards: dict[Any, tuple[int, Any]] = {}  # board id -> (version, updated_at)

    def apply(self, e: Any) -> None:
        """One event of the unit."""
        WRITERS[type(e)](self, e)

    # Boards -------------------------------------------------------------------------------

    def board_created(self, e: Any) -> None:
        self.cur.execute(
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

    def board_updated(self, e: Any) -> None:
        self.boards.pop(e.originator_id, None)  # this statement sets the version
        changes = _json({k: v for k, v in e.changes.items() if k in BOARD_FIELDS}, {"settings"})
        sets = "".join(f"{k} = %({k})s, " for k in changes)
        self.cur.execute(
            f"UPDATE kanban_boards SET {sets}updated_at = %(ts)s, version = %(v)s WHERE id = %(id)s",
            {**changes, "ts": e.timestamp, "v": e.originator_version, "id": e.originator_id},
        )

    def board_deleted(self, e: Any) -> None:
        self.flush()
        for table in ("kanban_cards", "kanban_columns"):
            self.cur.execute(f"DELETE FROM {table} WHERE board_id = %s", (e.originator_id,))
        self.cur.execute("DELETE FROM kanban_boards WHERE id = %s", (e.originator_id,))

    def _board(self, e: Any) -> None:
        self.boards[e.originator_id] = (e.originator_version, e.timestamp)

    # Columns ------------------------------------------------------------------------------

    def column_added(self, e: Any) -> None:
        self.cur.execute(
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
        self.cur.execute(RENUMBER_COLUMNS, (e.originator_id,), prepare=True)
        self._board(e)

    def column_updated(self, e: Any) -> None:
        changes = {k: v for k, v in e.changes.items() if k in COLUMN_FIELDS}
        if "is_done_column" in changes:  # sets completed_at by column: pending cards first
            self._write_cards()
        sets = "".join(f"{k} = %({k})s, " for k in changes)
        self.cur.execute(
            f"UPDATE kanban_columns SET {sets}updated_at = %(ts)s, version = %(v)s WHERE id = %(id)s",
            {**changes, "ts": e.timestamp, "v": e.originator_version, "id": e.column_id},
        )
        if "is_done_column" in changes:  # cards in a done column count as completed
            self.cur.execute(
                "UPDATE kanban_cards SET completed_at = CASE WHEN %s THEN coalesce(completed_at, %s)"
                " END WHERE column_id = %s",
                (changes["is_done_column"], e.timestamp, e.column_id),
            )
        self._board(e)

    def column_moved(self, e: Any) -> None:
        self.cur.execute(
            "UPDATE kanban_columns SET rank = %s, updated_at = %s, version = %s WHERE id = %s",
            (e.rank, e.timestamp, e.originator_version, e.column_id),
        )
        self.cur.execute(RENUMBER_COLUMNS, (e.originator_id,), prepare=True)
        self._board(e)

    def column_deleted(self, e: Any) -> None:
        self._write_cards()  # its cards move by id: pending card rows first
        for card_id, rank in e.moved:
            self.cur.execute(
                "UPDATE kanban_cards SET column_id = %s, rank = %s, updated_at = %s,"
                " completed_at = CASE WHEN (SELECT is_done_column FROM kanban_columns WHERE id = %s)"
                " THEN coalesce(completed_at, %s) END WHERE id = %s",
                (e.target_column_id, rank, e.timestamp, e.target_column_id, e.timestamp, card_id),
            )
        self.cur.execute("DELETE FROM kanban_columns WHERE id = %s", (e.column_id,))
        self.cur.execute(RENUMBER_COLUMNS, (e.originator_id,), prepare=True)
        self._board(e)

    # Card placement (board events) -------------------------------------------------------

    def card_placed(self, e: Any) -> None:
        # Card.Created and Board.CardPlaced arrive in either order: both upsert.
        self._flush_card(e.card_id)
        self.cur.execute(
            "INSERT INTO kanban_cards (id, column_id, board_id, project_id, workspace_id, title,"
            " rank, created_at, updated_at, completed_at, version)"
            " VALUES (%s, %s, %s, %s, %s, '', %s, %s, %s, %s, 0)"
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
        self._board(e)

    def card_moved(self, e: Any) -> None:
        card = self._card(e.card_id, e.timestamp)
        card["column_id"], card["rank"] = e.column_id, e.rank
        done = card.get("done")  # (set, at): set completed_at to at, or coalesce it with at
        if not e.is_done_column:
            card["done"] = (True, None)
        elif done is None:
            card["done"] = (False, e.timestamp)
        elif done[0] and done[1] is None:
            card["done"] = (True, e.timestamp)
        self._board(e)

    def card_removed(self, e: Any) -> None:
        self.cards.pop(e.card_id, None)  # its row goes: what was pending for it too
        self.cur.execute("DELETE FROM kanban_cards WHERE id = %s", (e.card_id,))
        self._board(e)

    # Card content (card events) ----------------------------------------------------------

    def card_created(self, e: Any) -> None:
        self._flush_card(e.originator_id)
        self.cur.execute(
            "INSERT INTO kanban_cards (id, board_id, project_id, workspace_id, title, description,"
            " rank, priority, due_date, estimated_hours, assignee_id, created_by, labels,"
            " created_at, updated_at, version) VALUES (%s, %s, %s, %s, %s, %s, '', %s, %s, %s,"
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

    def card_updated(self, e: Any) -> None:
        card = self._card(e.originator_id, e.timestamp)
        for key, value in e.changes.items():
            if key in CARD_FIELDS:
                card[key] = Jsonb(value, dumps=json_dumps) if key == "labels" else value
        card["version"] = e.originator_version

    def card_assigned(self, e: Any) -> None:
        card = self._card(e.originator_id, e.timestamp)
        card["assignee_id"], card["version"] = e.assignee_id, e.originator_version

    def card_deleted(self, e: Any) -> None:
        self.cards.pop(e.originator_id, None)  # its row goes: what was pending for it too
        self.cur.execute("DELETE FROM kanban_cards WHERE id = %s", (e.originator_id,))

    def _card(self, card_id: Any, timestamp: Any) -> dict[str, Any]:
        card = self.cards.get(card_id)
        if card is None:
            card = self.cards[card_id] = {}
        card["updated_at"] = timestamp
        return card

    # Writing ------------------------------------------------------------------------------

    def _flush_card(self, card_id: Any) -> None:
        if card_id in self.cards:
            self._write_cards({card_id: self.cards.pop(card_id)})

    def flush(self) -> None:
        """Write what is pending: card rows, board versions."""
        self._write_cards()
        if len(self.boards) == 1:  # live: one board, plain values
            ((board_id, (version, stamp)),) = self.boards.items()
            self.cur.execute(BOARD, (version, stamp, board_id), prepare=True)
            self.boards = {}
        elif self.boards:
            ids = list(self.boards)
            versions = [self.boards[b][0] for b in ids]
            stamps = [self.boards[b][1] for b in ids]
            self.cur.execute(BOARDS, (ids, versions, stamps), prepare=True)
            self.boards = {}

    def _write_cards(self, cards: dict[Any, dict[str, Any]] | None = None) -> None:
        """Write the given pending card rows (all of them by default, then none is pending)."""
        if cards is None:
            cards, self.cards = self.cards, {}
        groups: dict[tuple[str, ...], list[Any]] = {}
        for card_id, values in cards.items():
            groups.setdefault(tuple(sorted(values)), []).append(card_id)
        for keys, ids in groups.items():
            columns: list[list[Any]] = [ids]
            for key in keys:
                if key == "done":
                    columns.append([cards[i]["done"][0] for i in ids])
                    columns.append([cards[i]["done"][1] for i in ids])
                else:
                    columns.append([cards[i][key] for i in ids])
            one = len(ids) == 1  # one row (live): plain values, no arrays to send
            params = [c[0] for c in columns] if one else columns
            self.cur.execute(_card_update(keys, one), params, prepare=True)


@cache
def _card_update(keys: tuple[str, ...], one: bool) -> str:
    """UPDATE of the card rows of ids from parallel arrays, or of one row from plain values."""
    names, types, sets = ["id"], ["uuid"], []
    for key in keys:
        if key == "done":
            names += ["done_set", "done_at"]
            types += ["bool", "timestamptz"]
            sets.append(DONE)
        else:
            array_type, assignment = CARD_INPUTS[key]
            names.append(key)
            types.append(array_type)
            sets.append(assignment)
    if one:
        values = ", ".join(f"%s::{t} AS {n}" for t, n in zip(types, names, strict=True))
        source = f"(SELECT {values}) AS u"
    else:
        source = f"unnest({', '.join(f'%s::{t}[]' for t in types)}) AS u({', '.join(names)})"
    return f"UPDATE kanban_cards c SET {', '.join(sets)} FROM {source} WHERE c.id = u.id"


WRITERS: dict[type, Callable[[KanbanRows, Any], None]] = {
    Board.Created: KanbanRows.board_created,
    Board.Updated: KanbanRows.board_updated,
    Board.Deleted: KanbanRows.board_deleted,
    Board.ColumnAdded: KanbanRows.column_added,
    Board.ColumnUpdated: KanbanRows.column_updated,
    Board.ColumnMoved: KanbanRows.column_moved,
    Board.ColumnDeleted: KanbanRows.column_deleted,
    Board.CardPlaced: KanbanRows.card_placed,
    Board.CardMoved: KanbanRows.card_moved,
    Board.CardRemoved: KanbanRows.card_removed,
    Card.Created: KanbanRows.card_created,
    Card.Updated: KanbanRows.card_updated,
    Card.Assigned: KanbanRows.card_assigned,
    Card.Deleted: KanbanRows.card_deleted,
}
EVENTS = tuple(WRITERS)  # every event that changes kanban rows
