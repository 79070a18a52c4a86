"""Each card's history (``card_activities``) from the card's and its board's events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import Cursor

from domain.kanban import Board, Card
from projections.base import Projection, RowSink, copy_rows, handles, json_dumps, row_id

RECORD = (
    "INSERT INTO card_activities (id, card_id, workspace_id, user_id, action, details,"
    " created_at, position) VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s, %s)"
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
                json_dumps(details).decode(),  # JSON text: no adapter per row in a rebuild
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
