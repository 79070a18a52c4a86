"""Utilization and the capacity forecast, with numbers computed by hand: allocated hours
spread over working days, tracked hours counted in the week of the workspace's time zone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from application.resources_reports import Scope
from tests.support.resources import Team, make_team


@pytest.fixture
def team(client, api) -> Team:
    team = make_team(client, api, timezone="Europe/Berlin")
    team.person("Ann", skills=["python"], capacity=40, availability={"weekdays": {"fri": 0}})
    team.person("Bob", skills=["python", "sql"], capacity=40)
    return team


def record(team: Team, name: str, start: str, end: str) -> None:
    body = {"project_id": team.project_id, "start_time": start, "end_time": end, "description": "w"}
    team.ok("POST", "/time-entries", 201, as_user=team.people[name], json=body)


def test_utilization_by_week_with_hand_computed_numbers(team: Team):
    # Weeks of Monday 2026-11-02, -09 and -16. Ann has Fridays off: 32 h a week.
    team.allocate("Ann", 20, "2026-11-02", "2026-11-15")  # 20, 20, 0
    team.allocate("Ann", 10, "2026-11-11", "2026-11-22")  # from Wednesday: 0, 6, 10
    record(team, "Ann", "2026-11-03T09:00:00Z", "2026-11-03T17:00:00Z")  # 8 h, week 1
    # Sunday 22:30-23:30 UTC is 23:30-00:30 in Berlin: half in week 1, half in week 2.
    record(team, "Ann", "2026-11-08T22:30:00Z", "2026-11-08T23:30:00Z")
    record(team, "Ann", "2026-11-10T08:00:00Z", "2026-11-10T14:00:00Z")  # 6 h, week 2
    team.settle()
    report = team.ok(
        "GET",
        f"{team.ws}/utilization",
        params={"from": "2026-11-04", "to": "2026-11-18", "user_id": team.uid("Ann")},
    )
    assert (report["from"], report["to"], report["timezone"]) == (
        "2026-11-02",
        "2026-11-22",
        "Europe/Berlin",
    )
    (ann,) = report["users"]
    weeks = [
        (
            w["period_start"],
            w["capacity"],
            w["allocated"],
            w["actual"],
            w["utilization_percentage"],
            w["efficiency_score"],
        )
        for w in ann["weeks"]
    ]
    assert weeks == [
        ("2026-11-02", 32.0, 20.0, 8.5, 62.5, 42.5),
        ("2026-11-09", 32.0, 26.0, 6.5, 81.25, 25.0),
        ("2026-11-16", 32.0, 10.0, 0.0, 31.25, 0.0),
    ]
    assert (ann["capacity"], ann["allocated"], ann["actual"]) == (96.0, 56.0, 15.0)
    assert ann["utilization_percentage"] == 58.33  # 56 / 96
    assert ann["efficiency_score"] == 26.79  # 15 / 56
    everyone = team.ok(
        "GET", f"{team.ws}/utilization", params={"from": "2026-11-02", "to": "2026-11-08"}
    )
    bob = next(u for u in everyone["users"] if u["name"] == "Bob")
    assert (bob["capacity"], bob["allocated"], bob["efficiency_score"]) == (40.0, 0.0, None)
    assert everyone["totals"]["capacity"] == 72.0


def test_tracked_time_moves_when_the_workspace_changes_time_zone(team: Team):
    team.allocate("Ann", 20, "2026-11-02", "2026-11-15")
    record(team, "Ann", "2026-11-08T22:30:00Z", "2026-11-08T23:30:00Z")
    team.settle()

    def actual() -> list[float]:
        report = team.ok(
            "GET",
            f"{team.ws}/utilization",
            params={"from": "2026-11-02", "to": "2026-11-15", "user_id": team.uid("Ann")},
        )
        return [w["actual"] for w in report["users"][0]["weeks"]]

    assert actual() == [0.5, 0.5]
    team.ok("PUT", team.ws, json={"settings": {"timezone": "America/New_York"}})
    team.settle()
    assert actual() == [1.0, 0.0]  # all of it Sunday evening in New York


def test_capacity_forecast_per_person_and_skill(team: Team):
    team.allocate("Ann", 20, "2026-11-02", "2026-11-15")
    team.allocate("Ann", 10, "2026-11-11", "2026-11-22")
    team.allocate("Bob", 50, "2026-11-16", "2026-11-22")
    forecast = team.ok(
        "GET",
        f"{team.ws}/capacity-forecast",
        params={"start_date": "2026-11-04", "weeks": 3},
    )
    assert forecast["start_date"] == "2026-11-02"
    people = {p["name"]: p for p in forecast["people"]}
    assert [
        (w["capacity"], w["allocated"], w["free"], w["over"]) for w in people["Ann"]["weeks"]
    ] == [
        (32.0, 20.0, 12.0, 0.0),
        (32.0, 26.0, 6.0, 0.0),
        (32.0, 10.0, 22.0, 0.0),
    ]
    assert [w["over"] for w in people["Bob"]["weeks"]] == [0.0, 0.0, 10.0]
    skills = {s["skill"]: s for s in forecast["skills"]}
    assert skills["python"]["members"] == 2
    assert [
        (w["capacity"], w["allocated"], w["free"], w["over"]) for w in skills["python"]["weeks"]
    ] == [
        (72.0, 20.0, 52.0, 0.0),
        (72.0, 26.0, 46.0, 0.0),
        (72.0, 60.0, 12.0, 0.0),
    ]
    assert [w["allocated"] for w in skills["sql"]["weeks"]] == [0.0, 0.0, 50.0]


def test_this_week_is_the_workspace_s_week():
    now = datetime(2026, 11, 8, 23, 30, tzinfo=UTC)  # Sunday night UTC
    ws = uuid.uuid4()
    assert Scope(ws, "owner", "Europe/Berlin").today(now).isoformat() == "2026-11-09"
    assert Scope(ws, "owner", "America/New_York").today(now).isoformat() == "2026-11-08"
    assert Scope(ws, "owner", "UTC").today(now).isoformat() == "2026-11-08"


def test_conflict_weeks_are_the_workspace_s_days_whatever_its_time_zone(client, api):
    """Allocation dates are days of the workspace: the same dates give the same ISO weeks
    at UTC+14 and at UTC-11, and tracked time falls in the week of the local day."""
    found = {}
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):
        team = make_team(client, api, timezone=zone)
        team.person("Ann", capacity=40)
        team.allocate("Ann", 30, "2026-11-08", "2026-11-15")  # Sunday to Sunday
        team.allocate("Ann", 30, "2026-11-09", "2026-11-13")
        # 10:00-12:00 UTC on Monday 2026-11-09: Tuesday 00:00-02:00 at UTC+14 (all in the
        # week of the 9th); Sunday 23:00 to Monday 01:00 at UTC-11 (one hour in each week).
        record(team, "Ann", "2026-11-09T10:00:00Z", "2026-11-09T12:00:00Z")
        team.settle()
        (conflict,) = team.conflicts(status="active")
        report = team.ok(
            "GET",
            f"{team.ws}/utilization",
            params={"from": "2026-11-02", "to": "2026-11-15", "user_id": team.uid("Ann")},
        )
        found[zone] = (
            conflict["start_date"],
            conflict["end_date"],
            conflict["overallocation_percentage"],
            [w["actual"] for w in report["users"][0]["weeks"]],
        )
    assert found["Pacific/Kiritimati"] == ("2026-11-09", "2026-11-15", 50.0, [0.0, 2.0])
    assert found["Pacific/Pago_Pago"] == ("2026-11-09", "2026-11-15", 50.0, [1.0, 1.0])
