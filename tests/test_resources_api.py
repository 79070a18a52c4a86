"""Resource allocation over HTTP: team members, allocations (CRUD, filters, pagination,
If-Match), the all-or-nothing bulk update, and conflicts that appear and resolve themselves."""

from __future__ import annotations

import pytest

from tests.support.resources import Team, make_team


@pytest.fixture
def team(client, api) -> Team:
    team = make_team(client, api)
    team.person("Ann", skills=["Python", "SQL"], capacity=40)
    team.person("Bob", skills=["python"], capacity=40)
    return team


def test_team_members_are_created_listed_and_updated(team: Team):
    ann = team.members["Ann"]
    assert ann["skills"] == ["python", "sql"]
    assert ann["capacity"] == 40
    assert ann["is_active"] is True
    assert ann["availability"] == {"weekdays": {}, "leave": []}
    page = team.ok("GET", f"{team.ws}/team-members", params={"skill": "PYTHON", "limit": 1})
    assert len(page["data"]) == 1
    assert page["next_cursor"]
    rest = team.ok(
        "GET", f"{team.ws}/team-members", params={"skill": "python", "cursor": page["next_cursor"]}
    )
    assert {m["name"] for m in page["data"] + rest["data"]} == {"Ann", "Bob"}
    changed = team.ok(
        "PUT",
        f"/team-members/{ann['id']}",
        json={"capacity": 32, "availability": {"weekdays": {"fri": 0}}},
        headers={"If-Match": f'"{ann["version"]}"'},
    )
    assert changed["capacity"] == 32
    assert changed["availability"]["weekdays"] == {"fri": "0.00"}
    stale = team.call(
        "PUT", f"/team-members/{ann['id']}", json={"capacity": 30}, headers={"If-Match": '"1"'}
    )
    assert stale.status_code == 412
    again = team.call("POST", f"{team.ws}/team-members", json={"user_id": team.uid("Ann")})
    assert again.status_code == 409
    stranger = team.api.register(name="Stranger")
    outsider = team.call(
        "POST", f"{team.ws}/team-members", json={"user_id": stranger["user"]["id"]}
    )
    assert outsider.status_code == 422
    assert outsider.json()["errors"][0]["field"] == "user_id"


def test_allocations_crud_with_filters_and_if_match(team: Team):
    other = team.project("Other")
    a = team.allocate("Ann", 20, "2027-01-04", "2027-02-28", role="dev", required_skills=["SQL"])
    assert a["hours_per_week"] == 20
    assert a["required_skills"] == ["sql"]
    b = team.allocate("Bob", 10, "2027-03-01", "2027-03-31", project_id=other)
    got = team.call("GET", f"/allocations/{a['id']}")
    assert got.status_code == 200
    assert got.headers["etag"] == f'"{a["version"]}"'
    by_user = team.ok("GET", f"{team.ws}/allocations", params={"user_id": team.uid("Bob")})
    assert [x["id"] for x in by_user["data"]] == [b["id"]]
    by_project = team.ok("GET", f"{team.ws}/allocations", params={"project_id": other})
    assert [x["id"] for x in by_project["data"]] == [b["id"]]
    in_range = team.ok(
        "GET", f"{team.ws}/allocations", params={"from": "2027-02-15", "to": "2027-02-20"}
    )
    assert [x["id"] for x in in_range["data"]] == [a["id"]]
    first = team.ok("GET", f"{team.ws}/allocations", params={"limit": 1})
    second = team.ok(
        "GET", f"{team.ws}/allocations", params={"limit": 1, "cursor": first["next_cursor"]}
    )
    assert [first["data"][0]["id"], second["data"][0]["id"]] == [a["id"], b["id"]]

    changed = team.ok(
        "PUT",
        f"/allocations/{a['id']}",
        json={"hours_per_week": "25.5", "end_date": "2027-03-07"},
        headers={"If-Match": f'"{a["version"]}"'},
    )
    assert changed["hours_per_week"] == 25.5
    assert changed["end_date"] == "2027-03-07"
    stale = team.call(
        "PUT",
        f"/allocations/{a['id']}",
        json={"hours_per_week": 1},
        headers={"If-Match": f'"{a["version"]}"'},
    )
    assert stale.status_code == 412
    backwards = team.call("PUT", f"/allocations/{a['id']}", json={"end_date": "2026-01-01"})
    assert backwards.status_code == 422
    team.ok("DELETE", f"/allocations/{a['id']}", 204)
    assert team.call("GET", f"/allocations/{a['id']}").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"hours_per_week": 0}, "hours_per_week"),
        ({"hours_per_week": 169}, "hours_per_week"),
        ({"end_date": "2026-12-31"}, "end_date"),
        ({"end_date": "2029-06-01"}, "end_date"),
        ({"project_id": "00000000-0000-4000-8000-000000000000"}, "project_id"),
    ],
)
def test_an_invalid_allocation_is_422_naming_the_field(team: Team, body, field):
    base = {
        "project_id": team.project_id,
        "user_id": team.uid("Ann"),
        "hours_per_week": 10,
        "start_date": "2027-01-04",
        "end_date": "2027-01-31",
    }
    response = team.call("POST", f"{team.ws}/allocations", json={**base, **body})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


