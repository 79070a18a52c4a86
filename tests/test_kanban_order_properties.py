"""Property: any sequence of creates, moves and deletes keeps each column's order a
permutation with dense positions, in the aggregate and in what clients read, and never exceeds
a WIP limit without an override.

Card positions are computed where they are read (migrations/0020): a card read counts the
cards before it, a board or column read numbers them. Each of them must show, after any
sequence of moves, exactly the positions the projection stored before 0020, when it
renumbered the columns a unit touched with ``RENUMBERED_BEFORE_0020``."""

from __future__ import annotations

import itertools
import uuid

import orjson
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.kanban import Board, WipLimitReached
from projections.kanban import KanbanProjection
from projections.kanban_queries import BOARD_BODY, CARD_POSITION, NUMBERED_CARDS

LIMITS = [None, 2, 3]

create = st.tuples(
    st.just("create"), st.integers(0, 2), st.none() | st.integers(0, 6), st.booleans()
)
move = st.tuples(
    st.just("move"),
    st.integers(0, 30),
    st.integers(0, 2),
    st.none() | st.integers(0, 6),
    st.booleans(),
)
delete = st.tuples(st.just("delete"), st.integers(0, 30))
operations = st.lists(st.one_of(create, create, move, move, move, delete), min_size=1, max_size=40)


@pytest.fixture(scope="module")
def conn(database_url):
    with psycopg.connect(database_url) as connection:
        yield connection


# The stored positions before migrations/0020: the projection set every card's position to
# this, for the columns a unit of events touched (it renumbered them after each unit).
RENUMBERED_BEFORE_0020 = (
    "SELECT column_id::text, id::text, (row_number() OVER"
    " (PARTITION BY column_id ORDER BY rank, id) - 1)::int FROM kanban_cards WHERE board_id = %s"
)


def layout(rows) -> dict[str, list[tuple[str, int]]]:
    """column id -> [(card id, position)] in position order."""
    result: dict[str, list[tuple[str, int]]] = {}
    for column_id, card_id, position in sorted(rows, key=lambda r: (r[0], r[2])):
        result.setdefault(column_id, []).append((card_id, position))
    return result


def read_layouts(cur, board_id) -> dict[str, dict[str, list[tuple[str, int]]]]:
    """The board's layout as each reader shows it, and as it was stored before 0020."""
    cur.execute(RENUMBERED_BEFORE_0020, (board_id,))
    before = layout(cur.fetchall())
    cur.execute(
        f"SELECT k.column_id::text, k.id::text, {CARD_POSITION} FROM kanban_cards k"
        " WHERE k.board_id = %s",
        (board_id,),
    )
    cards = layout(cur.fetchall())  # GET /cards/{id}, a move's answer
    cur.execute(BOARD_BODY, (board_id,))
    document = orjson.loads(cur.fetchone()[0])  # GET /boards/{id}
    board = layout(
        (c["column_id"], c["id"], c["position"])
        for col in document["columns"]
        for c in col["cards"]
    )
    pages = []  # GET /columns/{id}/cards
    for column in before:
        cur.execute(
            f"SELECT column_id::text, id::text, position FROM {NUMBERED_CARDS.format(column='%s')} k",
            (column,),
        )
        pages += cur.fetchall()
    return {"before 0020": before, "card": cards, "board": board, "column": layout(pages)}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=operations)
def test_order_stays_a_dense_permutation_and_wip_holds(conn, ops):
    actor = uuid.uuid4()
    board = Board(
        workspace_id=uuid.uuid4(),
        project_id=uuid.uuid4(),
        name="B",
        description=None,
        settings={},
        actor_id=actor,
    )
    columns = []
    for i, limit in enumerate(LIMITS):
        column_id = uuid.uuid4()
        board.add_column(
            actor_id=actor,
            column_id=column_id,
            name=f"C{i}",
            color=None,
            wip_limit=limit,
            is_done_column=False,
        )
        columns.append(str(column_id))
    projection = KanbanProjection()
    positions = itertools.count(1)
    cards: list[str] = []
    with conn.transaction(force_rollback=True), conn.cursor() as cur:

        def flush() -> None:
            for event in board.collect_events():
                projection.apply(cur, event, next(positions))

        flush()
        for op in ops:
            kind, *args = op
            override = None
            target = None
            try:
                if kind == "create":
                    column, position, forced = args
                    override = "forced" if forced else None
                    target = columns[column]
                    card_id = uuid.uuid4()
                    board.place_card(
                        actor_id=actor,
                        card_id=card_id,
                        column_id=uuid.UUID(target),
                        position=position,
                        override_reason=override,
                    )
                    cards.append(str(card_id))
                elif kind == "move" and cards:
                    index, column, position, forced = args
                    override = "forced" if forced else None
                    target = columns[column]
                    board.move_card(
                        actor_id=actor,
                        card_id=uuid.UUID(cards[index % len(cards)]),
                        column_id=uuid.UUID(target),
                        position=position,
                        override_reason=override,
                    )
                elif kind == "delete" and cards:
                    card_id = cards.pop(args[0] % len(cards))
                    board.remove_card(actor_id=actor, card_id=uuid.UUID(card_id))
            except WipLimitReached:
                assert override is None  # only a move without an override is refused
                continue
            flush()
            # Every card sits in exactly one column, each column's order is a permutation.
            placed = [c for column in columns for c in board.cards_in(column)]
            assert sorted(placed) == sorted(cards)
            for column in columns:
                ranks = [board.cards[c]["rank"] for c in board.cards_in(column)]
                assert ranks == sorted(set(ranks))  # strictly increasing: no ties
            if target is not None and override is None:
                limit = LIMITS[columns.index(target)]
                assert limit is None or len(board.cards_in(target)) <= limit
            # Every read shows the aggregate's order with dense positions: the positions
            # stored before 0020.
            layouts = read_layouts(cur, board.id)
            for reader, table in layouts.items():
                assert table == layouts["before 0020"], reader
            for column in columns:
                rows = layouts["card"].get(column, [])
                assert [card for card, _ in rows] == board.cards_in(column)
                assert [position for _, position in rows] == list(range(len(rows)))
