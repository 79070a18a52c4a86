"""Hot aggregates are snapshotted every 100 events and load back identical from a snapshot."""

from __future__ import annotations

import uuid

import psycopg

from domain.kanban import Board
from interfaces.bootstrap import open_event_store


def test_a_busy_board_loads_from_its_snapshot_with_the_same_state(fresh_database_url):
    store = open_event_store(fresh_database_url, pool_size=1)
    actor = uuid.uuid4()
    board = Board(
        workspace_id=uuid.uuid4(),
        project_id=uuid.uuid4(),
        name="B",
        description=None,
        settings={},
        actor_id=actor,
    )
    columns = [uuid.uuid4() for _ in range(3)]
    for column in columns:
        board.add_column(
            actor_id=actor,
            column_id=column,
            name=str(column)[:8],
            color=None,
            wip_limit=None,
            is_done_column=False,
        )
    store.save(board)
    cards = [uuid.uuid4() for _ in range(20)]
    for card in cards:
        board.place_card(actor_id=actor, card_id=card, column_id=columns[0], position=None)
        store.save(board)
    for i in range(230):
        board.move_card(
            actor_id=actor, card_id=cards[i % 20], column_id=columns[i % 3], position=i % 7
        )
        store.save(board)
    store.close()

    with psycopg.connect(fresh_database_url) as conn:
        snapshots = conn.execute(
            "SELECT originator_version FROM worksync_snapshots ORDER BY 1"
        ).fetchall()
    assert [v for (v,) in snapshots] == [100, 200]

    fresh = open_event_store(fresh_database_url, pool_size=1)  # empty cache: snapshot + tail
    loaded = fresh.load(Board, board.id)
    assert loaded.version == board.version
    assert loaded.columns == board.columns
    assert loaded.cards == board.cards
    assert [loaded.cards_in(c) for c in columns] == [board.cards_in(c) for c in columns]
    fresh.close()
