"""Authorization matrix rows for the comments endpoints (see tests/support/authz.py), and a helper that
makes a card by saving Board and Card aggregates (the kanban API comes separately)."""

from __future__ import annotations

import uuid
from typing import Any

from domain.kanban import Board, Card
from tests.support.authz import Case, World, expect
from tests.support.authz_tasks import project_of, task_of

CARD_COMMENTS = "/api/v1/cards/{card_id}/comments"
TASK_COMMENTS = "/api/v1/tasks/{task_id}/comments"
COMMENT = "/api/v1/comments/{comment_id}"


def make_card(client: Any, owner: dict, workspace_id: str, project_id: str) -> str:
    """A card on a new board of the project (one column); returns the card id."""
    actor = uuid.UUID(owner["user"]["id"])
    board = Board(
        workspace_id=uuid.UUID(workspace_id),
        project_id=uuid.UUID(project_id),
        name="Board",
        description=None,
        settings={},
        actor_id=actor,
    )
    column_id = uuid.uuid4()
    board.add_column(actor, column_id, "To do", None, None, False)
    card = Card(
        workspace_id=board.workspace_id,
        project_id=board.project_id,
        board_id=board.id,
        title="Card",
        description=None,
        priority="medium",
        due_date=None,
        estimated_hours=None,
        assignee_id=None,
        labels=[],
        actor_id=actor,
    )
    board.place_card(actor, card.id, column_id, None)
    client.app.state.container.store.save(board, card)
    return str(card.id)


def card_of(world: World) -> str:
    return world.ensure(
        "card", lambda w: make_card(w.client, w.owner, w.workspace["id"], project_of(w))
    )


def comment_of(world: World) -> str:
    """A comment by the owner on the world's task."""
    return world.ensure(
        "comment",
        lambda w: w.post(f"/api/v1/tasks/{task_of(w)}/comments", {"content": "By the owner"})["id"],
    )


def react_as_caller(client: Any, world: World, role: str) -> None:
    """The caller has reacted 'like' to the owner's comment (where their role lets them)."""
    comment_id = comment_of(world)
    if role in ("owner", "admin", "member"):
        world.post(f"/api/v1/comments/{comment_id}/reactions", {"reaction": "like"}, role)


CASES: list[Case] = [
    Case(
        "GET",
        CARD_COMMENTS,
        expect(200, 200, 200, 200, 404),
        path=lambda w: f"/api/v1/cards/{card_of(w)}/comments",
    ),
    Case(
        "POST",
        CARD_COMMENTS,
        expect(201, 201, 201, 403, 404),
        path=lambda w: f"/api/v1/cards/{card_of(w)}/comments",
        body=lambda w, r: {"content": "<p>Looks <b>good</b></p>"},
    ),
    Case(
        "GET",
        TASK_COMMENTS,
        expect(200, 200, 200, 200, 404),
        path=lambda w: f"/api/v1/tasks/{task_of(w)}/comments",
    ),
    Case(
        "POST",
        TASK_COMMENTS,
        expect(201, 201, 201, 403, 404),
        path=lambda w: f"/api/v1/tasks/{task_of(w)}/comments",
        body=lambda w, r: {"content": "On it"},
    ),
    # The comment is the owner's: only its author edits it.
    Case(
        "PUT",
        COMMENT,
        expect(200, 403, 403, 403, 404),
        path=lambda w: f"/api/v1/comments/{comment_of(w)}",
        body=lambda w, r: {"content": "Edited"},
    ),
    # Owners and admins moderate; a member may delete only their own comments.
    Case(
        "DELETE",
        COMMENT,
        expect(204, 204, 403, 403, 404),
        path=lambda w: f"/api/v1/comments/{comment_of(w)}",
    ),
    Case(
        "POST",
        f"{COMMENT}/reactions",
        expect(201, 201, 201, 403, 404),
        path=lambda w: f"/api/v1/comments/{comment_of(w)}/reactions",
        body=lambda w, r: {"reaction": "celebrate"},
    ),
    Case(
        "DELETE",
        f"{COMMENT}/reactions/{{reaction}}",
        expect(204, 204, 204, 403, 404),
        path=lambda w: f"/api/v1/comments/{comment_of(w)}/reactions/like",
        prepare=react_as_caller,
    ),
]
