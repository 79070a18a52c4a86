"""Rebuilding in bulk (all projections in one pass, batches written set-wise, a faster JSON
decoder) gives exactly the rows the live projector gives, event by event: on the benchmark's
generated log (every context) and on kanban's corner cases."""

from __future__ import annotations

import gc
import json
import threading
import uuid
import weakref
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import psycopg
import pytest
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex

from application.adapters.store import DateAsISO, SetAsList
from domain.kanban import Board, Card
from interfaces.bootstrap import open_event_store
from interfaces.cli import event_mapper
from projections.engine import Projector, read_events
from projections.rebuild import collection_per_batch, rebuild, rebuild_many
from projections.rebuild_decoding import FastJSONTranscoder
from projections.rebuild_parallel import (
    DECODE_COST,
    REPLAY_COST,
    log_topics,
    rebuild_parallel,
    split,
)
from projections.registry import all_projections, by_name
from sample_log import generate
from tests.support.projections import caught_up, create_workspaces, wait_until

COPY = (
    "COPY worksync_events (originator_id, originator_version, topic, state)"
    " FROM STDIN (FORMAT BINARY)"
)


def read_model(url: str) -> dict[str, list[tuple]]:
    tables = [t for p in all_projections() for t in p.tables]
    with psycopg.connect(url) as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables}


def indexes(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
            " ORDER BY 1, 2"
        ).fetchall()


def project_live(url: str, store) -> dict[str, list[tuple]]:
    projector = Projector(all_projections(), url, store.mapper, batch_size=100)
    projector.start()
    try:
        wait_until(lambda: caught_up(url), timeout=180)
    finally:
        projector.stop()
    return read_model(url)


def load_generated_log(url: str, store, events: int) -> dict[str, int]:
    with psycopg.connect(url, autocommit=True) as conn:

        def sink(rows: list[tuple]) -> None:
            with conn.cursor() as cur, cur.copy(COPY) as copy:
                copy.set_types(["uuid", "int8", "text", "bytea"])
                for row in rows:
                    copy.write_row(row)

        expected, _topics = generate(store.mapper, events, sink, store.keys.destroy)
    return expected


def test_the_generated_log_projects_live_and_rebuilds_to_the_same_rows(fresh_database_url):
    url = fresh_database_url
    store = open_event_store(url, pool_size=2)
    try:
        expected = load_generated_log(url, store, 4000)
        live = project_live(url, store)  # caught_up: every projection running at the head
        for table, count in expected.items():
            assert len(live[table]) == count, table
        assert live["files"]
        assert any(row[3] == "card" for row in live["attachments"])  # kanban_cards show them
        before = indexes(url)
        reports = rebuild_many(url, all_projections(), store.mapper, batch_size=700)
        assert {r.position for r in reports} == {reports[0].events}
        assert read_model(url) == live
        assert indexes(url) == before  # deferred ones built, scratch ones gone
        with psycopg.connect(url) as conn:  # loaded unlogged, swapped in logged
            unlogged = conn.execute(
                "SELECT relname FROM pg_class WHERE relpersistence <> 'p' AND relname = ANY(%s)",
                (list(live),),
            ).fetchall()
        assert unlogged == []
        for name in ("kanban", "card_activities", "comments", "tasks", "files"):
            rebuild(url, by_name(name), store.mapper, batch_size=37)
        assert read_model(url) == live
        assert caught_up(url)
        # Two processes, each replaying a group of projections, swapped in together.
        reports = rebuild_parallel(
            url, all_projections(), store.mapper, event_mapper, jobs=2, batch_size=500
        )
        assert {r.position for r in reports} == {reports[0].events}
        assert read_model(url) == live
        assert indexes(url) == before
        assert caught_up(url)
    finally:
        store.close()


def test_projections_split_into_groups_of_about_equal_cost():
    groups = split(all_projections(), 2)
    assert len(groups) == 2
    assert sorted(p.name for g in groups for p in g) == sorted(p.name for p in all_projections())
    costs = [sum(REPLAY_COST.get(p.name, 1) for p in g) for g in groups]
    assert max(costs) - min(costs) <= max(REPLAY_COST.values()) / 2
    assert len(split(all_projections(), 1)) == 1
    assert len(split([by_name("kanban")], 4)) == 1
    assert len(split(all_projections(), 4, MIX)) == 4