def test_only_active_team_members_can_be_allocated(team: Team):
    team.ok("PUT", f"/team-members/{team.members['Bob']['id']}", json={"is_active": False})
    response = team.call(
        "POST",
        f"{team.ws}/allocations",
        json={
            "project_id": team.project_id,
            "user_id": team.uid("Bob"),
            "hours_per_week": 5,
            "start_date": "2027-01-04",
            "end_date": "2027-01-10",
        },
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "user_id"


def test_bulk_update_is_all_or_nothing(team: Team):
    a = team.allocate("Ann", 10, "2027-01-04", "2027-01-31")
    b = team.allocate("Bob", 10, "2027-01-04", "2027-01-31")
    good = [
        {"id": a["id"], "hours_per_week": 12},
        {"id": b["id"], "delete": True},
        {
            "project_id": team.project_id,
            "user_id": team.uid("Bob"),
            "hours_per_week": 8,
            "start_date": "2027-02-01",
            "end_date": "2027-02-28",
        },
    ]
    bad = {"id": a["id"], "end_date": "2026-01-01"}  # before its start
    body = {"workspace_id": team.workspace["id"], "changes": [*good[:2], bad, good[2]]}
    response = team.call("PUT", "/allocations/bulk-update", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "changes[2].end_date"
    listed = team.ok("GET", f"{team.ws}/allocations")["data"]
    assert sorted((x["id"], x["hours_per_week"]) for x in listed) == sorted(
        [(a["id"], 10.0), (b["id"], 10.0)]
    )
    stale = team.call(
        "PUT",
        "/allocations/bulk-update",
        json={"workspace_id": team.workspace["id"], "changes": [{**good[0], "version": 99}]},
    )
    assert stale.status_code == 409
    done = team.ok(
        "PUT",
        "/allocations/bulk-update",
        json={"workspace_id": team.workspace["id"], "changes": good},
    )
    assert done["deleted"] == [b["id"]]
    assert [x["hours_per_week"] for x in done["data"]] == [12.0, 8.0]
    listed = team.ok("GET", f"{team.ws}/allocations")["data"]
    assert len(listed) == 2
    assert b["id"] not in {x["id"] for x in listed}


def test_a_conflict_appears_and_resolves_itself(team: Team):
    a = team.allocate("Ann", 30, "2027-01-04", "2027-01-24")  # three weeks
    team.settle()
    assert team.conflicts() == []
    b = team.allocate("Ann", 20, "2027-01-11", "2027-01-31")
    team.settle()
    (conflict,) = team.conflicts(status="active")
    assert conflict["user_id"] == team.uid("Ann")
    assert sorted(conflict["conflicting_allocations"]) == sorted([a["id"], b["id"]])
    assert (conflict["start_date"], conflict["end_date"]) == ("2027-01-11", "2027-01-24")
    assert conflict["overallocation_percentage"] == 25.0  # 50 h on 40
    assert conflict["over_hours"] == 10.0
    team.ok("PUT", f"/allocations/{b['id']}", json={"hours_per_week": 15})  # 45 h
    team.settle()
    (conflict,) = team.conflicts(status="active")
    assert conflict["overallocation_percentage"] == 12.5
    team.ok("PUT", f"/allocations/{b['id']}", json={"start_date": "2027-01-25"})  # moved
    team.settle()
    assert team.conflicts(status="active") == []
    (resolved,) = team.conflicts(status="resolved")
    assert resolved["id"] == conflict["id"]
    assert resolved["resolution_details"]["automatic"] is True
    assert resolved["resolved_by"] is None


def test_raising_capacity_or_deleting_resolves_and_a_manager_can_ignore(team: Team):
    team.allocate("Bob", 30, "2027-01-04", "2027-01-10")
    b = team.allocate("Bob", 30, "2027-01-04", "2027-01-10")
    team.settle()
    (conflict,) = team.conflicts(status="active", user_id=team.uid("Bob"))
    assert conflict["overallocation_percentage"] == 50.0
    team.ok("PUT", f"/team-members/{team.members['Bob']['id']}", json={"capacity": 60})
    team.settle()
    assert team.conflicts(status="active") == []
    team.ok("PUT", f"/team-members/{team.members['Bob']['id']}", json={"capacity": 40})
    team.settle()
    (again,) = team.conflicts(status="active")
    assert again["id"] == conflict["id"]  # the same cause: the same conflict, detected again
    member = team.people["Bob"]
    forbidden = team.call(
        "PUT", f"/conflicts/{again['id']}/resolve", as_user=member, json={"status": "ignored"}
    )
    assert forbidden.status_code == 403
    stale = team.call(
        "PUT",
        f"/conflicts/{again['id']}/resolve",
        json={"status": "ignored"},
        headers={"If-Match": '"1"'},
    )
    assert stale.status_code == 412
    ignored = team.ok(
        "PUT",
        f"/conflicts/{again['id']}/resolve",
        json={"status": "ignored", "details": {"why": "overtime agreed"}},
        headers={"If-Match": f'"{again["version"]}"'},
    )
    assert ignored["status"] == "ignored"
    assert ignored["resolved_by"] == team.owner["user"]["id"]
    assert ignored["resolution_details"] == {"automatic": False, "why": "overtime agreed"}
    twice = team.call("PUT", f"/conflicts/{again['id']}/resolve", json={"status": "resolved"})
    assert twice.status_code == 409
    team.ok("DELETE", f"/allocations/{b['id']}", 204)
    team.settle()
    assert [c["status"] for c in team.conflicts()] == ["ignored"]


def test_optimize_proposes_then_applies_a_plan_that_clears_the_conflict(team: Team):
    team.person("Cid", skills=["go"], capacity=40)
    a = team.allocate("Ann", 30, "2027-01-04", "2027-01-17", required_skills=["python"])
    team.allocate("Ann", 20, "2027-01-04", "2027-01-17")
    team.settle()
    assert len(team.conflicts(status="active")) == 1
    body = {"start_date": "2027-01-06", "weeks": 2, "time_limit_seconds": 2}
    plan = team.ok("POST", f"{team.ws}/optimize-allocations", json=body)
    assert plan["status"] == "solved"
    assert plan["applied"] is False
    assert (plan["start_date"], plan["end_date"]) == ("2027-01-04", "2027-01-17")
    assert plan["over_allocation_before"] == 20.0
    assert plan["over_allocation_after"] == 0.0
    (move,) = plan["moves"]
    assert move["hours_per_week"] == 10.0
    if move["allocation_id"] == a["id"]:  # python is needed: Bob, not Cid
        assert move["to_user_id"] == team.uid("Bob")
    assert move["to_user_id"] != team.uid("Ann")
    assert len(team.ok("GET", f"{team.ws}/allocations")["data"]) == 2  # nothing applied
    viewer = team.api.register(name="Viewer")
    from tests.support.authz import add_member

    add_member(team.client, team.workspace["id"], team.owner, viewer["user"]["id"], "viewer")
    denied = team.call("POST", f"{team.ws}/optimize-allocations", as_user=viewer, json=body)
    assert denied.status_code == 403
    applied = team.ok("POST", f"{team.ws}/optimize-allocations", json={**body, "apply": True})
    assert applied["applied"] is True
    assert applied["position"] > 0
    rows = team.ok("GET", f"{team.ws}/allocations")["data"]
    assert len(rows) == 3
    assert sum(r["hours_per_week"] for r in rows) == 50.0
    team.settle()
    assert team.conflicts(status="active") == []
    again = team.ok("POST", f"{team.ws}/optimize-allocations", json=body)
    assert again["status"] == "no_over_allocation"


def test_replaying_the_log_gives_the_same_conflicts_and_metrics(team: Team):
    import psycopg

    from projections.rebuild import rebuild
    from projections.registry import by_name

    team.allocate("Ann", 30, "2027-01-04", "2027-01-24")
    b = team.allocate("Ann", 20, "2027-01-11", "2027-01-31")
    team.allocate("Bob", 45, "2027-01-04", "2027-01-10")
    team.ok("PUT", f"/allocations/{b['id']}", json={"hours_per_week": 5})
    team.ok("PUT", f"/allocations/{b['id']}", json={"hours_per_week": 25})
    team.settle()
    container = team.client.app.state.container
    workspace = team.workspace["id"]

    def rows() -> tuple[list, list]:
        with psycopg.connect(container.database_url) as conn:
            conflicts = conn.execute(
                "SELECT id, user_id, conflicting_allocations, overallocation_percentage,"
                " start_date, end_date, status::text, resolution_details, version"
                " FROM resource_conflicts WHERE workspace_id = %s ORDER BY id",
                (workspace,),
            ).fetchall()
            metrics = conn.execute(
                "SELECT user_id, period_start, total_capacity, allocated_hours, actual_hours,"
                " utilization_percentage FROM utilization_metrics WHERE workspace_id = %s"
                " ORDER BY user_id, period_start",
                (workspace,),
            ).fetchall()
        return conflicts, metrics

    live = rows()
    assert len(live[0]) == 2  # Ann's (detected, changed twice) and Bob's
    rebuild(container.database_url, by_name("resources"), container.store.mapper)
    assert rows() == live


def test_leave_and_part_time_make_conflicts_through_the_api_at_week_boundaries(team: Team):
    # Two allocations meeting at the Sunday/Monday boundary: no conflict.
    team.allocate("Bob", 40, "2027-01-04", "2027-01-10")
    team.allocate("Bob", 40, "2027-01-11", "2027-01-17")
    # Ending on Wednesday and starting on Thursday inside one week: no conflict either.
    team.allocate("Ann", 40, "2027-01-04", "2027-01-13")
    team.allocate("Ann", 40, "2027-01-14", "2027-01-24")
    team.settle()
    assert team.conflicts() == []
    bob = team.members["Bob"]
    team.ok(
        "PUT",
        f"/team-members/{bob['id']}",
        json={"availability": {"leave": [{"start": "2027-01-11", "end": "2027-01-12"}]}},
    )
    team.settle()
    (leave,) = team.conflicts(status="active")
    assert (leave["start_date"], leave["end_date"]) == ("2027-01-11", "2027-01-17")
    assert leave["overallocation_percentage"] == 66.67  # 40 h on 24
    team.ok(
        "PUT",
        f"/team-members/{bob['id']}",
        json={"availability": {"weekdays": {"fri": 0}}},  # back from leave, Fridays off
    )
    team.settle()
    part_time = team.conflicts(status="active")  # one per week: other allocations each
    assert sorted((c["start_date"], c["end_date"]) for c in part_time) == [
        ("2027-01-04", "2027-01-10"),
        ("2027-01-11", "2027-01-17"),
    ]
    assert {c["overallocation_percentage"] for c in part_time} == {25.0}  # 40 h on 32
    # The same allocations in the same weeks: the leave's conflict is the one updated.
    assert leave["id"] in {c["id"] for c in part_time}
    assert team.conflicts(status="resolved") == []


def test_deleting_a_project_removes_its_allocations_and_their_conflicts(team: Team):
    doomed = team.project("Doomed")
    a = team.allocate("Ann", 30, "2027-01-04", "2027-01-10", project_id=doomed)
    team.allocate("Ann", 30, "2027-01-04", "2027-01-10")
    team.settle()
    assert len(team.conflicts(status="active")) == 1
    team.ok("DELETE", f"/projects/{doomed}", 204)
    team.settle()
    assert [x["project_id"] for x in team.ok("GET", f"{team.ws}/allocations")["data"]] == [
        team.project_id
    ]
    assert (
        team.call("PUT", f"/allocations/{a['id']}", json={"hours_per_week": 1}).status_code == 404
    )
    (resolved,) = team.conflicts()
    assert resolved["status"] == "resolved"
    assert resolved["resolution_details"]["reason"] == "project deleted"
