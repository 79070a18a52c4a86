"""The kanban projection, a batch at a time (a rebuild): the same rows as event by event.

Most kanban events are card moves and edits. One by one, a move costs four statements: update
the card, renumber the column it left and the one it entered, set the board's version. Here,
within a batch:

- card moves, edits and assignments are folded per card (later values win; ``completed_at``
  keeps its CASE/coalesce meaning) and written with one ``UPDATE ... FROM unnest`` per set of
  columns;
- a column's renumbering is done once, at the end, for every column some event renumbered.
  Positions are derived from (rank, id) and no handler reads them, so renumbering once after
  the last change gives the rows renumbering after each change gives, as long as nothing
  changes a column without renumbering it in between: a card deleted on its own (not
  followed by its removal from the board) first renumbers everything pending;
- a board's version and ``updated_at`` are set once, to its last event's (an event whose
  handler sets them itself makes what was pending for its board moot).

Other events run their handler as usual, after writing the pending card rows where their
statements depend on them (a column deleted or turning done).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from psycopg import Cursor
from psycopg.types.json import Jsonb

from domain.kanban import Board, Card
from domain.time_tracking import TimeEntry
from projections.base import json_dumps

if TYPE_CHECKING:
    from projections.kanban import KanbanProjection

CARD_FIELDS = {"title", "description", "priority", "due_date", "estimated_hours", "labels"}

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
    "assignee_id": ("uuid", "assignee_id = u.assignee_id"),
    "version": ("int4", "version = u.version"),
    "updated_at": ("timestamptz", "updated_at = u.updated_at"),
}
DONE = (
    "completed_at = CASE WHEN u.done_set THEN u.done_at ELSE coalesce(c.completed_at, u.done_at)"
    " END"
)
RENUMBER = (
    "UPDATE kanban_cards c SET position = r.pos FROM (SELECT id, (row_number() OVER"
    " (PARTITION BY column_id ORDER BY rank, id) - 1)::int AS pos FROM kanban_cards"
    " WHERE column_id = ANY(%s)) r WHERE c.id = r.id AND c.position IS DISTINCT FROM r.pos"
)
BOARDS = (
    "UPDATE kanban_boards b SET version = u.version, updated_at = u.updated_at"
    " FROM unnest(%s::uuid[], %s::int4[], %s::timestamptz[]) AS u(id, version, updated_at)"
    " WHERE b.id = u.id"
)
BOARD_ONLY = (
    Board.Created,
    Board.Updated,
    Board.ColumnAdded,
    Board.ColumnUpdated,
    Board.ColumnMoved,
)
# Events that touch nothing but card rows (by id) and time side tables: no flush needed.
TIME_EVENTS = (TimeEntry.Recorded, TimeEntry.Stopped, TimeEntry.Updated, TimeEntry.Deleted)


class KanbanBatch:
    def __init__(self, projection: KanbanProjection) -> None:
        self.projection = projection
        self.cards: dict[Any, dict[str, Any]] = {}  # card id -> column -> value
        self.columns: set[Any] = set()  # to renumber
        self.boards: dict[Any, tuple[int, Any]] = {}  # board id -> (version, updated_at)

    def run(self, cur: Cursor, events: Sequence[tuple[Any, int]]) -> None:
        with cur.connection.pipeline():
            for i, (event, position) in enumerate(events):
                following = events[i + 1][0] if i + 1 < len(events) else None
                self.apply(cur, event, position, following)
            self.flush(cur)

    # Events -------------------------------------------------------------------------------

    def apply(self, cur: Cursor, e: Any, position: int, following: Any = None) -> None:
        kind = type(e)
        if kind is Board.CardMoved:
            card = self._card(e.card_id, e.timestamp)
            card["column_id"], card["rank"] = e.column_id, e.rank
            done = card.get("done")
            if not e.is_done_column:
                card["done"] = (True, None)
            elif done is None:
                card["done"] = (False, e.timestamp)
            elif done[0] and done[1] is None:
                card["done"] = (True, e.timestamp)
            self.columns.add(e.column_id)
            self.columns.add(e.from_column_id)
            self._board(e)
        elif kind is Card.Updated:
            card = self._card(e.originator_id, e.timestamp)
            for key, value in e.changes.items():
                if key in CARD_FIELDS:
                    card[key] = Jsonb(value, dumps=json_dumps) if key == "labels" else value
            card["version"] = e.originator_version
        elif kind is Card.Assigned:
            card = self._card(e.originator_id, e.timestamp)
            card["assignee_id"], card["version"] = e.assignee_id, e.originator_version
        elif kind is Board.CardPlaced:
            self._flush_card(cur, e.card_id)
            self.projection.place_card(cur, e)
            self.columns.add(e.column_id)
            self._board(e)
        elif kind is Card.Created:
            self._flush_card(cur, e.originator_id)
            self.projection.card_created(cur, e, position)
        elif kind is Board.CardRemoved:
            self.cards.pop(e.card_id, None)  # its row goes: what was pending for it too
            cur.execute("DELETE FROM kanban_cards WHERE id = %s", (e.card_id,))
            self.columns.add(e.column_id)
            self._board(e)
        elif kind in TIME_EVENTS:
            self.projection.apply(cur, e, position)  # side table and actual_hours only
        elif kind is Card.Deleted:
            self.cards.pop(e.originator_id, None)
            removed = type(following) is Board.CardRemoved and following.card_id == e.originator_id
            if not removed:  # its column is not renumbered next: renumber what is due first
                self.flush(cur)
            self.projection.apply(cur, e, position)
        elif kind is Board.ColumnDeleted or (
            kind is Board.ColumnUpdated and "is_done_column" in e.changes
        ):  # these move cards or set completed_at by column: pending cards first
            self._write_cards(cur, self.cards)
            self.cards = {}
            self.boards.pop(e.originator_id, None)  # the handler sets the board's version
            self.projection.apply(cur, e, position)
        elif kind in BOARD_ONLY:
            self.boards.pop(e.originator_id, None)  # columns and the board row only
            self.projection.apply(cur, e, position)
        else:
            self.flush(cur)
            self.projection.apply(cur, e, position)

    def _card(self, card_id: Any, timestamp: Any) -> dict[str, Any]:
        card = self.cards.get(card_id)
        if card is None:
            card = self.cards[card_id] = {}
        card["updated_at"] = timestamp
        return card

    def _board(self, e: Any) -> None:
        self.boards[e.originator_id] = (e.originator_version, e.timestamp)

    # Writing ------------------------------------------------------------------------------

    def _flush_card(self, cur: Cursor, card_id: Any) -> None:
        if card_id in self.cards:
            self._write_cards(cur, {card_id: self.cards.pop(card_id)})

    def flush(self, cur: Cursor) -> None:
        if self.cards:
            self._write_cards(cur, self.cards)
            self.cards = {}
        if self.columns:
            cur.execute(RENUMBER, ([c for c in self.columns if c is not None],), prepare=True)
            self.columns = set()
        if self.boards:
            ids = list(self.boards)
            versions = [self.boards[b][0] for b in ids]
            stamps = [self.boards[b][1] for b in ids]
            cur.execute(BOARDS, (ids, versions, stamps), prepare=True)
            self.boards = {}

    def _write_cards(self, cur: Cursor, cards: dict[Any, dict[str, Any]]) -> None:
        groups: dict[tuple[str, ...], list[Any]] = {}
        for card_id, values in cards.items():
            groups.setdefault(tuple(sorted(values)), []).append(card_id)
        for keys, ids in groups.items():
            names, types, sets, params = ["id"], ["uuid"], [], [ids]
            for key in keys:
                if key == "done":
                    names += ["done_set", "done_at"]
                    types += ["bool", "timestamptz"]
                    sets.append(DONE)
                    params.append([cards[i]["done"][0] for i in ids])
                    params.append([cards[i]["done"][1] for i in ids])
                    continue
                array_type, assignment = CARD_INPUTS[key]
                names.append(key)
                types.append(array_type)
                sets.append(assignment)
                params.append([cards[i][key] for i in ids])
            arrays = ", ".join(f"%s::{t}[]" for t in types)
            cur.execute(
                f"UPDATE kanban_cards c SET {', '.join(sets)} FROM unnest({arrays})"
                f" AS u({', '.join(names)}) WHERE c.id = u.id",
                params,
                prepare=True,
            )
