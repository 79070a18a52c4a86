"""Reading a Trello export and mapping it to aggregates, without PostgreSQL: order by pos,
archived lists and cards, labels as tags, due dates, checklists as tasks with subtasks,
comments by members and non-members, member matching by e-mail; and every kind of bad input
refused with a clear error before anything is built."""

from __future__ import annotations

import json
import uuid

import pytest

from application.imports_build import build_trello, comment_html, imported_id
from application.imports_trello import BadImport, ImportTooLarge, load_json, parse_trello
from domain.comments import Comment
from domain.kanban import Board, Card, WipLimitReached
from domain.projects import Project
from domain.tasks import Task
from tests.support.imports import ALICE, BOB, CAROL, DAVE, trello_board

WS = uuid.UUID("00000000-0000-4000-8000-000000000001")
ACTOR = uuid.UUID("00000000-0000-4000-8000-0000000000aa")
ALICE_ID = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
DAVE_ID = uuid.UUID("00000000-0000-4000-8000-0000000000d4")
EMAILS = {"alice@example.com": ALICE_ID, "dave@example.com": DAVE_ID}


def plan_of(doc) -> dict:
    return parse_trello(load_json(json.dumps(doc).encode(), 10_000_000))


def build(doc=None, **options):
    return build_trello(
        plan_of(doc or trello_board()), workspace_id=WS, actor_id=ACTOR, emails=EMAILS, **options
    )


def of(made, cls):
    return [a for a in made if type(a) is cls]


def test_lists_become_columns_in_pos_order_and_archived_lists_are_skipped():
    result, made = build()
    (board,) = of(made, Board)
    names = [board.columns[c]["name"] for c in board.column_order()]
    assert names == ["To Do", "Doing", "Done"]
    assert result["report"]["skipped_lists"] == ["Old ideas"]
    assert result["report"]["skipped_cards"] == 1


def test_archived_lists_are_kept_as_columns_when_asked():
    result, made = build(include_archived_lists=True)
    (board,) = of(made, Board)
    assert [board.columns[c]["name"] for c in board.column_order()] == [
        "Old ideas",
        "To Do",
        "Doing",
        "Done",
    ]
    assert result["counts"]["cards"] == 6
    assert result["report"]["skipped_lists"] == []
    assert result["counts"]["comments"] == 3  # the comment on the archived list's card too


def test_cards_keep_pos_order_description_labels_due_date_and_archived_state():
    result, made = build()
    (board,) = of(made, Board)
    cards = {c.id: c for c in of(made, Card)}
    todo = board.column_order()[0]
    titles = [cards[uuid.UUID(k)].title for k in board.cards_in(uuid.UUID(todo))]
    assert titles == ["Book venue", "Write press release", "Old banner"]
    by_title = {c.title: c for c in cards.values()}
    press = by_title["Write press release"]
    assert press.description == "Draft and review\nwith legal"
    assert press.labels == ["Urgent", "Backend"]
    assert press.due_date.isoformat() == "2026-12-20T17:00:00+00:00"
    assert by_title["Book venue"].labels == ["green"]  # an unnamed label: its colour
    assert by_title["Old banner"].is_archived
    assert not press.is_archived
    assert result["counts"] == {
        "columns": 3,
        "cards": 5,
        "archived_cards": 1,
        "tasks": 2,
        "subtasks": 5,
        "done_subtasks": 3,
        "comments": 2,
    }


def test_members_are_matched_by_email_and_the_rest_reported():
    result, made = build()
    by_title = {c.title: c for c in of(made, Card)}
    assert by_title["Write press release"].assignee_id == ALICE_ID
    assert by_title["Design site"].assignee_id == DAVE_ID  # the first matched member
    assert by_title["Book venue"].assignee_id is None  # Bob: no e-mail in the export
    assert result["report"]["cards_with_more_members"] == 1
    unmatched = {m["trello_id"]: m["reason"] for m in result["report"]["unmatched_members"]}
    assert set(unmatched) == {BOB, CAROL}
    assert "no e-mail" in unmatched[BOB]
    assert "no workspace member" in unmatched[CAROL]
    assert ALICE not in unmatched
    assert DAVE not in unmatched


def test_checklists_become_tasks_with_subtasks_in_order_and_done_state_kept():
    _, made = build()
    tasks = of(made, Task)
    parents = [t for t in tasks if t.parent_task_id is None]
    assert [p.title for p in parents] == ["Write press release: Review steps", "Kickoff: Prep"]
    review, prep = parents
    items = [t for t in tasks if t.parent_task_id == review.id]
    assert [(t.title, t.status) for t in items] == [
        ("Proofread", "todo"),
        ("Legal review", "done"),
        ("Send", "todo"),
    ]
    assert items[2].assignee_id == ALICE_ID
    assert items[2].due_date.day == 21
    assert review.status == "todo"
    assert prep.status == "done"


