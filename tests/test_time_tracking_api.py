"""Timers and entries over HTTP, with the server's clock under the test's control."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.support.authz import add_member
from tests.support.kanban import create_board, create_card, create_project
from tests.support.time_tracking import T0, FakeClock, new_tracker, utc

PROBLEM = "application/problem+json"


@pytest.fixture
def clock(client, monkeypatch) -> FakeClock:
    fake = FakeClock(T0)
    monkeypatch.setattr(client.app.state.container.time_tracking, "clock", fake)
    return fake


@pytest.fixture
def me(api, client):
    return new_tracker(api, client)


# Timers -----------------------------------------------------------------------------------


def test_a_timer_runs_on_the_servers_clock_and_pauses_are_not_counted(me, clock):
    started = me.start(description="spec review", tags=["review", "review", "docs"])
    assert started["start_time"] == "2024-05-06T09:00:00Z"
    assert started["is_running"] is True
    assert started["end_time"] is None
    assert started["tags"] == ["review", "docs"]
    assert started["auto_stop_at"] == "2024-05-06T10:00:00Z"  # default: 3600 s of running
    clock.advance(minutes=10)
    active = me.ok("GET", "/time-tracking/active")
    assert active["id"] == started["id"]
    assert active["duration"] == 600
    paused = me.timer("pause")
    assert (paused["is_running"], paused["is_paused"], paused["duration"]) == (False, True, 600)
    assert paused["auto_stop_at"] is None
    clock.advance(minutes=30)  # a pause: not counted
    assert me.ok("GET", "/time-tracking/active")["duration"] == 600
    resumed = me.timer("resume")
    assert resumed["is_running"] is True
    assert resumed["auto_stop_at"] == "2024-05-06T10:30:00Z"  # 50 min of running time left
    clock.advance(minutes=5, seconds=7)
    stopped = me.timer("stop")
    assert stopped["end_time"] == "2024-05-06T09:45:07Z"
    assert stopped["duration"] == 600 + 307
    assert [s["start"] for s in stopped["segments"]] == [
        "2024-05-06T09:00:00Z",
        "2024-05-06T09:40:00Z",
    ]
    assert (stopped["is_running"], stopped["is_paused"]) == (False, False)
    assert me.ok("GET", "/time-tracking/active") is None
    assert me.entry(started["id"])["duration"] == 907


def test_a_client_cannot_supply_times_or_durations_to_a_timer(me, clock):
    body = {"project_id": me.project_id, "description": "x", "start_time": "2020-01-01T00:00:00Z"}
    assert me.call("POST", "/time-tracking/start", json=body).status_code == 422
    body = {"project_id": me.project_id, "description": "x", "duration": 99999}
    assert me.call("POST", "/time-tracking/start", json=body).status_code == 422


def test_a_second_timer_is_refused_unless_the_settings_say_stop_the_first(me, clock):
    first = me.start()
    body = {"project_id": me.project_id, "description": "again"}
    refused = me.call("POST", "/time-tracking/start", json=body)
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["type"].endswith("/timer-running")
    assert problem["running_entry_id"] == first["id"]
    assert me.settings(stop_running_on_start=True)["stop_running_on_start"] is True
    clock.advance(minutes=20)
    second = me.start(description="switched")
    assert me.entry(first["id"])["end_time"] == "2024-05-06T09:20:00Z"
    assert me.entry(first["id"])["duration"] == 1200
    assert me.ok("GET", "/time-tracking/active")["id"] == second["id"]
    assert second["start_time"] == "2024-05-06T09:20:00Z"


def test_stop_pause_and_resume_without_a_timer_are_conflicts(me, clock):
    for action in ("stop", "pause", "resume"):
        response = me.call("PUT", f"/time-tracking/{action}")
        assert response.status_code == 409
        assert response.json()["type"].endswith("/no-timer")
    me.start()
    assert me.call("PUT", "/time-tracking/resume").status_code == 409  # running, not paused
    me.timer("pause")
    assert me.call("PUT", "/time-tracking/pause").status_code == 409


def test_settings_decide_description_billable_and_the_auto_stop_limit(me, clock):
    missing = me.call("POST", "/time-tracking/start", json={"project_id": me.project_id})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "description"
    me.settings(require_description=False, default_billable=False, auto_stop_timer=False)
    entry = me.start(description=None)
    assert (entry["description"], entry["is_billable"], entry["auto_stop_at"]) == ("", False, None)
    me.timer("stop")
    me.settings(auto_stop_timer=True, auto_stop_duration=120)
    clock.advance(minutes=1)
    assert me.start(is_billable=True)["auto_stop_at"] == "2024-05-06T09:03:00Z"


def test_an_overdue_timer_stops_at_its_limit_with_a_note_even_before_the_job_runs(me, clock):
    me.settings(auto_stop_duration=600)
    entry = me.start()
    clock.advance(minutes=4)
    me.timer("pause")
    clock.advance(hours=1)
    me.timer("resume")  # 6 minutes of running time left
    clock.advance(hours=3)  # forgotten; no job queue in this test
    active = me.ok("GET", "/time-tracking/active")
    assert active["duration"] == 600  # reads never count past the limit
    stopped = me.timer("stop")
    assert stopped["id"] == entry["id"]
    assert stopped["duration"] == 600
    assert stopped["end_time"] == "2024-05-06T10:10:00Z"  # 9:00+4m, pause 1h, 10:04+6m
    assert "Stopped automatically after 0h 10m" in stopped["note"]


def test_pausing_an_overdue_timer_reports_that_it_was_auto_stopped(me, clock):
    me.settings(auto_stop_duration=300)
    entry = me.start()
    clock.advance(hours=2)
    response = me.call("PUT", "/time-tracking/pause")
    assert response.status_code == 409
    assert response.json()["type"].endswith("/timer-auto-stopped")
    assert me.entry(entry["id"])["duration"] == 300
    assert me.ok("GET", "/time-tracking/active") is None


def test_a_timer_on_a_card_or_a_task_of_the_project(api, client, me, clock):
    board = create_board(client, me.user, me.project_id)
    card = create_card(client, me.user, board["columns"][0]["id"], "Write docs")
    task = me.ok(
        "POST", f"/projects/{me.project_id}/tasks", 201, json={"title": "Migrate the database"}
    )
    on_card = me.start(task_id=card["id"])
    assert (on_card["task_id"], on_card["task_type"]) == (card["id"], "card")
    me.timer("stop")
    on_task = me.start(task_id=task["id"])
    assert (on_task["task_id"], on_task["task_type"]) == (task["id"], "task")
    me.timer("stop")
    other = create_project(client, me.user, me.workspace["id"], "Other")
    elsewhere = me.call(
        "POST",
        "/time-tracking/start",
        json={"project_id": other, "description": "x", "task_id": card["id"]},
    )
    assert elsewhere.status_code == 422
    assert elsewhere.json()["errors"][0]["field"] == "task_id"
    unknown = me.call(
        "POST",
        "/time-tracking/start",
        json={"project_id": me.project_id, "description": "x", "task_id": str(uuid.uuid4())},
    )
    assert unknown.status_code == 422


def test_actual_hours_of_cards_and_tasks_follow_the_tracked_time(me, clock):
    board = create_board(me.client, me.user, me.project_id)
    card = create_card(me.client, me.user, board["columns"][0]["id"], "C")
    task = me.ok("POST", f"/projects/{me.project_id}/tasks", 201, json={"title": "T"})
    me.record(utc(2024, 5, 1, 9), utc(2024, 5, 1, 10, 30), task_id=card["id"])
    e2 = me.record(utc(2024, 5, 1, 11), utc(2024, 5, 1, 11, 20), task_id=card["id"])
    me.record(utc(2024, 5, 2, 9), utc(2024, 5, 2, 9, 45), task_id=task["id"])
    me.start(task_id=card["id"])  # running time does not count yet
    clock.advance(minutes=30)

    def card_hours() -> float:
        return me.ok("GET", f"/cards/{card['id']}")["actual_hours"]

    def task_hours() -> float:
        return me.ok("GET", f"/tasks/{task['id']}")["actual_hours"]

    assert card_hours() == 1.83  # 110 minutes
    assert task_hours() == 0.75
    me.timer("stop")
    assert card_hours() == 2.33
    me.ok("PUT", f"/time-entries/{e2['id']}", json={"task_id": task["id"]})  # moved over
    assert (card_hours(), task_hours()) == (2.0, 1.08)
    me.ok("PUT", f"/time-entries/{e2['id']}", json={"end_time": "2024-05-01T12:00:00Z"})
    assert task_hours() == 1.75
    me.ok("DELETE", f"/time-entries/{e2['id']}", 204)
    assert task_hours() == 0.75


# Manual entries ---------------------------------------------------------------------------


def test_manual_entries_need_an_end_after_the_start_and_not_in_the_future(me, clock):
    entry = me.record(utc(2024, 5, 3, 9, 0, 0), utc(2024, 5, 3, 10, 15, 30))
    assert entry["duration"] == 4530
    assert entry["is_running"] is False
    for start, end in (
        (utc(2024, 5, 3, 12), utc(2024, 5, 3, 11)),
        (utc(2024, 5, 3, 12), utc(2024, 5, 3, 12)),
        (utc(2024, 5, 6, 8), T0 + timedelta(seconds=1)),
    ):
        response = me.record(start, end, status=422)
        assert response["errors"][0]["field"] == "end_time"
    assert me.record(utc(2024, 5, 6, 8), T0)["end_time"] == "2024-05-06T09:00:00Z"


def test_a_naive_time_is_utc_and_times_are_kept_to_the_second(me, clock):
    body = {
        "project_id": me.project_id,
        "description": "d",
        "start_time": "2024-05-02T08:00:00.900",
        "end_time": "2024-05-02T12:30:00+02:00",
        "duration": 5,
    }
    assert me.call("POST", "/time-entries", json=body).status_code == 422  # not ours to say
    del body["duration"]
    entry = me.ok("POST", "/time-entries", 201, json=body)
    assert entry["start_time"] == "2024-05-02T08:00:00Z"
    assert entry["end_time"] == "2024-05-02T10:30:00Z"
    assert entry["duration"] == 9000


def test_overlapping_entries_of_one_user_are_conflicts(api, client, me, clock):
    me.record(utc(2024, 5, 3, 9), utc(2024, 5, 3, 10))
    clash = me.record(utc(2024, 5, 3, 9, 59), utc(2024, 5, 3, 11), status=409)
    assert clash["type"].endswith("/time-overlap")
    me.record(utc(2024, 5, 3, 10), utc(2024, 5, 3, 11))  # touching is fine
    me.record(utc(2024, 5, 3, 8), utc(2024, 5, 3, 9))
    me.record(utc(2024, 5, 3, 7), utc(2024, 5, 3, 12), status=409)  # around them
    other = new_tracker(api, client)  # someone else's time never clashes with mine
    other.record(utc(2024, 5, 3, 9), utc(2024, 5, 3, 10))


def test_a_running_timer_blocks_entries_after_its_start_but_its_pauses_are_free(me, clock):
    me.start()
    clock.advance(minutes=30)
    me.timer("pause")
    clock.advance(hours=1)  # 9:30 - 10:30 paused: a meeting recorded by hand fits
    me.record(utc(2024, 5, 6, 9, 40), utc(2024, 5, 6, 10, 20))
    me.record(utc(2024, 5, 6, 9, 20), utc(2024, 5, 6, 9, 35), status=409)
    me.timer("resume")
    clock.advance(minutes=10)
    me.record(utc(2024, 5, 6, 10, 25), utc(2024, 5, 6, 10, 35), status=409)


def test_edits_move_bounds_keep_pauses_and_stay_free_of_overlaps(me, clock):
    entry = me.start()
    clock.advance(minutes=20)
    me.timer("pause")
    clock.advance(minutes=10)
    me.timer("resume")
    clock.advance(minutes=30)
    me.timer("stop")  # 9:00-9:20, 9:30-10:00
    assert me.entry(entry["id"])["duration"] == 3000
    clock.advance(minutes=15)
    moved = me.ok(
        "PUT",
        f"/time-entries/{entry['id']}",
        json={"start_time": "2024-05-06T08:50:00Z", "end_time": "2024-05-06T10:05:00Z"},
    )
    assert [(s["start"], s["end"]) for s in moved["segments"]] == [
        ("2024-05-06T08:50:00Z", "2024-05-06T09:20:00Z"),
        ("2024-05-06T09:30:00Z", "2024-05-06T10:05:00Z"),
    ]
    assert moved["duration"] == 3900
    me.record(utc(2024, 5, 6, 8), utc(2024, 5, 6, 8, 30))
    clash = me.call(
        "PUT", f"/time-entries/{entry['id']}", json={"start_time": "2024-05-06T08:10:00Z"}
    )
    assert clash.status_code == 409
    backwards = me.call(
        "PUT", f"/time-entries/{entry['id']}", json={"end_time": "2024-05-06T08:00:00Z"}
    )
    assert backwards.status_code == 422
    future = me.call(
        "PUT", f"/time-entries/{entry['id']}", json={"end_time": "2024-05-06T12:00:00Z"}
    )
    assert future.status_code == 422


def test_a_running_timer_can_move_its_start_but_not_its_end(me, clock):
    entry = me.start()
    clock.advance(minutes=5)
    early = me.ok(
        "PUT", f"/time-entries/{entry['id']}", json={"start_time": "2024-05-06T08:45:00Z"}
    )
    assert early["start_time"] == "2024-05-06T08:45:00Z"
    assert early["duration"] == 20 * 60
    assert early["is_running"] is True
    ended = me.call("PUT", f"/time-entries/{entry['id']}", json={"end_time": T0.isoformat()})
    assert ended.status_code == 409


def test_edit_with_if_match_and_delete(me, clock):
    entry = me.record(utc(2024, 5, 2, 9), utc(2024, 5, 2, 10), tags=["a"])
    response = me.call("GET", f"/time-entries/{entry['id']}")
    assert response.headers["ETag"] == f'"{entry["version"]}"'
    stale = me.call(
        "PUT",
        f"/time-entries/{entry['id']}",
        json={"description": "new"},
        headers={"If-Match": '"99"'},
    )
    assert stale.status_code == 412
    changed = me.ok(
        "PUT",
        f"/time-entries/{entry['id']}",
        json={"description": "new", "is_billable": False, "hourly_rate": "80.50", "tags": []},
        headers={"If-Match": f'"{entry["version"]}"'},
    )
    assert (changed["description"], changed["is_billable"], changed["hourly_rate"]) == (
        "new",
        False,
        80.5,
    )
    assert changed["tags"] == []
    assert me.call("PUT", f"/time-entries/{entry['id']}", json={"tags": None}).status_code == 422
    me.ok("DELETE", f"/time-entries/{entry['id']}", 204)
    assert me.call("GET", f"/time-entries/{entry['id']}").status_code == 404
    me.record(utc(2024, 5, 2, 9), utc(2024, 5, 2, 10))  # its time is free again


def test_deleting_the_running_timer_discards_it(me, clock):
    entry = me.start()
    me.ok("DELETE", f"/time-entries/{entry['id']}", 204)
    assert me.ok("GET", "/time-tracking/active") is None
    me.start()


def test_list_filters_and_pagination(me, clock):
    board = create_board(me.client, me.user, me.project_id)
    card = create_card(me.client, me.user, board["columns"][0]["id"], "C")
    other_project = create_project(me.client, me.user, me.workspace["id"], "Other")
    ids = []
    for day in range(1, 6):
        ids.append(
            me.record(
                utc(2024, 5, day, 9),
                utc(2024, 5, day, 10),
                tags=["odd"] if day % 2 else ["even", "x"],
                is_billable=day != 3,
                task_id=card["id"] if day == 4 else None,
            )["id"]
        )
    me.record(utc(2024, 5, 1, 12), utc(2024, 5, 1, 13), project_id=other_project)

    def listed(**params) -> list[str]:
        found, cursor = [], None
        while True:
            query = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
            page = me.ok("GET", "/time-entries", params=query)
            found += [e["id"] for e in page["data"]]
            cursor = page["next_cursor"]
            if not cursor:
                return found

    assert listed(project_id=me.project_id) == ids[::-1]  # newest first, across pages
    assert len(listed()) == 6
    assert listed(project_id=me.project_id, tags=["even"]) == [ids[3], ids[1]]
    assert listed(project_id=me.project_id, tags=["even", "x"]) == [ids[3], ids[1]]
    assert listed(billable="false") == [ids[2]]
    assert listed(task_id=card["id"]) == [ids[3]]
    assert listed(project_id=me.project_id, **{"from": "2024-05-02", "to": "2024-05-03"}) == [
        ids[2],
        ids[1],
    ]
    assert me.call("GET", "/time-entries", params={"cursor": "nonsense"}).status_code == 422
    unknown = me.call("GET", "/time-entries", params={"project_id": str(uuid.uuid4())})
    assert unknown.status_code == 404


def test_members_see_their_own_time_managers_see_everyones(api, client, me, clock):
    member = api.register()
    add_member(client, me.workspace["id"], me.user, member["user"]["id"], "member")
    theirs = me.client.post(
        "/api/v1/time-entries",
        json={
            "project_id": me.project_id,
            "description": "m",
            "start_time": "2024-05-02T09:00:00Z",
            "end_time": "2024-05-02T10:00:00Z",
        },
        headers=member["headers"],
    ).json()
    mine = me.record(utc(2024, 5, 2, 9), utc(2024, 5, 2, 10))  # same time: another user
    assert me.entry(theirs["id"])["user_id"] == member["user"]["id"]  # the owner manages
    as_member = client.get(f"/api/v1/time-entries/{mine['id']}", headers=member["headers"])
    assert as_member.status_code == 403
    own = client.get("/api/v1/time-entries", headers=member["headers"]).json()["data"]
    assert [e["id"] for e in own] == [theirs["id"]]
    everyone = client.get(
        "/api/v1/time-entries", params={"scope": "all"}, headers=member["headers"]
    ).json()["data"]
    assert [e["id"] for e in everyone] == [theirs["id"]]
    seen = me.ok("GET", "/time-entries", params={"scope": "all"})["data"]
    assert {e["id"] for e in seen} == {theirs["id"], mine["id"]}
    only = me.ok("GET", "/time-entries", params={"user_id": member["user"]["id"]})["data"]
    assert [e["id"] for e in only] == [theirs["id"]]
    edited = me.ok("PUT", f"/time-entries/{theirs['id']}", json={"description": "fixed"})
    assert edited["description"] == "fixed"


def test_deleting_a_project_removes_its_entries_and_frees_their_time(me, clock):
    doomed = create_project(me.client, me.user, me.workspace["id"], "Doomed")
    entry = me.record(utc(2024, 5, 2, 9), utc(2024, 5, 2, 10), project_id=doomed)
    me.start(project_id=doomed)
    me.ok("DELETE", f"/projects/{doomed}", 204)
    assert me.call("GET", f"/time-entries/{entry['id']}").status_code == 404
    assert me.ok("GET", "/time-tracking/active") is None
    me.record(utc(2024, 5, 2, 9), utc(2024, 5, 2, 10))
    me.start()  # the old timer went with its project


def test_deleting_a_card_unlinks_its_entries(me, clock):
    board = create_board(me.client, me.user, me.project_id)
    card = create_card(me.client, me.user, board["columns"][0]["id"], "C")
    entry = me.record(utc(2024, 5, 2, 9), utc(2024, 5, 2, 10), task_id=card["id"])
    me.ok("DELETE", f"/cards/{card['id']}", 204)
    assert me.entry(entry["id"])["task_id"] is None


# Settings ---------------------------------------------------------------------------------


def test_settings_have_the_spec_defaults_and_validate(me, clock):
    settings = me.ok("GET", "/time-tracking/settings")
    assert settings == {
        "user_id": me.id,
        "default_hourly_rate": None,
        "auto_stop_timer": True,
        "auto_stop_duration": 3600,
        "require_description": True,
        "default_billable": True,
        "timezone": "UTC",
        "stop_running_on_start": False,
        "updated_at": None,
        "version": 0,
    }
    changed = me.settings(timezone="Europe/Paris", default_hourly_rate="95.00")
    assert (changed["timezone"], changed["default_hourly_rate"]) == ("Europe/Paris", 95.0)
    assert changed["version"] >= 2
    for bad in (
        {"timezone": "Mars/Olympus"},
        {"timezone": "../etc/passwd"},
        {"auto_stop_duration": 10},
        {"default_hourly_rate": "-1"},
        {"timezone": None},
        {"unknown": True},
    ):
        response = me.call("PUT", "/time-tracking/settings", json=bad)
        assert response.status_code == 422, bad
        assert response.headers["content-type"] == PROBLEM
    assert me.settings(default_hourly_rate=None)["default_hourly_rate"] is None


def test_an_entry_lasts_at_most_999_hours_so_its_duration_stays_storable(me, clock):
    """A span of centuries once failed the tasks and time-tracking projections (integer out
    of range): it is refused at the boundary, whether recorded or edited."""
    response = me.record(utc(198, 1, 1), utc(2024, 5, 3), status=422)
    assert response["errors"][0]["field"] == "end_time"
    longest = me.record(utc(2024, 3, 1), utc(2024, 3, 1) + timedelta(hours=999))
    assert longest["duration"] == 999 * 3600
    entry = me.record(utc(2024, 5, 3, 9), utc(2024, 5, 3, 10))
    moved = me.call(
        "PUT", f"/time-entries/{entry['id']}", json={"start_time": "0622-01-01T00:00:00Z"}
    )
    assert moved.status_code == 409
    assert "999 hours" in moved.json()["detail"]
