"""Board and Card rules, without I/O: order by fractional keys, WIP limits, column deletes,
what each event carries, gone aggregates."""

from __future__ import annotations

import copy
import uuid

import pytest

from domain.kanban import Board, Card, WipLimitReached
from domain.shared import Gone, Missing, RuleBroken

ACTOR = uuid.uuid4()


def new_board(*limits: int | None, done: int | None = None) -> tuple[Board, list[uuid.UUID]]:
    board = Board(uuid.uuid4(), uuid.uuid4(), "B", None, {}, ACTOR)
    columns = [uuid.uuid4() for _ in limits]
    for i, (column, limit) in enumerate(zip(columns, limits, strict=True)):
        board.add_column(ACTOR, column, f"c{i}", None, limit, i == done)
    return board, columns


def place(board: Board, column: uuid.UUID, n: int, position: int | None = None) -> list[str]:
    ids = [uuid.uuid4() for _ in range(n)]
    for card_id in ids:
        board.place_card(ACTOR, card_id, column, position)
    return [str(c) for c in ids]


def new_card(board: Board) -> Card:
    return Card(
        board.workspace_id,
        board.project_id,
        board.id,
        "T",
        None,
        "low",
        None,
        None,
        None,
        [],
        ACTOR,
    )


def test_cards_take_the_asked_position_and_positions_stay_dense():
    board, (todo,) = new_board(None)
    a, b, c = place(board, todo, 3)  # appended: a, b, c
    (d,) = place(board, todo, 1, 0)  # first
    (e,) = place(board, todo, 1, 2)  # third
    assert board.cards_in(todo) == [d, a, e, b, c]
    assert [board.position_of(x) for x in (d, a, e, b, c)] == [(str(todo), i) for i in range(5)]
    (f,) = place(board, todo, 1, 99)  # past the end: last
    assert board.cards_in(todo)[-1] == f


def test_a_move_carries_both_positions_and_a_no_op_move_records_nothing():
    board, (todo, doing) = new_board(None, None, done=1)
    a, b, c = place(board, todo, 3)
    board.collect_events()
    assert board.move_card(ACTOR, uuid.UUID(a), todo, 0) is False  # already there
    assert board.collect_events() == []
    assert board.move_card(ACTOR, uuid.UUID(b), doing) is True
    (moved,) = board.collect_events()
    assert isinstance(moved, Board.CardMoved)
    assert (moved.from_column_id, moved.column_id) == (todo, doing)
    assert (moved.from_position, moved.position) == (1, 0)
    assert moved.is_done_column is True
    assert (moved.workspace_id, moved.project_id) == (board.workspace_id, board.project_id)
    assert board.cards_in(todo) == [a, c]
    board.move_card(ACTOR, uuid.UUID(a), todo, 5)  # within a column
    assert board.cards_in(todo) == [c, a]


def test_a_move_next_to_a_neighbour_card():
    board, (todo, doing) = new_board(None, None)
    a, b, c = place(board, todo, 3)
    board.move_card(ACTOR, uuid.UUID(c), todo, before_card_id=uuid.UUID(a))
    assert board.cards_in(todo) == [c, a, b]
    board.move_card(ACTOR, uuid.UUID(c), todo, after_card_id=uuid.UUID(a))
    assert board.cards_in(todo) == [a, c, b]
    (x,) = place(board, doing, 1)
    with pytest.raises(RuleBroken, match="neighbour"):
        board.move_card(ACTOR, uuid.UUID(a), todo, before_card_id=uuid.UUID(x))


def test_wip_limits_refuse_a_card_unless_overridden_with_a_reason():
    board, (todo, doing) = new_board(None, 1)
    a, b = place(board, todo, 2)
    board.move_card(ACTOR, uuid.UUID(a), doing)
    with pytest.raises(WipLimitReached) as refused:
        board.move_card(ACTOR, uuid.UUID(b), doing)
    assert refused.value.code == "wip-limit"
    with pytest.raises(WipLimitReached):
        board.place_card(ACTOR, uuid.uuid4(), doing, None)
    board.move_card(ACTOR, uuid.UUID(a), doing, 0)  # within its column: no new card counted
    board.move_card(ACTOR, uuid.UUID(b), doing, override_reason="urgent")
    assert board.collect_events()[-1].override_reason == "urgent"
    assert len(board.cards_in(doing)) == 2
    with pytest.raises(RuleBroken, match="at least 1"):
        board.add_column(ACTOR, uuid.uuid4(), "x", None, 0, False)
    with pytest.raises(RuleBroken, match="at least 1"):
        board.update_column(ACTOR, todo, wip_limit=0)