# Events per topic of a log like the benchmark's: mostly card moves, which the kanban, card
# activities and activity projections all handle.
MIX = {
    "domain.kanban:Board.CardMoved": 480,
    "domain.kanban:Card.Updated": 80,
    "domain.comments:Comment.Created": 60,
    "domain.kanban:Card.Created": 47,
    "domain.time_tracking_tracker:TimeTracker.Booked": 40,
    "domain.tasks:Task.StatusChanged": 29,
    "domain.tasks:Task.Created": 22,
    "domain.time_tracking:TimeEntry.Started": 10,
    "domain.files:File.Uploaded": 6,
    "domain.identity:User.Registered": 2,
    "domain.tasks:TaskGraph.ParentSet": 4,
}


def test_a_split_weighs_the_events_each_group_decodes():
    everyone = all_projections()
    total = sum(MIX.values())

    def cost(group: list) -> float:
        handled = sum(n for t, n in MIX.items() if any(p.handles_topic(t) for p in group))
        return sum(REPLAY_COST.get(p.name, 1) for p in group) + DECODE_COST * handled / total

    groups = split(everyone, 2, MIX)
    assert sorted(p.name for g in groups for p in g) == sorted(p.name for p in everyone)
    worst = max(cost(g) for g in groups)
    for i, group in enumerate(groups):  # moving any one projection makes the worst no better
        for projection in group:
            moved = [[p for p in g if p is not projection] for g in groups]
            moved[1 - i].append(projection)
            assert max(cost(g) for g in moved) >= worst - 1e-9, projection.name
    # What decodes every event (the activity feed) pays for it: better than the plain split.
    plain = split(everyone, 2)
    assert worst < max(cost(g) for g in plain)


def test_the_log_topics_are_counted_from_the_log(fresh_database_url):
    url = fresh_database_url
    store = open_event_store(url, pool_size=1)
    try:
        create_workspaces(store, 3, prefix="topics")
        topics = log_topics(url)
        assert topics["domain.workspaces:Workspace.Created"] == 3
        assert sum(topics.values()) == len(read_events_all(url))
    finally:
        store.close()


def read_events_all(url: str) -> list:
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        return read_events(cur, 0, 100_000)


def test_the_fast_decoder_decodes_every_generated_event_as_the_mapper_does(fresh_database_url):
    url = fresh_database_url
    store = open_event_store(url, pool_size=1)
    try:
        load_generated_log(url, store, 1500)
        fast = FastJSONTranscoder(store.mapper.transcoder)
        with psycopg.connect(url) as conn, conn.cursor() as cur:
            rows = read_events(cur, 0, 10_000)
        for row in rows:
            state = bytes(row.stored.state)
            assert fast.decode(state) == store.mapper.transcoder.decode(state), row.topic
        assert fast.decode(b'{"big": 123456789012345678901234567890}') == {
            "big": 123456789012345678901234567890
        }
    finally:
        store.close()


def test_the_fast_decoder_decodes_nested_and_unusual_values_as_the_transcoder_does():
    inner = JSONTranscoder()  # the event store's transcodings
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), DateAsISO(), SetAsList()):
        inner.register(transcoding)
    fast = FastJSONTranscoder(inner)
    when = datetime(2027, 1, 4, 9, 30, 0, 120, tzinfo=timezone(timedelta(hours=-3)))
    ids = [uuid.uuid4() for _ in range(3)]
    values = [
        {"at": when, "due": date(2027, 1, 5), "hours": Decimal("12.50"), "id": ids[0]},
        {"moved": [(ids[1], "a0"), (ids[2], "a1")], "tags": {"x", "y"}, "none": None},
        {"deep": {"deeper": [{"id": ids[0], "at": [when]}], "_type_": "not a typed value"}},
        {"_type_": "x", "_data_": "a plain dict with those two keys", "n": 1.5},
        {"big": 2**70, "list": [[ids[1]], []], "text": "_type_"},
        {"in": [{"n": -(2**64) - 1}], "at": when},
        {"u64": 2**64 - 1, "i64": -(2**63), "float": 1.5e19, "small": 0.1, "id": ids[0]},
        {"nested": [[1, 2.5, [3 * 10**25]]], "_data_": "x"},
        [ids[0], when, {"id": ids[2]}],
    ]
    for value in values:
        data = inner.encode(value)
        assert fast.decode(data) == inner.decode(data), value
        assert repr(fast.decode(data)) == repr(inner.decode(data))  # ints stay ints


