"""GET /templates/{id}/analytics against figures worked out by hand: two projects made from a
template, one completed; their milestones (one completed late, one on time, one overdue, one
open and not yet due); time tracked on created tasks (one without an estimate, one task not
from the template), with the template's estimates as they were when it was used."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.milestones import eventually
from tests.support.templates import Templates

PHASES = [
    {
        "name": "First",
        "estimated_duration": 5,
        "tasks": [
            {"key": "a", "title": "A", "estimated_hours": 10},
            {"key": "b", "title": "B", "estimated_hours": 4},
        ],
    },
    {
        "name": "Second",
        "estimated_duration": 3,
        "tasks": [
            {"key": "c", "title": "C", "estimated_hours": 8},
            {"key": "d", "title": "D"},
        ],
    },
]


@pytest.fixture
def t(api) -> Templates:
    return Templates(api)


def test_analytics_by_hand(t):
    template = t.template(phases=PHASES)
    path = f"/templates/{template['id']}/analytics"
    empty = t.ok(t.get(path))
    assert empty["usage_count"] == 0
    assert empty["uses_per_week"] == []
    assert empty["projects_created"] == 0
    assert empty["completion_rate"] is None
    assert empty["milestones"]["on_time_rate"] is None
    assert empty["estimates"]["tracked_to_estimated"] is None

    # X started long ago (its milestones were due 2020-01-10 and 2020-01-15), Y in 2031.
    x = t.ok(t.use(template["id"], project_name="X", start_date="2020-01-06"), 201)
    y = t.ok(t.use(template["id"], project_name="Y", start_date="2031-01-06"), 201)
    # Later estimates do not change what the uses were measured against.
    phases = [dict(p) for p in PHASES]
    phases[0] = {**phases[0], "tasks": [{"key": "a", "title": "A", "estimated_hours": 99}]}
    assert t.put(f"/templates/{template['id']}", {"phases": phases}).status_code == 200

    t.ok(t.put(f"/projects/{x['project_id']}", {"status": "completed"}))
    x_first, _x_second = x["milestone_ids"]  # X's second stays open: overdue
    y_first, _y_second = y["milestone_ids"]  # Y's second stays open: not due yet
    t.ok(t.put(f"/milestones/{x_first}", {"status": "completed"}))  # after 2020-01-10: late
    t.ok(t.put(f"/milestones/{y_first}", {"status": "completed"}))  # before 2031-01-10

    x_a, _x_b, _x_c, x_d = x["task_ids"]
    _y_a, y_b, _y_c, _y_d = y["task_ids"]
    extra = t.ok(t.post(f"/projects/{x['project_id']}/tasks", {"title": "E", "estimated_hours": 2}))
    base = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0) - timedelta(days=20)

    def track(project_id: str, task_id: str, day: int, hours: int) -> None:
        start = base + timedelta(days=day)
        body = {
            "project_id": project_id,
            "task_id": task_id,
            "description": "work",
            "start_time": start.isoformat(),
            "end_time": (start + timedelta(hours=hours)).isoformat(),
        }
        t.ok(t.post("/time-entries", body), 201)

    track(x["project_id"], x_a, 0, 12)  # estimated 10, tracked 12
    track(y["project_id"], y_b, 1, 3)  # estimated 4, tracked 3
    track(x["project_id"], x_d, 2, 1)  # no estimate: left out
    track(x["project_id"], extra["id"], 3, 5)  # not from the template: left out

    got = eventually(lambda: (a := t.get(path).json())["usage_count"] == 2 and a)
    monday = datetime.now(UTC).date()
    monday -= timedelta(days=monday.weekday())
    uses_this_week = [w for w in got["uses_per_week"] if w["week_start"] == monday.isoformat()]
    assert got["uses_per_week"] == uses_this_week == [{"week_start": monday.isoformat(), "uses": 2}]
    assert got["projects_created"] == 2
    assert got["projects_existing"] == 2
    assert got["projects_completed"] == 1
    assert got["completion_rate"] == 0.5
    # completed: X first (late) and Y first (on time); overdue: X second.
    assert got["milestones"] == {"completed": 2, "on_time": 1, "overdue": 1, "on_time_rate": 0.3333}
    # Tasks with an estimate and time tracked: X's A (10 h est., 12 tracked), Y's B (4, 3).
    assert got["estimates"] == {
        "tasks_tracked": 2,
        "estimated_hours": 14.0,
        "tracked_hours": 15.0,
        "tracked_to_estimated": 1.0714,
    }

    # A deleted project still counts as made, no longer as existing or completed.
    assert t.delete(f"/projects/{x['project_id']}").status_code == 204
    after = t.ok(t.get(path))
    assert (after["projects_created"], after["projects_existing"]) == (2, 1)
    assert after["projects_completed"] == 0
    assert after["milestones"] == {"completed": 1, "on_time": 1, "overdue": 0, "on_time_rate": 1.0}


def test_analytics_is_for_those_who_see_the_template(t, api):
    template = t.template()
    viewer = t.member("viewer", "Vic")
    assert t.get(f"/templates/{template['id']}/analytics", as_user=viewer).status_code == 200
    stranger = api.register(name="Eve")
    hidden = t.get(f"/templates/{template['id']}/analytics", as_user=stranger)
    assert hidden.status_code == 404
    assert hidden.headers["content-type"] == "application/problem+json"
    missing = t.get("/templates/00000000-0000-0000-0000-000000000000/analytics")
    assert missing.status_code == 404