def test_deleting_a_column_appends_its_cards_to_the_target_in_order():
    board, (todo, doing, small) = new_board(None, None, 1)
    a, b = place(board, todo, 2)
    (c,) = place(board, doing, 1)
    with pytest.raises(RuleBroken, match="target_column_id"):
        board.delete_column(ACTOR, todo, None)
    with pytest.raises(RuleBroken, match="being deleted"):
        board.delete_column(ACTOR, todo, todo)
    with pytest.raises(WipLimitReached):
        board.delete_column(ACTOR, todo, small)
    board.collect_events()
    board.delete_column(ACTOR, todo, doing)
    (deleted,) = board.collect_events()
    assert [card for card, _rank in deleted.moved] == [a, b]
    assert board.cards_in(doing) == [c, a, b]
    assert str(todo) not in board.columns
    with pytest.raises(Missing):
        board.column(todo)
    board.delete_column(ACTOR, small, None)  # empty: no target needed


def test_columns_keep_their_order_and_a_no_op_move_records_nothing():
    board, columns = new_board(None, None, None)
    assert board.column_order() == [str(c) for c in columns]
    board.collect_events()
    board.move_column(ACTOR, columns[1], 1)
    assert board.collect_events() == []
    board.move_column(ACTOR, columns[2], 0)
    assert board.column_order() == [str(columns[i]) for i in (2, 0, 1)]
    board.update_column(ACTOR, columns[0], name="c0")  # unchanged: nothing recorded
    board.update(ACTOR, name="B")
    assert isinstance(board.collect_events()[-1], Board.ColumnMoved)


def test_removed_cards_and_deleted_boards():
    board, (todo,) = new_board(None)
    a, b = place(board, todo, 2)
    board.remove_card(ACTOR, uuid.UUID(a))
    assert board.cards_in(todo) == [b]
    with pytest.raises(Missing):
        board.position_of(a)
    board.delete(ACTOR)
    assert board.collect_events()[-1].card_ids == [b]
    with pytest.raises(Gone):
        board.place_card(ACTOR, uuid.uuid4(), todo, None)
    with pytest.raises(Gone):
        board.update(ACTOR, name="again")


def test_a_working_copy_leaves_the_cached_board_as_it_was():
    board, (todo, doing) = new_board(None, None)
    (a,) = place(board, todo, 1)
    board.collect_events()
    clone = copy.deepcopy(board)
    clone.move_card(ACTOR, uuid.UUID(a), doing)
    clone.update_column(ACTOR, todo, name="renamed")
    assert board.position_of(a) == (str(todo), 0)
    assert board.column(todo)["name"] == "c0"
    assert board.collect_events() == []
    assert len(clone.collect_events()) == 2


def test_card_edits_assignments_and_deletes():
    board, _ = new_board(None)
    card = new_card(board)
    card.collect_events()
    user = uuid.uuid4()
    card.edit(ACTOR, title="T", priority="low")  # unchanged: nothing recorded
    assert card.collect_events() == []
    card.edit(ACTOR, title="New", assignee_id=user)
    updated, assigned = card.collect_events()
    assert updated.changes == {"title": "New"}
    assert (assigned.assignee_id, assigned.previous_assignee_id) == (user, None)
    assert (updated.workspace_id, updated.project_id, updated.board_id) == (
        board.workspace_id,
        board.project_id,
        board.id,
    )
    with pytest.raises(RuleBroken, match="priority"):
        card.edit(ACTOR, priority="someday")
    card.delete(ACTOR)
    with pytest.raises(Gone):
        card.edit(ACTOR, title="again")


def test_event_topics_stay_those_of_the_stored_log():
    """Stored events name their class by topic: the aggregates stay in domain.kanban (their
    helpers live in domain.kanban_layout). Moving a class needs its old topic registered
    (eventsourcing.utils.register_topic) and a test that old events still load and project."""
    from eventsourcing.utils import get_topic, resolve_topic

    board_events = [
        "Created",
        "Updated",
        "Deleted",
        "ColumnAdded",
        "ColumnUpdated",
        "ColumnMoved",
        "ColumnDeleted",
        "CardPlaced",
        "CardMoved",
        "CardRemoved",
    ]
    for aggregate, names in (
        (Board, board_events),
        (Card, ["Created", "Updated", "Assigned", "Deleted"]),
    ):
        for name in names:
            topic = f"domain.kanban:{aggregate.__name__}.{name}"
            assert get_topic(getattr(aggregate, name)) == topic
            assert resolve_topic(topic) is getattr(aggregate, name)
