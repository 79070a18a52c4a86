"""The analytics endpoints on the fixture workspace of tests/support/analytics.py, with the
expectations computed by hand there, in the owner's time zone (America/New_York) and in UTC."""

from __future__ import annotations

import pytest

from tests.support.analytics import NEW_YORK, NOW, Analytics, build
from tests.support.time_tracking import FakeClock

WEEK = {"from": "2025-01-06", "to": "2025-01-12"}


@pytest.fixture(scope="module")
def world(client) -> Analytics:
    clock = FakeClock(NOW)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(client.app.state.container.time_tracking, "clock", clock)
        from tests.support.api import Api

        yield build(Api(client), client, clock)


# Dashboard ---------------------------------------------------------------------------------


def test_dashboard_counts_the_workspace_in_the_owners_time_zone(world):
    body = world.ok("/dashboard", workspace_id=world.workspace_id)
    assert body["workspace_ids"] == [world.workspace_id]
    assert body["timezone"] == NEW_YORK
    assert body["today"] == "2025-01-12"  # Sunday evening in New York, Monday in UTC
    assert body["tasks"] == {"open": 2, "done": 2, "overdue": 1}
    assert body["cards"] == {"open": 1, "done": 1, "overdue": 1}
    assert body["milestones_overdue"] == 1
    assert body["this_week"] == {
        "week": "2025-W02",
        "start_date": "2025-01-06",
        "end_date": "2025-01-12",
        "hours": 9.5,  # the owner manages: everyone's time
        "my_hours": 3.5,
    }
    assert [m["id"] for m in body["upcoming_milestones"]] == [world.ids["m4"]]
    [person] = body["over_allocated"]
    assert person["user_id"] == world.users["member"]["user"]["id"]
    assert person["overallocation_percentage"] == 50.0
    assert person["over_hours"] == 10.0


def test_dashboard_in_utc_is_the_next_week(world):
    body = world.ok("/dashboard", workspace_id=world.workspace_id, tz="UTC")
    assert body["today"] == "2025-01-13"
    assert body["this_week"]["week"] == "2025-W03"
    assert body["this_week"]["hours"] == 2.0  # only e5 started on Monday 13 January (UTC)
    assert body["this_week"]["my_hours"] == 0.0
    assert body["over_allocated"] == []  # the conflict was last week
    assert body["milestones_overdue"] == 1


def test_dashboard_of_a_member_counts_only_their_own_time(world):
    body = world.ok("/dashboard", "member", workspace_id=world.workspace_id)
    assert body["timezone"] == "UTC"  # the member's setting (the default)
    assert body["this_week"]["week"] == "2025-W03"
    assert body["this_week"]["hours"] == 2.0 == body["this_week"]["my_hours"]
    viewer = world.ok("/dashboard", "viewer", workspace_id=world.workspace_id, tz=NEW_YORK)
    assert viewer["this_week"]["hours"] == 0.0
    assert viewer["tasks"] == {"open": 2, "done": 2, "overdue": 1}


def test_dashboard_without_a_workspace_covers_the_callers_own(world):
    mine = world.ok("/dashboard")
    assert world.workspace_id in mine["workspace_ids"]
    outsider = world.ok("/dashboard", "outsider")
    assert world.workspace_id not in outsider["workspace_ids"]
    assert outsider["tasks"] == {"open": 0, "done": 0, "overdue": 0}
    assert outsider["this_week"]["hours"] == 0.0


# Project -----------------------------------------------------------------------------------


def test_project_figures_over_a_week_in_new_york(world):
    body = world.ok(f"/projects/{world.project_id}", **WEEK)
    assert (body["from"], body["to"], body["timezone"]) == ("2025-01-06", "2025-01-12", NEW_YORK)
    assert body["tasks"] == {
        "total": 5,
        "by_status": {"todo": 1, "in_progress": 1, "review": 0, "done": 2, "cancelled": 1},
    }
    cards = body["cards"]
    assert (cards["total"], cards["open"], cards["done"]) == (2, 1, 1)
    assert [(c["name"], c["cards"], c["is_done"]) for c in cards["by_column"]] == [
        ("To do", 0, False),
        ("Doing", 1, False),
        ("Done", 1, True),
    ]
    assert body["completion_percentage"] == 50.0  # (2 tasks + 1 card) / (4 tasks + 2 cards)
    assert body["throughput"] == [
        {"week": "2025-W02", "week_start": "2025-01-06", "tasks": 2, "cards": 1}
    ]
    assert body["cycle_time"]["tasks"] == {
        "count": 2,
        "average_hours": 114.0,  # 96 and 132
        "median_hours": 114.0,
        "p85_hours": 126.6,
        "max_hours": 132.0,
    }
    assert body["cycle_time"]["cards"]["count"] == 1
    assert body["cycle_time"]["cards"]["average_hours"] == 168.0
    assert body["hours"] == {"estimated": 18.0, "tracked": 9.5, "tracked_in_range": 9.5}
    assert body["milestones"] == {
        "by_status": {"pending": 2, "in_progress": 0, "completed": 2, "cancelled": 1},
        "overdue": 1,
        "completed_on_time": 1,
    }
    assert [(d["date"], d["remaining"], d["remaining_hours"]) for d in body["burndown"]] == [
        ("2025-01-06", 4, 13.0),
        ("2025-01-07", 4, 8.0),
        ("2025-01-08", 4, 8.0),
        ("2025-01-09", 3, 5.0),
        ("2025-01-10", 3, 5.0),
        ("2025-01-11", 3, 5.0),
        ("2025-01-12", 3, 5.0),
    ]