def test_kanban_corner_cases_rebuild_in_one_batch_as_live(fresh_database_url):
    """Within one batch: a card deleted without its board's removal (a gap stays), a column
    turning done and back, a column deleted onto another, moves before and after each."""
    url = fresh_database_url
    store = open_event_store(url, pool_size=2)
    try:
        actor, ws, project = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        board = Board(ws, project, "B", None, {}, actor)
        columns = [uuid.uuid4() for _ in range(4)]
        for i, column in enumerate(columns):
            board.add_column(actor, column, f"c{i}", None, None, i == 3)
        cards = []
        for i in range(12):
            card = Card(ws, project, board.id, f"t{i}", None, "low", None, None, None, [], actor)
            board.place_card(actor, card.id, columns[i % 3], 0)
            cards.append(card)
        store.save(board, *cards)
        for i, card in enumerate(cards):
            board.move_card(actor, card.id, columns[(i + 1) % 4], i % 3)
            card.edit(actor, title=f"T{i}", assignee_id=actor if i % 2 else None)
        store.save(board, *cards)
        cards[0].delete(actor)  # the board keeps it: its column has a gap
        store.save(cards[0])
        board.move_card(actor, cards[1].id, columns[3], 0)
        board.update_column(actor, columns[1], is_done_column=True)
        board.move_card(actor, cards[2].id, columns[1], 1)
        board.move_card(actor, cards[3].id, columns[1], 0)
        board.update_column(actor, columns[1], is_done_column=False, name="back")
        board.move_card(actor, cards[4].id, columns[2], 5)
        board.delete_column(actor, columns[2], columns[1])
        board.move_card(actor, cards[5].id, columns[1], 2)
        board.move_column(actor, columns[3], 0)
        board.update(actor, name="B2")
        store.save(board)
        cards[6].delete(actor)
        board.remove_card(actor, cards[6].id)
        store.save(cards[6], board)
        late = Card(ws, project, board.id, "late", None, "high", None, None, None, [], actor)
        board.place_card(actor, late.id, columns[0], 0)
        store.save(board)  # placed before the card is created
        store.save(late)
        live = project_live(url, store)
        rebuild_many(url, [by_name("kanban"), by_name("card_activities")], store.mapper)
        assert read_model(url) == live
    finally:
        store.close()


def _in_one_process(url, store, batch_size):
    return rebuild_many(url, all_projections(), store.mapper, batch_size=batch_size)


def _in_two_processes(url, store, batch_size):
    return rebuild_parallel(
        url, all_projections(), store.mapper, event_mapper, jobs=2, batch_size=batch_size
    )


@pytest.mark.parametrize("rebuild_all", [_in_one_process, _in_two_processes])
def test_rebuilding_everything_during_writes_catches_up_and_swaps_all(
    fresh_database_url, rebuild_all
):
    url = fresh_database_url
    store = open_event_store(url, pool_size=2)
    projector = Projector(all_projections(), url, store.mapper, batch_size=50)
    projector.start()
    try:
        create_workspaces(store, 40, prefix="before")
        writer = threading.Thread(target=create_workspaces, args=(store, 120, "during"))
        writer.start()
        reports = rebuild_all(url, store, 15)
        writer.join()
        assert {r.name for r in reports} == {p.name for p in all_projections()}
        if rebuild_all is _in_one_process:  # one pass ends at one position (groups: one each)
            assert len({r.position for r in reports}) == 1
        wait_until(lambda: caught_up(url))
        live = read_model(url)
        assert len(live["workspaces"]) == 160
        rebuild_many(url, all_projections(), store.mapper)
        assert read_model(url) == live
    finally:
        projector.stop()
        store.close()


def test_the_rebuild_command_reports_each_projection_as_json(monkeypatch, fresh_database_url):
    from tests.support.cli import invoke

    store = open_event_store(fresh_database_url, pool_size=1)
    create_workspaces(store, 3)
    store.close()
    result = invoke(monkeypatch, fresh_database_url, "projections", "rebuild", "--all", "--json")
    assert result.exit_code == 0, result.output
    reports = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert sorted(r["name"] for r in reports) == sorted(p.name for p in all_projections())
    assert {(r["events"], r["position"]) for r in reports} == {(6, 6)}
    assert all(len(r["batch_ms"]) == 1 for r in reports)


def test_a_replay_collects_garbage_once_per_batch_and_restores_the_collector():
    garbage = []
    assert gc.isenabled()
    with collection_per_batch() as collect:
        assert not gc.isenabled()  # no collection in the middle of a batch
        cycle: list = []
        cycle.append(cycle)
        garbage.append(weakref.ref(Holder(cycle)))
        del cycle
        collect()  # after the batch: its cyclic garbage goes
        assert garbage[0]() is None
    assert gc.isenabled()
    try:
        with collection_per_batch():
            raise RuntimeError("a batch failed")
    except RuntimeError:
        pass
    assert gc.isenabled()  # restored when a batch fails, too


class Holder:
    def __init__(self, cycle: list) -> None:
        self.cycle = cycle
        cycle.append(self)
