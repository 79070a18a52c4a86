"""A milestone you are assigned to, completed by someone else, notifies you (not the one who
completed it)."""

from __future__ import annotations

from tests.support.authz import add_member
from tests.support.milestones import Planner
from tests.support.notifications import inbox, wait_for_inbox


def test_completing_a_milestone_notifies_its_assignees_but_not_the_actor(client, api):
    plan = Planner(api)
    ann = api.register(name="Ann")
    add_member(client, plan.workspace["id"], plan.owner, ann["user"]["id"], "member")
    milestone = plan.milestone(
        title="Beta", assignee_ids=[ann["user"]["id"], plan.owner["user"]["id"]]
    )
    plan.ok(plan.put(f"/milestones/{milestone['id']}", {"status": "completed"}))
    page = wait_for_inbox(client, ann, lambda p: p["data"] != [], type="milestone_completed")
    [note] = page["data"]
    assert note["title"] == "Milestone “Beta” was completed"
    assert note["message"] == "completed"
    assert note["data"]["milestone_id"] == milestone["id"]
    assert note["data"]["actor_id"] == plan.owner["user"]["id"]
    assert inbox(client, plan.owner, type="milestone_completed")["data"] == []