def test_comments_keep_member_authors_and_name_others_with_the_date():
    _, made = build()
    comments = of(made, Comment)
    assert [c.author_id for c in comments] == [ALICE_ID, ACTOR]  # oldest first
    assert comments[0].content == "<p>Looks good to me</p>"
    bob = comments[1].content
    assert "<strong>Bob Baker</strong> wrote on 2026-11-03 11:30 UTC" in bob
    assert "&lt;b&gt;all&lt;/b&gt;" in bob  # Trello's text is text, not markup
    press = next(c for c in of(made, Card) if c.title == "Write press release")
    assert {c.commentable_id for c in comments} == {press.id}


def test_ids_are_derived_from_the_workspace_and_the_trello_ids():
    _, made = build()
    (project,) = of(made, Project)
    assert project.id == imported_id(WS, "project", "5f1a00000000000000000b01")
    _, again = build()
    assert [a.id for a in again] == [a.id for a in made]
    other = build_trello(
        plan_of(trello_board()), workspace_id=uuid.uuid4(), actor_id=ACTOR, emails={}
    )[1]
    assert not {a.id for a in other} & {a.id for a in made}


def test_unknown_fields_are_ignored():
    doc = trello_board()
    doc["somethingNew"] = {"nested": [1, 2]}
    doc["cards"][0]["fancyField"] = "x"
    assert plan_of(doc) == plan_of(trello_board())


def test_long_names_are_cut_and_control_characters_dropped():
    doc = trello_board()
    doc["cards"][0]["name"] = "A\tB\x07" + "x" * 400
    card = next(c for c in plan_of(doc)["cards"] if c["id"] == doc["cards"][0]["id"])
    assert card["name"].startswith("A B")
    assert len(card["name"]) == 255
    assert card["name"].endswith("…")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b'{"id": "b", "name": "x", "lists": [', "not valid JSON"),
        (b'{"id": "b",\x00 "lists": []}', "NUL"),
        (b"\xff\xfe{}", "UTF-8"),
        (b"[1, 2, 3]", "not a Trello board export"),
        (b'{"name": "a spreadsheet", "rows": []}', "not a Trello board export"),
        (b'{"id": "b", "name": "x", "lists": []}', "no 'cards'"),
        (b"[" * 5000 + b"]" * 5000, "not valid JSON"),
    ],
)
def test_what_is_not_a_trello_export_is_refused(data, message):
    with pytest.raises(BadImport) as refused:
        parse_trello(load_json(data, 1_000_000))
    assert message in refused.value.detail


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["cards"][0].update(pos="first"), "cards[0].pos must be a number"),
        (lambda d: d["cards"][0].update(pos=True), "cards[0].pos must be a number"),
        (lambda d: d["cards"][1].pop("idList"), "cards[1].idList is missing"),
        (lambda d: d["cards"][1].update(idList="nope"), "not a list of the export"),
        (lambda d: d["lists"][0].update(name=None, id=7), "lists[0].id must be a string"),
        (lambda d: d["cards"][0].update(due="next week"), "not an ISO 8601 date"),
        (lambda d: d["cards"][0].update(name="a\u0000b"), "NUL"),
        (lambda d: d["cards"].append(dict(d["cards"][0])), "appears twice"),
        (lambda d: d["checklists"][0]["checkItems"][0].update(state="maybe"), "state must be"),
        (lambda d: d["checklists"][0].update(idCard="gone"), "not a card of the export"),
        (lambda d: d["cards"][0].update(desc="x" * 20_000), "longer than"),
        (lambda d: d.update(cards={}), "no 'cards' array"),
    ],
)
def test_a_malformed_export_is_refused_naming_the_place(change, message):
    doc = trello_board()
    change(doc)
    with pytest.raises(BadImport) as refused:
        plan_of(doc)
    assert message in refused.value.detail


def test_too_large_files_and_absurd_sizes_are_refused():
    with pytest.raises(ImportTooLarge):
        load_json(b" " * 2048, 1024)  # refused on its size, before parsing
    doc = trello_board()
    doc["lists"] = [{"id": f"l{i}", "name": "L", "pos": i} for i in range(1001)]
    with pytest.raises(ImportTooLarge) as refused:
        plan_of(doc)
    assert refused.value.status == 413
    assert "lists" in refused.value.detail


def test_a_comment_text_too_long_for_a_comment_is_cut_not_refused():
    content = comment_html("word & " * 3000, "Bob", "2026-11-03T11:30:00+00:00")
    assert len(content) <= 20_000
    assert content.endswith("…</p>")


def test_progress_is_reported_up_to_every_card():
    calls = []
    build(progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (6, 6)


def test_appending_cards_keeps_their_order_and_the_wip_limit():
    board = Board(
        workspace_id=WS,
        project_id=uuid.uuid4(),
        name="B",
        description=None,
        settings={},
        actor_id=ACTOR,
    )
    column = uuid.uuid4()
    board.add_column(ACTOR, column, "Doing", None, 2, False)
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    board.place_card(ACTOR, first, column, None)
    with pytest.raises(WipLimitReached):
        board.append_cards(ACTOR, column, [second, third])
    board.append_cards(ACTOR, column, [second, third], override_reason="imported as it was")
    assert board.cards_in(column) == [str(first), str(second), str(third)]