def test_project_figures_in_utc_move_across_the_boundary(world):
    body = world.ok(
        f"/projects/{world.project_id}", tz="UTC", **{"from": "2024-12-30", "to": "2025-01-12"}
    )
    assert body["throughput"] == [
        {"week": "2025-W01", "week_start": "2024-12-30", "tasks": 0, "cards": 0},
        {"week": "2025-W02", "week_start": "2025-01-06", "tasks": 2, "cards": 1},
    ]
    # e5 started on 13 January in UTC: outside the range
    assert body["hours"]["tracked_in_range"] == 7.5
    assert body["milestones"]["completed_on_time"] == 0  # m1 was done on 9 January (UTC)
    burndown = {d["date"]: d["remaining"] for d in body["burndown"]}
    assert burndown["2025-01-01"] == 0
    assert burndown["2025-01-02"] == 3  # t1, t2, c1
    assert burndown["2025-01-03"] == 4  # + t3 (t4, cancelled, never counts)
    assert burndown["2025-01-06"] == 4  # t1 done, c2 created
    assert burndown["2025-01-07"] == 5  # t5 created
    assert burndown["2025-01-08"] == 4  # t2 done at 03:00 UTC


def test_project_analytics_hide_the_project_from_outsiders(world):
    assert world.ok(f"/projects/{world.project_id}", "viewer")["tasks"]["total"] == 5
    response = world.get(f"/projects/{world.project_id}", "outsider")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    missing = world.get("/projects/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404


# Time tracking -----------------------------------------------------------------------------


def groups(body: dict) -> dict[str, tuple]:
    return {
        g["label"]: (
            g["total_seconds"],
            g["billable_seconds"],
            g["amount"],
            g["unrated_billable_seconds"],
        )
        for g in body["groups"]
    }


def test_time_by_user_for_a_manager(world):
    body = world.ok("/time-tracking", group_by="user", workspace_id=world.workspace_id, **WEEK)
    assert body["totals"] == {
        "total_seconds": 34200,
        "total_hours": 9.5,
        "billable_seconds": 30600,
        "billable_hours": 8.5,
        "amount": 500.0,  # 3.5 h x 100 + 3 h x 50
        "unrated_billable_seconds": 7200,
    }
    assert groups(body) == {
        "Member": (21600, 18000, 150.0, 7200),
        "Owner": (12600, 12600, 350.0, 0),
    }
    assert [g["label"] for g in body["groups"]] == ["Member", "Owner"]  # most time first


def test_time_by_day_follows_the_time_zone(world):
    ny = world.ok("/time-tracking", group_by="day", **WEEK)
    assert [(g["key"], g["total_seconds"]) for g in ny["groups"]] == [
        ("2025-01-06", 12600),  # e1 and e2 (Monday 22:00 in New York)
        ("2025-01-07", 10800),
        ("2025-01-08", 3600),
        ("2025-01-09", 0),
        ("2025-01-10", 0),
        ("2025-01-11", 0),
        ("2025-01-12", 7200),  # e5 (Sunday 21:00 in New York)
    ]
    utc = world.ok("/time-tracking", group_by="day", tz="UTC", **WEEK)
    assert [g["total_seconds"] for g in utc["groups"]] == [7200, 16200, 3600, 0, 0, 0, 0]
    assert utc["totals"]["total_seconds"] == 27000


def test_time_by_week_and_project(world):
    body = world.ok("/time-tracking", group_by="week", **{"from": "2025-01-01", "to": "2025-01-14"})
    assert [(g["key"], g["label"], g["total_seconds"]) for g in body["groups"]] == [
        ("2024-12-30", "2025-W01", 0),
        ("2025-01-06", "2025-W02", 34200),
        ("2025-01-13", "2025-W03", 0),
    ]
    utc = world.ok(
        "/time-tracking", group_by="week", tz="UTC", **{"from": "2025-01-06", "to": "2025-01-19"}
    )
    assert [g["total_seconds"] for g in utc["groups"]] == [27000, 7200]
    by_project = world.ok("/time-tracking", group_by="project", project_id=world.project_id, **WEEK)
    assert groups(by_project) == {"P": (34200, 30600, 500.0, 7200)}


def test_members_see_their_own_time_and_outsiders_nothing(world):
    member = world.ok("/time-tracking", "member", group_by="user", tz=NEW_YORK, **WEEK)
    assert groups(member) == {"Member": (21600, 18000, 150.0, 7200)}
    viewer = world.ok("/time-tracking", "viewer", workspace_id=world.workspace_id, **WEEK)
    assert viewer["groups"] == []
    assert viewer["totals"]["total_seconds"] == 0
    for params in ({"workspace_id": world.workspace_id}, {"project_id": world.project_id}):
        assert world.get("/time-tracking", "outsider", **params).status_code == 404


# Milestones --------------------------------------------------------------------------------


def test_milestone_delivery_in_new_york(world):
    body = world.ok("/milestones", workspace_id=world.workspace_id, **WEEK)
    assert body["completed"] == 2
    assert body["completed_on_time"] == 1
    assert body["on_time_rate"] == 50.0
    assert body["periods"] == [
        {"period_start": "2025-01-06", "completed": 2, "on_time": 1, "late": 1}
    ]
    assert body["due_in_range"] == {"due": 4, "met": 1, "cancelled": 1}
    assert body["overdue_count"] == 1
    [late] = body["overdue"]
    assert (late["id"], late["days_overdue"]) == (world.ids["m3"], 2)


def test_milestone_delivery_in_utc_by_month(world):
    body = world.ok("/milestones", project_id=world.project_id, period="month", tz="UTC", **WEEK)
    assert body["periods"] == [
        {"period_start": "2025-01-01", "completed": 2, "on_time": 0, "late": 2}
    ]
    assert body["on_time_rate"] == 0.0
    assert body["overdue"][0]["days_overdue"] == 3


def test_no_completions_means_no_rate(world):
    body = world.ok("/milestones", **{"from": "2024-11-01", "to": "2024-11-30"})
    assert (body["completed"], body["on_time_rate"]) == (0, None)


# Resource utilization ----------------------------------------------------------------------


def test_resource_utilization_per_person_and_week(world):
    body = world.ok("/resource-utilization", "viewer", workspace_id=world.workspace_id, **WEEK)
    [workspace] = body["workspaces"]
    assert workspace["name"] == "Analytics"
    [person] = workspace["users"]
    assert person["user_id"] == world.users["member"]["user"]["id"]
    [week] = person["weeks"]
    assert week["period_start"] == "2025-01-06"
    assert (week["capacity"], week["allocated"], week["actual"]) == (20.0, 30.0, 4.0)
    assert week["utilization_percentage"] == 150.0
    everywhere = world.ok("/resource-utilization", **WEEK)
    assert [w["workspace_id"] for w in everywhere["workspaces"]] == [world.workspace_id]
    assert world.ok("/resource-utilization", "outsider", **WEEK) == {"workspaces": []}


# Access and validation ---------------------------------------------------------------------

ENDPOINTS = ("/dashboard", "/time-tracking", "/resource-utilization", "/milestones")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_outsiders_get_404_for_the_workspace(world, endpoint):
    response = world.get(endpoint, "outsider", workspace_id=world.workspace_id)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert world.get(endpoint, "anon").status_code == 401


@pytest.mark.parametrize("endpoint", [*ENDPOINTS[1:], "/projects/{project}"])
def test_ranges_are_validated(world, endpoint):
    path = endpoint.format(project=world.project_id)
    backwards = world.get(path, **{"from": "2025-01-12", "to": "2025-01-06"})
    assert backwards.status_code == 422, backwards.text
    assert backwards.headers["content-type"] == "application/problem+json"
    assert backwards.json()["errors"][0]["field"] == "from"
    too_long = world.get(path, **{"from": "2024-01-01", "to": "2025-01-01"})  # 367 days
    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["field"] == "to"
    assert world.get(path, **{"from": "2024-01-02", "to": "2025-01-01"}).status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {"tz": "Mars/Olympus"},
        {"tz": "Europe/Paris\x00"},
        {"from": "yesterday"},
        {"to": "0001-01-01"},
        {"group_by": "tag"},
        {"workspace_id": "not-a-uuid"},
    ],
)
def test_bad_parameters_are_422(world, params):
    response = world.get("/time-tracking", **params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_a_project_of_another_workspace_is_422(world, api):
    other = api.create_workspace(world.users["owner"], name="Other")
    response = world.get("/milestones", workspace_id=other["id"], project_id=world.project_id)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "project_id"


def test_a_range_given_by_one_end_takes_the_default_span(world):
    body = world.ok("/time-tracking", group_by="day", **{"from": "2025-01-06"})
    assert (body["from"], body["to"]) == ("2025-01-06", "2025-01-12")  # up to today (NY)
    body = world.ok("/milestones", to="2025-01-12")
    assert (body["from"], body["to"]) == ("2024-10-21", "2025-01-12")  # 12 weeks
    ahead = world.ok("/time-tracking", **{"from": "2025-02-01"})
    assert (ahead["from"], ahead["to"]) == ("2025-02-01", "2025-02-01")
