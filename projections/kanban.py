"""Kanban read model: boards, columns and cards.

The write side orders columns and cards by fractional keys (``rank``); the spec's dense
``position`` (0, 1, 2...) is stored for columns and computed for cards where they are read
(``projections/kanban_queries.py``). Its rows are written by ``KanbanRows``
(projections/kanban_rows.py), the one implementation of each event's row changes: live, a
unit of one event; in a rebuild, a unit of one batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import Cursor

from projections.base import Projection, handles
from projections.files import CardAttachments
from projections.kanban_rows import EVENTS, KanbanRows
from projections.time_tracking import TrackedTime

KANBAN_EVENTS = frozenset(EVENTS)


class KanbanProjection(CardAttachments, TrackedTime, Projection):
    name = "kanban"
    tables = ("kanban_boards", "kanban_columns", "kanban_cards", "kanban_card_time")
    tracked_type, tracked_table, tracked_rows = "card", "kanban_card_time", "kanban_cards"
    deferred_indexes = (  # cards are found by id and by column
        "idx_kanban_cards_column_rank",
        "idx_kanban_cards_board",
        "idx_kanban_cards_assignee",
        "idx_kanban_cards_workspace",
    )

    @handles(*EVENTS)
    def write(self, cur: Cursor, e: Any, position: int) -> None:
        """Live: the event's rows, written at once."""
        rows = KanbanRows(cur)
        rows.apply(e)
        rows.flush()

    def apply_batch(self, cur: Cursor, events: Sequence[tuple[Any, int]]) -> None:
        """A rebuild: the batch's rows, as ``write`` event by event would leave them."""
        rows = KanbanRows(cur)
        with cur.connection.pipeline():
            for event, position in events:
                if type(event) in KANBAN_EVENTS:
                    rows.apply(event)
                else:  # time entries and attachments: by card id
                    self.apply(cur, event, position)
            rows.flush()
