"""The critical path and the milestone report over HTTP, on the textbook network made of real
tasks (estimated hours in 8-hour working days) and milestones, dates checked by hand."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.milestones import Planner, eventually

# Project start: Monday 4 January 2027. Working days from there:
#   0 Mon 01-04, 1 Tue 01-05, 2 Wed 01-06, 3 Thu 01-07, 4 Fri 01-08,
#   5 Mon 01-11, 6 Tue 01-12, 7 Wed 01-13, 8 Thu 01-14, 9 Fri 01-15, 10 Mon 01-18
# The network (days): A(3) -> C(2) -> E(3) -> F(2); A -> D; B(4) -> D(5) -> F; F -> milestone M.
#   item  ES EF LS LF slack  earliest start/finish   latest start/finish
EXPECTED = {
    "A": (0, 3, 1, 4, 1, "2027-01-04", "2027-01-06", "2027-01-05", "2027-01-07"),
    "B": (0, 4, 0, 4, 0, "2027-01-04", "2027-01-07", "2027-01-04", "2027-01-07"),
    "C": (3, 5, 4, 6, 1, "2027-01-07", "2027-01-08", "2027-01-08", "2027-01-11"),
    "D": (4, 9, 4, 9, 0, "2027-01-08", "2027-01-14", "2027-01-08", "2027-01-14"),
    "E": (5, 8, 6, 9, 1, "2027-01-11", "2027-01-13", "2027-01-12", "2027-01-14"),
    "F": (9, 11, 9, 11, 0, "2027-01-15", "2027-01-18", "2027-01-15", "2027-01-18"),
    # a milestone has no length: it happens at the end of the day its last task ends
    "M": (11, 11, 11, 11, 0, "2027-01-18", "2027-01-18", "2027-01-18", "2027-01-18"),
}
DAYS = {"A": 3, "B": 4, "C": 2, "D": 5, "E": 3, "F": 2}
AFTER = {"C": ["A"], "D": ["A", "B"], "E": ["C"], "F": ["D", "E"]}


@pytest.fixture
def textbook(api) -> tuple[Planner, dict[str, dict]]:
    plan = Planner(api, start_date="2027-01-04", end_date="2027-01-15")
    made: dict[str, dict] = {"M": plan.milestone(title="M", due_date="2027-01-15")}
    for name, days in DAYS.items():
        made[name] = plan.task(
            title=name,
            estimated_hours=days * 8,
            dependencies=[made[d]["id"] for d in AFTER.get(name, [])],
            milestone_id=made["M"]["id"] if name == "F" else None,
        )
    return plan, made


def test_the_textbook_network_with_dates_slack_and_slip(textbook):
    plan, made = textbook
    response = plan.get(f"/projects/{plan.project['id']}/critical-path")
    assert response.status_code == 200, response.text
    body = response.json()
    names = {item["id"]: name for name, item in made.items()}
    got = {
        names[i["id"]]: (
            i["earliest_start"],
            i["earliest_finish"],
            i["latest_start"],
            i["latest_finish"],
            i["total_slack"],
            i["earliest_start_date"],
            i["earliest_finish_date"],
            i["latest_start_date"],
            i["latest_finish_date"],
        )
        for i in body["items"]
    }
    assert got == EXPECTED
    critical = {names[i["id"]] for i in body["items"] if i["critical"]}
    assert critical == {"B", "D", "F", "M"}
    assert [names[i] for i in body["critical_path"]] == ["B", "D", "F", "M"]
    assert body["duration_days"] == 11
    assert body["start_date"] == "2027-01-04"
    assert body["projected_finish_date"] == "2027-01-18"
    assert body["slip_days"] == 1  # one working day after the end date (Friday 01-15)
    kinds = {names[i["id"]]: i["type"] for i in body["items"]}
    assert kinds["M"] == "milestone"
    assert kinds["A"] == "task"


def test_hours_per_day_are_configurable(textbook, settings):
    plan, _ = textbook
    settings.working_hours_per_day = 4.0
    try:
        body = plan.get(f"/projects/{plan.project['id']}/critical-path").json()
    finally:
        settings.working_hours_per_day = 8.0
    assert body["duration_days"] == 22


def test_a_cycle_in_the_network_is_409_naming_it(textbook, database_url):
    """The write side keeps tasks and milestones acyclic; should the read model ever hold a
    cycle (here written by hand), the critical path names it instead of failing."""
    plan, made = textbook
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE tasks SET dependencies = %s::jsonb WHERE id = %s",
            (f'["{made["F"]["id"]}"]', made["A"]["id"]),
        )
    response = plan.get(f"/projects/{plan.project['id']}/critical-path")
    assert response.status_code == 409
    problem = response.json()
    assert problem["cycle"][0] == problem["cycle"][-1]
    assert made["A"]["id"] in problem["cycle"]
    assert made["F"]["id"] in problem["cycle"]


def test_the_milestone_report(textbook):
    plan, made = textbook
    late = plan.milestone(title="Late", due_date="2027-01-11", dependencies=[made["M"]["id"]])
    later = plan.milestone(title="Later", due_date="2027-06-30", dependencies=[made["M"]["id"]])
    past = plan.milestone(title="Past", due_date="2020-01-01")
    done = plan.milestone(title="Done", due_date="2020-02-01")
    plan.ok(plan.put(f"/milestones/{done['id']}", {"status": "completed"}))
    plan.ok(plan.post(f"/milestones/{made['M']['id']}/deliverables", {"title": "a"}), 201)
    deliverable = plan.ok(
        plan.post(f"/milestones/{made['M']['id']}/deliverables", {"title": "b"}), 201
    )
    plan.ok(plan.put(f"/deliverables/{deliverable['id']}", {"status": "completed"}))
    entry = {
        "project_id": plan.project["id"],
        "task_id": made["F"]["id"],
        "description": "work",
        "start_time": "2026-01-05T09:00:00Z",
        "end_time": "2026-01-05T12:30:00Z",
    }
    plan.ok(plan.post("/time-entries", entry), 201)

    def report() -> dict:
        rows = plan.get(f"/projects/{plan.project['id']}/milestone-report").json()["milestones"]
        return {r["title"]: r for r in rows}

    rows = eventually(lambda: (r := report()) and r["M"]["tracked_hours"] == 3.5 and r)
    m = rows["M"]
    assert m["state"] == "at_risk"
    assert [r["code"] for r in m["reasons"]] == ["projected_late"]
    assert m["projected_finish_date"] == "2027-01-18"
    assert (m["deliverables_done"], m["deliverables_pending"]) == (1, 1)
    assert (m["tasks"], m["estimated_hours"], m["tracked_hours"]) == (1, 16.0, 3.5)
    assert rows["Late"]["state"] == "at_risk"
    assert [r["code"] for r in rows["Late"]["reasons"]] == ["dependency_late", "projected_late"]
    assert rows["Later"]["state"] == "on_track"
    assert rows["Later"]["reasons"] == []
    assert rows["Past"]["state"] == "overdue"
    # (the project only starts in 2027: the critical path projects it late as well)
    codes = [r["code"] for r in rows["Past"]["reasons"]]
    assert codes == ["past_due", "behind_schedule", "projected_late"]
    assert rows["Done"]["state"] == "completed"
    assert late["id"] == rows["Late"]["milestone_id"]
    assert later["id"] == rows["Later"]["milestone_id"]
    assert past["id"] == rows["Past"]["milestone_id"]
