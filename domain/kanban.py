"""Kanban: a Board owns its columns and where each card sits, in what order; a Card owns its
content. Order uses fractional string keys, so a move is one event and never renumbers a
column; WIP limits are checked here, in one place, on create and on move."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.kanban_layout import BoardLayout, WipLimitReached, key_between
from domain.shared import Gone, RuleBroken

__all__ = ["CARD_PRIORITIES", "Board", "Card", "WipLimitReached", "key_between"]

CARD_PRIORITIES = ("low", "medium", "high", "urgent")


class Board(BoardLayout, Aggregate):
    @event("Created")
    def __init__(
        self,
        workspace_id: UUID,
        project_id: UUID,
        name: str,
        description: str | None,
        settings: dict[str, Any],
        actor_id: UUID,
    ) -> None:
        self.workspace_id = workspace_id
        self.project_id = project_id
        self.name = name
        self.description = description
        self.settings = settings
        self.columns: dict[str, dict[str, Any]] = {}  # column id -> name, rank, wip_limit...
        self.cards: dict[str, dict[str, str]] = {}  # card id -> column id, rank
        self.deleted = False

    def _check_live(self) -> None:
        if self.deleted:
            raise Gone("board not found")

    def _scope(self) -> dict[str, UUID]:
        """The fields every board event carries besides its own."""
        return {"workspace_id": self.workspace_id, "project_id": self.project_id}

    # Board -----------------------------------------------------------------------------------

    def update(self, actor_id: UUID, **fields: Any) -> None:
        self._check_live()
        changes = {k: v for k, v in fields.items() if getattr(self, k) != v}
        if changes:
            self._updated(actor_id=actor_id, **self._scope(), changes=changes)

    @event("Updated")
    def _updated(
        self, actor_id: UUID, workspace_id: UUID, project_id: UUID, changes: dict[str, Any]
    ) -> None:
        for key, value in changes.items():
            setattr(self, key, value)

    def delete(self, actor_id: UUID) -> None:
        self._check_live()
        self._deleted(actor_id=actor_id, **self._scope(), card_ids=list(self.cards))

    @event("Deleted")
    def _deleted(
        self, actor_id: UUID, workspace_id: UUID, project_id: UUID, card_ids: list[str]
    ) -> None:
        self.deleted = True

    # Columns ---------------------------------------------------------------------------------

    def add_column(
        self,
        actor_id: UUID,
        column_id: UUID,
        name: str,
        color: str | None,
        wip_limit: int | None,
        is_done_column: bool,
        position: int | None = None,
    ) -> None:
        self._check_live()
        if wip_limit is not None and wip_limit < 1:
            raise RuleBroken("wip_limit must be at least 1")
        order = self.column_order()
        rank = self._rank_among([self.columns[c]["rank"] for c in order], position)
        self._column_added(
            actor_id=actor_id,
            **self._scope(),
            column_id=column_id,
            name=name,
            rank=rank,
            color=color,
            wip_limit=wip_limit,
            is_done_column=is_done_column,
        )

    @event("ColumnAdded")
    def _column_added(
        self,
        actor_id: UUID,
        workspace_id: UUID,
        project_id: UUID,
        column_id: UUID,
        name: str,
        rank: str,
        color: str | None,
        wip_limit: int | None,
        is_done_column: bool,
    ) -> None:
        self.columns[str(column_id)] = {
            "name": name,
            "rank": rank,
            "color": color,
            "wip_limit": wip_limit,
            "is_done_column": is_done_column,
        }

    def update_column(self, actor_id: UUID, column_id: UUID, **fields: Any) -> None:
        self._check_live()
        column = self.column(column_id)
        if fields.get("wip_limit") is not None and fields["wip_limit"] < 1:
            raise RuleBroken("wip_limit must be at least 1")
        changes = {k: v for k, v in fields.items() if column[k] != v}
        if changes:
            self._column_updated(
                actor_id=actor_id, **self._scope(), column_id=column_id, changes=changes
            )

    @event("ColumnUpdated")
    def _column_updated(
        self,
        actor_id: UUID,
        workspace_id: UUID,
        project_id: UUID,
        column_id: UUID,
        changes: dict[str, Any],
    ) -> None:
        self.columns[str(column_id)].update(changes)

    def move_column(self, actor_id: UUID, column_id: UUID, position: int) -> None:
        self._check_live()
        self.column(column_id)
        order = [c for c in self.column_order() if c != str(column_id)]
        if self.column_order().index(str(column_id)) == min(max(position, 0), len(order)):
            return
        rank = self._rank_among([self.columns[c]["rank"] for c in order], position)
        self._column_moved(actor_id=actor_id, **self._scope(), column_id=column_id, rank=rank)

    @event("ColumnMoved")
    def _column_moved(
        self, actor_id: UUID, workspace_id: UUID, project_id: UUID, column_id: UUID, rank: str
    ) -> None:
        self.columns[str(column_id)]["rank"] = rank

    def delete_column(
        self,
        actor_id: UUID,
        column_id: UUID,
        target_column_id: UUID | None,
        override_reason: str | None = None,
    ) -> None:
        """A column with cards needs a target column for them (appended there, in order)."""
        self._check_live()
        self.column(column_id)
        cards = self.cards_in(column_id)
        moved: list[list[str]] = []
        if cards:
            if target_column_id is None:
                raise RuleBroken(
                    f"the column holds {len(cards)} cards; give target_column_id to move them",
                    card_count=len(cards),
                )
            if str(target_column_id) == str(column_id):
                raise RuleBroken("the target column is the column being deleted")
            moved = self._appended(cards, target_column_id, override_reason)
        self._column_deleted(
            actor_id=actor_id,
            **self._scope(),
            column_id=column_id,
            target_column_id=target_column_id,
            moved=moved,
            override_reason=override_reason,
        )

    @event("ColumnDeleted")
    def _column_deleted(
        self,
        actor_id: UUID,
        workspace_id: UUID,
        project_id: UUID,
        column_id: UUID,
        target_column_id: UUID | None,
        moved: list[list[str]],
        override_reason: str | None,
    ) -> None:
        for card_id, rank in moved:
            self.cards[card_id] = {"column_id": str(target_column_id), "rank": rank}
        del self.columns[str(column_id)]

    # Cards -----------------------------------------------------------------------------------

    def place_card(
        self,
        actor_id: UUID,
        card_id: UUID,
        column_id: UUID,
        position: int | None,
        override_reason: str | None = None,
    ) -> None:
        """Put a new card into a column (WIP limit applies)."""
        self._check_live()
        self.column(column_id)
        self._check_wip(str(column_id), None, override_reason)
        rank = self._card_rank(str(column_id), position, None)
        self._card_placed(
            actor_id=actor_id,
            **self._scope(),
            card_id=card_id,
            column_id=column_id,
            rank=rank,
            override_reason=override_reason,
            is_done_column=self.columns[str(column_id)]["is_done_column"],
        )

    @event("CardPlaced")
    def _card_placed(
        self,
        actor_id: UUID,
        workspace_id: UUID,
        project_id: UUID,
        card_id: UUID,
        column_id: UUID,
        rank: str,
        override_reason: str | None,
        is_done_column: bool,
    ) -> None:
        self.cards[str(card_id)] = {"column_id": str(column_id), "rank": rank}

    def append_cards(
        self,
        actor_id: UUID,
        column_id: UUID,
        card_ids: list[UUID],
        override_reason: str | None = None,
    ) -> None:
        """Put new cards at the end of a column, in the given order (an import): as many
        ``place_card`` calls would, without reading the column again for each card."""
        self._check_live()
        column = self.column(column_id)
        key = str(column_id)
        present = self.cards_in(key)
        limit = column["wip_limit"]
        if limit is not None and len(present) + len(card_ids) > limit and not override_reason:
            raise WipLimitReached(
                f"column '{column['name']}' would exceed its WIP limit of {limit}",
                column_id=key,
                wip_limit=limit,
                card_count=len(present),
            )
        rank = self.cards[present[-1]]["rank"] if present else None
        for card_id in card_ids:
            rank = key_between(rank, None)
            self._card_placed(
                actor_id=actor_id,
                **self._scope(),
                card_id=card_id,
                column_id=column_id,
                rank=rank,
                override_reason=override_reason,
                is_done_column=column["is_done_column"],
            )

    def move_card(
        self,
        actor_id: UUID,
        card_id: UUID,
        column_id: UUID,
        position: int | None = None,
        before_card_id: UUID | None = None,
        after_card_id: UUID | None = None,
        override_reason: str | None = None,
    ) -> bool:
        """Move a card to a position in a column; returns False when it is already there."""
        self._check_live()
        key = str(card_id)
        from_column, from_position = self.position_of(key)
        self.column(column_id)
        to_column = str(column_id)
        if to_column != from_column:
            self._check_wip(to_column, key, override_reason)
        rank = self._card_rank(
            to_column,
            position,
            key,
            before=str(before_card_id) if before_card_id else None,
            after=str(after_card_id) if after_card_id else None,
        )
        to_position = self.position_at(to_column, rank, key)
        if to_column == from_column and to_position == from_position:
            return False
        self._card_moved(
            actor_id=actor_id,
            **self._scope(),
            card_id=card_id,
            from_column_id=UUID(from_column),
            column_id=column_id,
            rank=rank,
            from_position=from_position,
            position=to_position,
            override_reason=override_reason,
            is_done_column=self.columns[to_column]["is_done_column"],
        )
        return True

    @event("CardMoved")
    def _card_moved(
        self,
        actor_id: UUID,
        workspace_id: UUID,
        project_id: UUID,
        card_id: UUID,
        from_column_id: UUID,
        column_id: UUID,
        rank: str,
        from_position: int,
        position: int,
        override_reason: str | None,
        is_done_column: bool,
    ) -> None:
        self.cards[str(card_id)] = {"column_id": str(column_id), "rank": rank}

    def remove_card(self, actor_id: UUID, card_id: UUID) -> None:
        self._check_live()
        column_id, _ = self.position_of(card_id)
        self._card_removed(
            actor_id=actor_id, **self._scope(), card_id=card_id, column_id=UUID(column_id)
        )

    @event("CardRemoved")
    def _card_removed(
        self, actor_id: UUID, workspace_id: UUID, project_id: UUID, card_id: UUID, column_id: UUID
    ) -> None:
        del self.cards[str(card_id)]


class Card(Aggregate):
    """A card's content. Where it sits is the board's business."""

    @event("Created")
    def __init__(
        self,
        workspace_id: UUID,
        project_id: UUID,
        board_id: UUID,
        title: str,
        description: str | None,
        priority: str,
        due_date: datetime | None,
        estimated_hours: Decimal | None,
        assignee_id: UUID | None,
        labels: list[Any],
        actor_id: UUID,
    ) -> None:
        self.workspace_id = workspace_id
        self.project_id = project_id
        self.board_id = board_id
        self.title = title
        self.description = description
        self.priority = priority
        self.due_date = due_date
        self.estimated_hours = estimated_hours
        self.assignee_id = assignee_id
        self.labels = labels
        self.created_by = actor_id
        self.is_archived = False  # set by edit(is_archived=...): hidden from work, kept
        self.deleted = False

    def _check_live(self) -> None:
        if self.deleted:
            raise Gone("card not found")

    def _scope(self) -> dict[str, UUID]:
        """The fields every card event carries besides its own."""
        return {
            "workspace_id": self.workspace_id,
            "project_id": self.project_id,
            "board_id": self.board_id,
        }

    def edit(self, actor_id: UUID, **fields: Any) -> None:
        """Change content fields; an assignee change is its own event (kanban:card:assigned)."""
        self._check_live()
        if "priority" in fields and fields["priority"] not in CARD_PRIORITIES:
            raise RuleBroken(f"unknown priority {fields['priority']!r}")
        if "is_archived" in fields and not isinstance(fields["is_archived"], bool):
            raise RuleBroken("is_archived must be true or false")
        assignee = fields.pop("assignee_id", self.assignee_id)
        changes = {k: v for k, v in fields.items() if getattr(self, k) != v}
        if changes:
            self._updated(actor_id=actor_id, **self._scope(), changes=changes)
        if assignee != self.assignee_id:
            self._assigned(
                actor_id=actor_id,
                **self._scope(),
                assignee_id=assignee,
                previous_assignee_id=self.assignee_id,
            )

    @event("Updated")
    def _updated(
        self,
        actor_id: UUID,
        workspace_id: UUID,
        project_id: UUID,
        board_id: UUID,
        changes: dict[str, Any],
    ) -> None:
        for key, value in changes.items():
            setattr(self, key, value)

    @event("Assigned")
    def _assigned(
        self,
        actor_id: UUID,
        workspace_id: UUID,
        project_id: UUID,
        board_id: UUID,
        assignee_id: UUID | None,
        previous_assignee_id: UUID | None,
    ) -> None:
        self.assignee_id = assignee_id

    def delete(self, actor_id: UUID) -> None:
        self._check_live()
        self._deleted(
            actor_id=actor_id,
            **self._scope(),
        )

    @event("Deleted")
    def _deleted(
        self, actor_id: UUID, workspace_id: UUID, project_id: UUID, board_id: UUID
    ) -> None:
        self.deleted = True
