"""A resource conflict about you (found by the resources policy) notifies you, once, even
when it is detected while you were already told of it."""

from __future__ import annotations

from tests.support.notifications import inbox, wait_for_inbox
from tests.support.resources import make_team


def test_an_over_allocation_notifies_the_person(client, api):
    team = make_team(client, api)
    team.person("Ann", capacity=40)
    ann = team.people["Ann"]
    team.allocate("Ann", 30, "2027-01-04", "2027-01-24")
    team.allocate("Ann", 20, "2027-01-11", "2027-01-31")
    page = wait_for_inbox(client, ann, lambda p: p["data"] != [], type="resource_conflict")
    [note] = page["data"]
    assert note["title"] == "You are over-allocated from 2027-01-11 to 2027-01-24"
    assert note["message"].startswith("10")
    assert note["workspace_id"] == team.workspace["id"]
    team.settle()
    (conflict,) = team.conflicts(status="active")
    assert note["data"]["conflict_id"] == conflict["id"]
    assert inbox(client, team.owner, type="resource_conflict")["data"] == []
