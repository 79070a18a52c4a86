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
