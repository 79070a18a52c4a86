"""Today, week and report: local days in a non-UTC zone (DST included), groupings, rates,
amounts, CSV."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import psycopg
import pytest

from projections.time_tracking_reports import day_bounds, iso_week, report
from tests.support.authz import add_member
from tests.support.kanban import create_board, create_card, create_project
from tests.support.time_tracking import FakeClock, new_tracker, utc

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def clock(client, monkeypatch) -> FakeClock:
    fake = FakeClock(utc(2024, 12, 1, 12))
    monkeypatch.setattr(client.app.state.container.time_tracking, "clock", fake)
    return fake


@pytest.fixture
def me(api, client, clock):
    tracker = new_tracker(api, client)
    tracker.settings(timezone="America/New_York")
    return tracker


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=NEW_YORK)  # type: ignore[misc]


def by_key(groups: list[dict]) -> dict:
    return {g["key"]: g for g in groups}


# Pure: days in a zone ----------------------------------------------------------------------


def test_local_days_last_23_24_or_25_hours():
    lengths = {
        day: (day_bounds(day, NEW_YORK)[1] - day_bounds(day, NEW_YORK)[0]).total_seconds()
        for day in (date(2024, 3, 10), date(2024, 3, 11), date(2024, 11, 3))
    }
    assert lengths == {date(2024, 3, 10): 82800, date(2024, 3, 11): 86400, date(2024, 11, 3): 90000}
    assert day_bounds(date(2024, 3, 10), NEW_YORK)[0] == datetime(2024, 3, 10, 5, tzinfo=UTC)


def test_iso_weeks_run_monday_to_sunday_across_years():
    assert iso_week(date(2024, 3, 10)) == (date(2024, 3, 4), date(2024, 3, 10), "2024-W10")
    assert iso_week(date(2024, 12, 31)) == (date(2024, 12, 30), date(2025, 1, 5), "2025-W01")
    assert iso_week(date(2021, 1, 3)) == (date(2020, 12, 28), date(2021, 1, 3), "2020-W53")


def test_a_running_row_counts_up_to_now_but_not_past_its_auto_stop():
    row = {
        "is_running": True,
        "is_billable": True,
        "rate": Decimal("60"),
        "auto_stop_after": 1800,
        "segments": [["2024-03-10T10:00:00+00:00", "2024-03-10T10:20:00+00:00"],
                     ["2024-03-10T11:00:00+00:00", None]],
        "tags": [], "project_id": "p", "project_name": "P", "task_id": None, "user_id": "u",
    }  # fmt: skip
    days = [date(2024, 3, 10)]
    early = report([row], group_by="project", days=days, zone=NEW_YORK, now=utc(2024, 3, 10, 11, 5))
    assert early["totals"]["total_seconds"] == 1500
    late = report([row], group_by="project", days=days, zone=NEW_YORK, now=utc(2024, 3, 10, 18))
    assert late["totals"]["total_seconds"] == 1800  # 20 min + the 10 min left
    assert late["totals"]["amount"] == 30.0


# Over HTTP -----------------------------------------------------------------------------------


def test_days_split_at_local_midnight_across_the_spring_dst_change(me):
    # 23:00 EST on Saturday to 04:00 EDT on Sunday: 4 real hours, 1 on Saturday.
    me.record(local(2024, 3, 9, 23), local(2024, 3, 10, 4))
    # The whole of Sunday, local midnight to midnight: 23 hours.
    me.record(local(2024, 3, 10, 4), local(2024, 3, 11, 0))
    days = me.ok(
        "GET", "/time-tracking/report", params={"from": "2024-03-09", "to": "2024-03-11",
                                                "group_by": "day"},
    )  # fmt: skip
    assert days["timezone"] == "America/New_York"
    assert [(g["key"], g["total_seconds"]) for g in days["groups"]] == [
        ("2024-03-09", 3600),
        ("2024-03-10", 23 * 3600),
        ("2024-03-11", 0),
    ]
    assert days["totals"]["total_seconds"] == 24 * 3600
    assert days["totals"]["total_hours"] == 24.0
    week = me.ok("GET", "/time-tracking/week", params={"date": "2024-03-06"})
    assert (week["week"], week["start_date"], week["end_date"]) == (
        "2024-W10",
        "2024-03-04",
        "2024-03-10",
    )
    assert [d["total_seconds"] for d in week["days"]] == [0, 0, 0, 0, 0, 3600, 23 * 3600]
    assert week["totals"]["total_seconds"] == 24 * 3600


def test_the_autumn_dst_day_has_25_hours(me):
    me.record(local(2024, 11, 2, 22), local(2024, 11, 4, 1))  # 28 real hours
    days = me.ok(
        "GET", "/time-tracking/report", params={"from": "2024-11-02", "to": "2024-11-04",
                                                "group_by": "day"},
    )  # fmt: skip
    assert [g["total_seconds"] for g in days["groups"]] == [2 * 3600, 25 * 3600, 3600]


def test_today_is_the_local_day_and_counts_the_running_timer(me, clock):
    clock.set(utc(2024, 3, 12, 14))  # 10:00 EDT on 12 March
    me.record(local(2024, 3, 11, 23, 30), local(2024, 3, 12, 0, 30))  # 30 min of today
    me.record(local(2024, 3, 10, 9), local(2024, 3, 10, 10))  # another day
    me.record(local(2024, 3, 12, 8), local(2024, 3, 12, 9, 15), is_billable=False)
    timer = me.start()
    clock.advance(minutes=20)
    today = me.ok("GET", "/time-tracking/today")
    assert today["date"] == "2024-03-12"
    assert today["start"] == "2024-03-12T04:00:00Z"
    assert today["totals"]["total_seconds"] == (30 + 75 + 20) * 60
    assert today["totals"]["billable_seconds"] == 50 * 60
    assert today["running"]["id"] == timer["id"]
    assert today["running"]["duration"] == 1200
    assert len(today["entries"]) == 3


def test_amounts_use_the_entry_rate_then_the_team_rate_then_the_default(me, database_url):
    me.settings(default_hourly_rate="50.00")
    me.record(local(2024, 4, 1, 9), local(2024, 4, 1, 10), hourly_rate="100.00")
    me.record(local(2024, 4, 1, 10), local(2024, 4, 1, 11, 30))
    me.record(local(2024, 4, 1, 12), local(2024, 4, 1, 13), is_billable=False)
    params = {"from": "2024-04-01", "to": "2024-04-01"}
    totals = me.ok("GET", "/time-tracking/report", params=params)["totals"]
    assert totals == {
        "total_seconds": 3.5 * 3600,
        "total_hours": 3.5,
        "billable_seconds": 2.5 * 3600,
        "billable_hours": 2.5,
        "amount": 175.0,  # 1h x 100 + 1.5h x 50
        "unrated_billable_seconds": 0,
    }
    with psycopg.connect(database_url) as conn:  # a team member row (resources come later)
        conn.execute(
            "INSERT INTO team_members (id, user_id, workspace_id, hourly_rate, created_at,"
            " updated_at) VALUES (%s, %s, %s, 80, now(), now())",
            (uuid.uuid4(), me.id, me.workspace["id"]),
        )
    assert me.ok("GET", "/time-tracking/report", params=params)["totals"]["amount"] == 220.0
    me.settings(default_hourly_rate=None)
    other = create_project(me.client, me.user, me.workspace["id"], "Other")
    assert me.ok("GET", "/time-tracking/report", params=params)["totals"]["amount"] == 220.0
    new_ws = me.ok("POST", "/workspaces", 201, json={"name": "Solo"})
    solo = create_project(me.client, me.user, new_ws["id"], "Solo")
    me.record(local(2024, 4, 1, 14), local(2024, 4, 1, 14, 45), project_id=solo)
    me.record(local(2024, 4, 1, 15), local(2024, 4, 1, 15, 15), project_id=other)
    totals = me.ok("GET", "/time-tracking/report", params=params)["totals"]
    assert totals["amount"] == 240.0  # + 15 min at the team rate of the first workspace
    assert totals["unrated_billable_seconds"] == 45 * 60  # no rate in the second one


def test_groupings_by_project_task_user_and_tag(api, client, me):
    board = create_board(client, me.user, me.project_id)
    card = create_card(client, me.user, board["columns"][0]["id"], "Design")
    other = create_project(client, me.user, me.workspace["id"], "Zeta")
    me.record(local(2024, 5, 1, 9), local(2024, 5, 1, 11), tags=["ux", "web"], task_id=card["id"])
    me.record(local(2024, 5, 1, 11), local(2024, 5, 1, 12), tags=["web"])
    me.record(local(2024, 5, 2, 9), local(2024, 5, 2, 9, 30), project_id=other)
    params = {"from": "2024-05-01", "to": "2024-05-31"}

    def grouped(by: str, **extra) -> dict:
        result = me.ok("GET", "/time-tracking/report", params={**params, "group_by": by, **extra})
        return {g["label"]: g["total_seconds"] for g in result["groups"]}

    assert grouped("project") == {"Project": 3 * 3600, "Zeta": 1800}
    assert grouped("task") == {"Design": 2 * 3600, "(no task)": 3600 + 1800}
    assert grouped("tag") == {"web": 3 * 3600, "ux": 2 * 3600, "(no tag)": 1800}
    assert grouped("user") == {"Ann": 3.5 * 3600}
    assert grouped("project", project_id=other) == {"Zeta": 1800}
    assert grouped("project", tags=["ux"]) == {"Project": 2 * 3600}
    # A teammate's time shows for a manager with scope=all, never for the member.
    member = api.register(name="Bob")
    add_member(client, me.workspace["id"], me.user, member["user"]["id"], "member")
    client.post(
        "/api/v1/time-entries",
        json={"project_id": other, "description": "b", "start_time": "2024-05-03T13:00:00Z",
              "end_time": "2024-05-03T14:00:00Z"},
        headers=member["headers"],
    )  # fmt: skip
    assert grouped("user", scope="all") == {"Ann": 3.5 * 3600, "Bob": 3600}
    assert grouped("user", user_id=member["user"]["id"]) == {"Bob": 3600}
    as_member = client.get(
        "/api/v1/time-tracking/report",
        params={**params, "group_by": "user", "scope": "all"},
        headers=member["headers"],
    ).json()
    assert [g["label"] for g in as_member["groups"]] == ["Bob"]


def test_the_report_as_csv(me):
    me.settings(default_hourly_rate="40")
    me.record(local(2024, 6, 3, 9), local(2024, 6, 3, 10, 30), tags=["=cmd|calc"])
    response = me.call(
        "GET",
        "/time-tracking/report",
        params={"from": "2024-06-01", "to": "2024-06-30", "group_by": "tag"},
        headers={"Accept": "text/csv"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "time-report-2024-06-01-2024-06-30.csv" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == [
        "tag",
        "label",
        "total_hours",
        "billable_hours",
        "amount",
        "total_seconds",
        "billable_seconds",
        "unrated_billable_seconds",
    ]
    assert rows[1][1:] == ["'=cmd|calc", "1.5", "1.5", "60.0", "5400", "5400", "0"]
    assert rows[-1][:3] == ["", "Total", "1.5"]


def test_report_ranges_are_checked(me):
    bad = [
        {"from": "2024-02-01", "to": "2024-01-01"},
        {"from": "2023-01-01", "to": "2024-01-02"},
        {"group_by": "colour"},
        {"scope": "everyone"},
    ]
    for params in bad:
        assert me.call("GET", "/time-tracking/report", params=params).status_code == 422
    default = me.ok("GET", "/time-tracking/report")
    assert (default["from"], default["to"]) == ("2024-12-01", "2024-12-01")


def test_today_follows_the_readers_zone_not_utc(me, clock):
    clock.set(utc(2024, 3, 12, 2))  # 22:00 EDT on 11 March
    me.record(local(2024, 3, 11, 19), local(2024, 3, 11, 19, 30))  # 23:00Z
    today = me.ok("GET", "/time-tracking/today")
    assert (today["date"], today["totals"]["total_seconds"]) == ("2024-03-11", 1800)
    me.settings(timezone="UTC")
    today = me.ok("GET", "/time-tracking/today")
    assert (today["date"], today["totals"]["total_seconds"]) == ("2024-03-12", 0)
