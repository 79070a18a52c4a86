"""Reading a WorkSync export back, without PostgreSQL: what a hand-made or damaged file may
not carry into the log (unknown statuses, names with control characters, colours too long
for a column, unsafe comment markup) is refused or cleaned before anything is built."""

from __future__ import annotations

import uuid

import pytest

from application.imports_trello import BadImport
from application.imports_worksync import build_worksync, check_worksync, worksync_id
from domain.comments import Comment
from domain.kanban import Board, Card

WS = uuid.UUID("00000000-0000-4000-8000-000000000002")
ACTOR = uuid.UUID("00000000-0000-4000-8000-0000000000bb")
MEMBER = uuid.UUID("00000000-0000-4000-8000-0000000000cc")
P, B, C, K = "p-1", "b-1", "c-1", "k-1"


def export(**changes) -> dict:
    rows = {
        "projects": [
            {
                "id": P,
                "name": "P",
                "description": None,
                "status": "active",
                "priority": "medium",
                "start_date": "2027-01-04",
                "end_date": None,
                "budget": 1200.5,
                "owner_id": str(MEMBER),
                "settings": {},
            }
        ],
        "project_members": [],
        "boards": [{"id": B, "project_id": P, "name": "B", "description": None, "settings": {}}],
        "columns": [
            {
                "id": C,
                "board_id": B,
                "name": "Doing",
                "position": 0,
                "color": "#1f6feb",
                "wip_limit": 1,
                "is_done_column": False,
            }
        ],
        "cards": [
            {
                "id": f"k-{n}",
                "board_id": B,
                "column_id": C,
                "position": n,
                "title": f"Card {n}",
                "description": None,
                "priority": "low",
                "due_date": None,
                "estimated_hours": None,
                "assignee_id": str(uuid.uuid4()),  # not a member: left out
                "created_by": str(MEMBER),
                "labels": ["x"],
                "is_archived": n == 1,
            }
            for n in range(2)
        ],
        "tasks": [],
        "comments": [
            {
                "id": "m-1",
                "commentable_type": "card",
                "commentable_id": "k-0",
                "parent_comment_id": None,
                "user_id": str(MEMBER),
                "content": "<p>hi<script>alert(1)</script></p>",
                "created_at": "2026-01-01T00:00:00+00:00",
            }
        ],
    }
    for path, value in changes.items():
        kind, field = path.split("__")
        rows[kind][0][field] = value
    return {"format": "worksync-workspace-export", "format_version": 1, "collections": rows}


def build(doc):
    return build_worksync(check_worksync(doc), workspace_id=WS, actor_id=ACTOR, members={MEMBER})


def test_an_export_builds_its_aggregates_with_people_kept_only_when_members():
    result, made = build(export())
    assert result["counts"]["cards"] == 2
    (board,) = [a for a in made if type(a) is Board]
    cards = [a for a in made if type(a) is Card]
    assert board.id == worksync_id(WS, "board", B)
    assert len(board.cards_in(worksync_id(WS, "column", C))) == 2  # over its WIP limit, as exported
    assert all(c.assignee_id is None and c.created_by == MEMBER for c in cards)
    assert [c.is_archived for c in cards] == [False, True]
    (comment,) = [a for a in made if type(a) is Comment]
    assert comment.content == "<p>hi</p>"  # sanitized again: the file is not trusted
    assert comment.author_id == MEMBER


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"projects__status": "bogus"}, "projects[].status"),
        ({"projects__priority": "urgent"}, "projects[].priority"),
        ({"projects__name": "a\nb"}, "control characters"),
        ({"projects__name": "x" * 256}, "1 to 255"),
        ({"columns__color": "#1f6feb-and-more"}, "colour"),
        ({"cards__priority": "critical"}, "cards[].priority"),
        ({"cards__board_id": "elsewhere"}, "malformed"),
        ({"projects__start_date": "soon"}, "malformed"),
    ],
)
def test_a_damaged_export_is_refused(change, message):
    with pytest.raises(BadImport) as refused:
        build(export(**change))
    assert message in refused.value.detail
