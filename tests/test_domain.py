"""Domain rules, without I/O."""

from __future__ import annotations

import uuid

import pytest

from domain.identity import EmailIndex, User
from domain.shared import Gone
from domain.workspaces import Workspace


def test_the_email_index_id_ignores_case_and_surrounding_space():
    assert EmailIndex.id_for(" Ann@Example.COM ") == EmailIndex.id_for("ann@example.com")
    assert EmailIndex.id_for("ann@example.com") != EmailIndex.id_for("bob@example.com")


def test_the_creator_of_a_workspace_is_its_owner():
    owner = uuid.uuid4()
    workspace = Workspace(name="Acme", description=None, settings={}, owner_id=owner)
    assert workspace.role_of(owner) == "owner"
    assert workspace.role_of(uuid.uuid4()) is None


def test_an_update_that_changes_nothing_records_no_event():
    owner = uuid.uuid4()
    workspace = Workspace(name="Acme", description=None, settings={}, owner_id=owner)
    workspace.collect_events()
    workspace.update(actor_id=owner, name="Acme")
    assert workspace.collect_events() == []
    workspace.update(actor_id=owner, name="Acme 2", description="d")
    (event,) = workspace.collect_events()
    assert event.changes == {"name": "Acme 2", "description": "d"}
    assert event.actor_id == owner


def test_a_deleted_workspace_accepts_no_more_commands_and_has_no_members():
    owner = uuid.uuid4()
    workspace = Workspace(name="Acme", description=None, settings={}, owner_id=owner)
    workspace.delete(actor_id=owner)
    assert workspace.role_of(owner) is None
    with pytest.raises(Gone):
        workspace.update(actor_id=owner, name="x")
    with pytest.raises(Gone):
        workspace.delete(actor_id=owner)


def test_profile_updates_record_only_changed_fields():
    user = User(email="a@example.com", name="Ann", password_hash="h")
    user.collect_events()
    user.update_profile(actor_id=user.id, name="Ann", avatar_url="https://x/a.png")
    (event,) = user.collect_events()
    assert event.changes == {"avatar_url": "https://x/a.png"}


def test_a_boards_working_copy_changes_without_touching_the_cached_original():
    import copy

    from domain.kanban import Board

    actor = uuid.uuid4()
    board = Board(
        workspace_id=uuid.uuid4(),
        project_id=uuid.uuid4(),
        name="B",
        description=None,
        settings={"swimlanes": ["a"]},
        actor_id=actor,
    )
    todo, done = uuid.uuid4(), uuid.uuid4()
    for column_id, name in ((todo, "Todo"), (done, "Done")):
        board.add_column(
            actor_id=actor,
            column_id=column_id,
            name=name,
            color=None,
            wip_limit=None,
            is_done_column=False,
            position=None,
        )
    card = uuid.uuid4()
    board.place_card(
        actor_id=actor, card_id=card, column_id=todo, position=None, override_reason=None
    )
    board.collect_events()
    before = (copy.deepcopy(board.cards), copy.deepcopy(board.columns), board.version)

    clone = copy.deepcopy(board)
    clone.move_card(actor_id=actor, card_id=card, column_id=done, position=0)
    clone.update_column(actor_id=actor, column_id=todo, name="Later")
    clone.settings["swimlanes"].append("b")

    assert (board.cards, board.columns, board.version) == before
    assert board.settings == {"swimlanes": ["a"]}
    assert board.collect_events() == []
    assert clone.cards[str(card)]["column_id"] == str(done)
    assert clone.columns[str(todo)]["name"] == "Later"
    assert [type(e).__name__ for e in clone.collect_events()] == ["CardMoved", "ColumnUpdated"]
