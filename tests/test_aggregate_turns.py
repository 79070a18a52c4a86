"""Hot aggregates take turns across processes: two event stores (as two API processes would
be) moving cards on one board never clash, never lose a move, and each starts from the
other's latest state without reloading the board."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterator

import pytest
from eventsourcing.persistence import IntegrityError

from application.kanban import KanbanService
from application.projects import ProjectsService
from application.store import EventStore, eventstore_env
from application.workspaces import WorkspaceService
from domain.kanban import Board

CARD = {
    "description": None,
    "priority": "medium",
    "due_date": None,
    "estimated_hours": None,
    "assignee_id": None,
    "labels": [],
}


@pytest.fixture
def stores(database_url: str) -> Iterator[list[EventStore]]:
    stores = [EventStore(env=eventstore_env(database_url, pool_size=3)) for _ in range(2)]
    yield stores
    for store in stores:
        store.close()


def a_board(store: EventStore, cards: int) -> tuple[uuid.UUID, uuid.UUID, list, list]:
    owner = uuid.uuid4()
    workspace = WorkspaceService(store, None, "http://test").create(owner, "W", None, {}).value
    project = ProjectsService(store).create(
        owner, workspace, "P", None, "active", "medium", None, None, None, None, {}
    )
    kanban = KanbanService(store)
    columns = [
        {"name": f"c{i}", "color": None, "wip_limit": None, "is_done_column": False}
        for i in range(3)
    ]
    board_id = kanban.create_board(
        owner, project.value, "B", None, {}, [{**c, "position": None} for c in columns]
    ).value
    column_ids = [uuid.UUID(c) for c in store.load(Board, board_id).columns]
    card_ids = [
        kanban.create_card(
            board_id, column_ids[i % 3], owner, {"title": f"t{i}", **CARD}, None, None
        ).value
        for i in range(cards)
    ]
    return owner, board_id, column_ids, card_ids


def count_clashes(store: EventStore) -> list[int]:
    clashes = [0]
    save = store.save

    def counting_save(*aggregates):
        try:
            return save(*aggregates)
        except IntegrityError:
            clashes[0] += 1
            raise

    store.save = counting_save
    return clashes


def test_two_processes_moving_on_one_board_take_turns_without_clashing(stores, database_url):
    owner, board_id, column_ids, card_ids = a_board(stores[0], cards=12)
    services = [KanbanService(s) for s in stores]
    clashes = [count_clashes(s) for s in stores]
    rng = random.Random(7)
    moves = [
        (i % 2, rng.choice(card_ids), rng.choice(column_ids), rng.randint(0, 5)) for i in range(120)
    ]
    per_store = [[m for m in moves if m[0] == k] for k in (0, 1)]
    errors = []

    def mover(k: int) -> None:
        for _, card, column, position in per_store[k]:
            try:
                services[k].move_card(card, owner, column, position, None, None, None)
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

    threads = [threading.Thread(target=mover, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert clashes[0][0] + clashes[1][0] == 0
    # Both processes end with the same board, equal to one rebuilt from the log alone.
    fresh = EventStore(env=eventstore_env(database_url, pool_size=1))
    try:
        from_log = fresh.repository.get(board_id)
    finally:
        fresh.close()
    for store in stores:
        board = store.load(Board, board_id)
        assert board.version == from_log.version
        assert board.cards == from_log.cards
