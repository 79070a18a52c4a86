"""Kanban use cases: boards, columns, cards and moves.

Commands that touch a board's order (create, move, delete a card; column changes) are
serialized per board in this process and retried on version clashes across processes.
"""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Any
from uuid import UUID

from application.access import live_project, require, role_in
from application.adapters.store import EventStore, Saved, check_version
from application.authorization import Action
from application.errors import Invalid, NotFound
from domain.kanban import Board, Card

REMEMBERED = 100_000  # card -> board and board -> workspace pairs kept per process


class KanbanService:
    def __init__(self, store: EventStore) -> None:
        self.store = store
        # Facts that never change, remembered per process: a card's board, a board's
        # workspace (a missing one raises NotFound, which is not remembered).
        self._board_of = lru_cache(maxsize=REMEMBERED)(
            lambda card_id: store.load(Card, card_id, "card", copy=False).board_id
        )
        self._workspace_of = lru_cache(maxsize=REMEMBERED)(
            lambda board_id: store.load(Board, board_id, "board", copy=False).workspace_id
        )

    def board(self, board_id: UUID, actor_id: UUID, action: Action) -> Board:
        board = self.store.load(Board, board_id, "board")
        require(self.store, board.workspace_id, actor_id, action, "board")
        if board.deleted:
            raise NotFound("board not found")
        return board

    def _authorize(self, board_id: UUID, actor_id: UUID, action: Action) -> None:
        """The access check, in the board's turn: the workspace it reads was brought up to
        date in the turn's round trip (``_on_turn``), so it costs no read of its own."""
        require(self.store, self._workspace_of(board_id), actor_id, action, "board")

    def _on_turn(self, board_id: UUID, command: Any) -> Saved:
        """Run ``command`` in the board's turn, its workspace read in the same round trip."""
        return self.store.run(
            command, serialize_on=board_id, reading=(self._workspace_of(board_id),)
        )

    def _live_board(self, board_id: UUID) -> Board:
        """A working copy of the board (access already checked by ``_authorize``)."""
        board = self.store.load(Board, board_id, "board")
        if board.deleted:
            raise NotFound("board not found")
        return board

    def _on_board(
        self, board_id: UUID, actor_id: UUID, change: Any, expected: int | None = None
    ) -> Saved:
        def command() -> tuple[Any, list[Board]]:
            self._authorize(board_id, actor_id, Action.KANBAN_WRITE)
            board = self._live_board(board_id)
            check_version(board, expected)
            return change(board), [board]

        return self._on_turn(board_id, command)

    def _check_assignee(self, workspace_id: UUID, assignee_id: UUID | None) -> None:
        if assignee_id is not None and role_in(self.store, workspace_id, assignee_id) is None:
            raise Invalid("the assignee must be a member of the workspace")

    # Boards ----------------------------------------------------------------------------------

    def create_board(
        self,
        *,
        actor_id: UUID,
        project_id: UUID,
        name: str,
        description: str | None,
        settings: dict[str, Any],
        columns: list[dict[str, Any]],
    ) -> Saved:
        def command() -> tuple[UUID, list[Board]]:
            project = live_project(self.store, project_id, actor_id, Action.KANBAN_WRITE)
            board = Board(
                workspace_id=project.workspace_id,
                project_id=project.id,
                name=name,
                description=description,
                settings=settings,
                actor_id=actor_id,
            )
            for column in columns:
                board.add_column(actor_id=actor_id, column_id=uuid.uuid4(), **column)
            return board.id, [board]

        return self.store.run(command)

    def update_board(
        self, *, board_id: UUID, actor_id: UUID, expected: int | None, **fields: Any
    ) -> Saved:
        return self._on_board(
            board_id, actor_id, lambda b: b.update(actor_id=actor_id, **fields), expected
        )

    def delete_board(self, *, board_id: UUID, actor_id: UUID, expected: int | None) -> Saved:
        return self._on_board(board_id, actor_id, lambda b: b.delete(actor_id=actor_id), expected)

    # Columns ---------------------------------------------------------------------------------

    def add_column(
        self,
        *,
        board_id: UUID,
        actor_id: UUID,
        name: str,
        color: str | None,
        wip_limit: int | None,
        is_done_column: bool,
        position: int | None,
    ) -> Saved:
        column_id = uuid.uuid4()

        def change(board: Board) -> UUID:
            board.add_column(
                actor_id=actor_id,
                column_id=column_id,
                name=name,
                color=color,
                wip_limit=wip_limit,
                is_done_column=is_done_column,
                position=position,
            )
            return column_id

        return self._on_board(board_id, actor_id, change)

    def update_column(
        self, *, board_id: UUID, column_id: UUID, actor_id: UUID, **fields: Any
    ) -> Saved:
        return self._on_board(
            board_id,
            actor_id,
            lambda b: b.update_column(actor_id=actor_id, column_id=column_id, **fields),
        )

    def move_column(
        self, *, board_id: UUID, column_id: UUID, actor_id: UUID, position: int
    ) -> Saved:
        return self._on_board(
            board_id,
            actor_id,
            lambda b: b.move_column(actor_id=actor_id, column_id=column_id, position=position),
        )

    def delete_column(
        self,
        *,
        board_id: UUID,
        column_id: UUID,
        actor_id: UUID,
        target_column_id: UUID | None,
        override_reason: str | None,
    ) -> Saved:
        return self._on_board(
            board_id,
            actor_id,
            lambda b: b.delete_column(
                actor_id=actor_id,
                column_id=column_id,
                target_column_id=target_column_id,
                override_reason=override_reason,
            ),
        )

    # Cards -----------------------------------------------------------------------------------

    def create_card(
        self,
        *,
        board_id: UUID,
        column_id: UUID,
        actor_id: UUID,
        fields: dict[str, Any],
        position: int | None,
        override_reason: str | None,
    ) -> Saved:
        def command() -> tuple[UUID, list[Any]]:
            board = self.board(board_id, actor_id, Action.KANBAN_WRITE)
            self._check_assignee(board.workspace_id, fields.get("assignee_id"))
            card = Card(
                workspace_id=board.workspace_id,
                project_id=board.project_id,
                board_id=board.id,
                actor_id=actor_id,
                **fields,
            )
            board.place_card(
                actor_id=actor_id,
                card_id=card.id,
                column_id=column_id,
                position=position,
                override_reason=override_reason,
            )
            return card.id, [card, board]

        return self._on_turn(board_id, command)

    def card(
        self, card_id: UUID, actor_id: UUID, action: Action, *, copy: bool = True
    ) -> tuple[Card, Board]:
        """The card and its board (the caller may act on them); ``copy=False``: the card is
        only read (the board is always a working copy)."""
        card = self.store.load(Card, card_id, "card", copy=copy)
        board = self.board(card.board_id, actor_id, action)
        if card.deleted:
            raise NotFound("card not found")
        return card, board

    def update_card(
        self, *, card_id: UUID, actor_id: UUID, expected: int | None, **fields: Any
    ) -> Saved:
        def command() -> tuple[None, list[Card]]:
            card, board = self.card(card_id, actor_id, Action.KANBAN_WRITE)
            check_version(card, expected)
            if "assignee_id" in fields:
                self._check_assignee(board.workspace_id, fields["assignee_id"])
            card.edit(actor_id=actor_id, **fields)
            return None, [card]

        return self.store.run(command)

    def delete_card(self, *, card_id: UUID, actor_id: UUID, expected: int | None) -> Saved:
        board_id = self._board_of(card_id)

        def command() -> tuple[None, list[Any]]:
            card, board = self.card(card_id, actor_id, Action.KANBAN_WRITE)
            check_version(card, expected)
            card.delete(actor_id=actor_id)
            board.remove_card(actor_id=actor_id, card_id=card_id)
            return None, [card, board]

        return self._on_turn(board_id, command)

    def move_card(
        self,
        *,
        card_id: UUID,
        actor_id: UUID,
        column_id: UUID,
        position: int | None,
        before_card_id: UUID | None,
        after_card_id: UUID | None,
        override_reason: str | None,
    ) -> Saved:
        """One event on the board; a no-op move records nothing."""
        board_id = self._board_of(card_id)

        def command() -> tuple[bool, list[Board]]:
            self._authorize(board_id, actor_id, Action.KANBAN_WRITE)
            # A deleted card is no longer on its board: move_card answers "card not found".
            board = self._live_board(board_id)
            moved = board.move_card(
                actor_id=actor_id,
                card_id=card_id,
                column_id=column_id,
                position=position,
                before_card_id=before_card_id,
                after_card_id=after_card_id,
                override_reason=override_reason,
            )
            return moved, [board]

        return self._on_turn(board_id, command)
