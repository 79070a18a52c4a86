"""Which Socket.IO event each domain event becomes, its rooms and payload (no I/O)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from uuid import UUID

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import get_topic

from domain.comments import Comment
from domain.identity import User
from domain.kanban import Board, Card
from domain.projects import Project
from domain.resources import Workload
from domain.workspaces import Workspace
from interfaces.realtime.names import EVENT_NAMES, EVERYONE, route

ACTOR = uuid.uuid4()


def routed(aggregate) -> list:
    return [route(e, position) for position, e in enumerate(aggregate.collect_events(), 1)]


def new_board(workspace_id: UUID) -> Board:
    return Board(
        workspace_id=workspace_id,
        project_id=uuid.uuid4(),
        name="B",
        description=None,
        settings={},
        actor_id=ACTOR,
    )


def test_kanban_events_get_the_spec_names_and_go_to_their_workspace():
    workspace_id = uuid.uuid4()
    board = new_board(workspace_id)
    todo, done, card = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for column in (todo, done):
        board.add_column(ACTOR, column, "C", None, None, False)
    board.place_card(ACTOR, card, todo, None)
    board.move_card(ACTOR, card, done)
    board.update_column(ACTOR, done, name="Shipped")
    names = [r.name for r in routed(board)]
    assert names == [
        "kanban:board:created",
        "kanban:column:created",
        "kanban:column:created",
        "kanban:card:placed",
        "kanban:card:moved",
        "kanban:column:updated",
    ]
    moved = routed_one(board, lambda b: b.move_card(ACTOR, card, todo))
    assert moved.rooms == {f"workspace:{workspace_id}"}
    assert moved.payload["resource"] == {"type": "card", "id": str(card)}
    assert moved.payload["actor_id"] == str(ACTOR)
    assert moved.payload["data"]["column_id"] == str(todo)
    assert moved.payload["position"] == 1


def routed_one(aggregate, command):
    aggregate.collect_events()
    command(aggregate)
    (result,) = routed(aggregate)
    return result


def test_an_assignment_also_reaches_the_assignee_personally():
    assignee = uuid.uuid4()
    card = Card(
        workspace_id=uuid.uuid4(),
        project_id=uuid.uuid4(),
        board_id=uuid.uuid4(),
        title="T",
        description=None,
        priority="low",
        due_date=None,
        estimated_hours=None,
        assignee_id=None,
        labels=[],
        actor_id=ACTOR,
    )
    assigned = routed_one(card, lambda c: c.edit(ACTOR, assignee_id=assignee))
    assert assigned.name == "kanban:card:assigned"
    assert f"user:{assignee}" in assigned.rooms


def test_comments_on_cards_are_kanban_comments_and_others_are_plain_comments():
    def comment(kind: str) -> Comment:
        return Comment(uuid.uuid4(), uuid.uuid4(), kind, uuid.uuid4(), None, "hi", ACTOR)

    on_card, on_task = comment("card"), comment("task")
    assert [r.name for r in routed(on_card)] == ["kanban:comment:created"]
    assert [r.name for r in routed(on_task)] == ["comment:created"]
    on_card.edit(ACTOR, "edited")
    on_card.delete(ACTOR, moderator=False)
    assert [r.name for r in routed(on_card)] == ["kanban:comment:updated", "kanban:comment:deleted"]


def test_membership_events_grant_and_revoke_and_never_carry_secrets():
    owner, member = uuid.uuid4(), uuid.uuid4()
    workspace = Workspace(name="W", description=None, settings={}, owner_id=owner)
    workspace.add_member(owner, member, "member")
    workspace.invite(owner, uuid.uuid4(), "tokenhash", "emailhash", "viewer", _tomorrow())
    workspace.remove_member(owner, member)
    workspace.delete(owner)
    created, added, invited, removed, deleted = routed(workspace)
    w = str(workspace.id)
    assert created.rooms == {f"workspace:{w}", f"user:{owner}"}
    assert added.name == "workspace:member:added"
    assert added.grant == (w, str(member))
    assert f"user:{member}" in added.rooms
    assert invited.name == "workspace:invite:created"
    assert not {"token_hash", "email_hash"} & set(invited.payload["data"])
    assert removed.revoke == (w, str(member))
    assert f"user:{member}" in removed.rooms
    assert deleted.revoke == (w, EVERYONE)


def test_project_events_follow_the_spec():
    project = Project(
        uuid.uuid4(), "P", None, "planning", "low", None, None, None, ACTOR, {}, ACTOR
    )
    project.change_status(ACTOR, "active")
    project.add_member(ACTOR, uuid.uuid4(), None)
    assert [r.name for r in routed(project)] == [
        "project:created",
        "project:status:changed",
        "project:member:added",
    ]


def test_payload_data_is_the_change_without_eventsourcing_bookkeeping():
    project = Project(
        uuid.uuid4(), "P", None, "planning", "low", None, None, None, ACTOR, {}, ACTOR
    )
    (created,) = routed(project)
    assert created.payload["data"]["name"] == "P"
    assert "originator_topic" not in created.payload["data"]


def test_a_workload_opening_is_bookkeeping_and_never_sent():
    assert routed(Workload(workspace_id=uuid.uuid4(), user_id=uuid.uuid4())) == [None]


def test_identity_events_are_never_sent():
    user = User(email="a@example.com", password_hash="x", name="A", role="user")
    assert routed(user) == [None]


class Milestone(Aggregate):
    """A context the table does not know yet."""

    @event("Created")
    def __init__(self, workspace_id: UUID, actor_id: UUID) -> None:
        self.workspace_id = workspace_id

    @event("Completed")
    def complete(self, actor_id: UUID, workspace_id: UUID) -> None:
        pass


def test_an_event_missing_from_the_table_gets_a_name_from_its_class():
    milestone = Milestone(uuid.uuid4(), ACTOR)
    milestone.complete(ACTOR, milestone.workspace_id)
    assert [r.name for r in routed(milestone)] == ["milestone:created", "milestone:completed"]
    assert get_topic(Milestone.Completed) not in EVENT_NAMES


def _tomorrow() -> datetime:
    return datetime.now(UTC) + timedelta(days=1)
